"""What start-up imports: httpx's command-line client (rich, pygments; click, which the SDK's uvicorn also
loads) is not loaded by ops-mcp. The test extras install rich and pygments, so this can fail here."""

from __future__ import annotations

import subprocess
import sys


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_the_upstream_client_loads_without_httpx_cli() -> None:
    done = run(
        "import sys\n"
        "import ops_mcp.upstream.client, ops_mcp.transports.stdio, httpx\n"
        "print(sorted(m for m in ('rich', 'pygments') if m in sys.modules), httpx.AsyncClient.__name__)\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[] AsyncClient"


def test_httpx_cli_still_runs_when_asked_for() -> None:
    done = run("import ops_mcp, httpx\nhttpx.main(['--help'])\n")
    # With its extras installed it prints its usage; without, its own hint to install them.
    assert "Usage" in done.stdout or "pip install 'httpx[cli]'" in done.stdout, done.stdout + done.stderr
