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


# Start a stdio server's runtime against a real (non-embedded) back end and warm it up, as `serve` does
# before and right after its first tools/list, recording each class `@dataclass` processes on the way.
START_AND_WARM_UP = """
import dataclasses, sys
defined = []
process = dataclasses._process_class
def recording(cls, *args, **kwargs):
    defined.append(f"{cls.__module__}.{cls.__qualname__}")
    return process(cls, *args, **kwargs)
dataclasses._process_class = recording
from ops_mcp.cli import main  # noqa: F401  (what the console script imports)
from ops_mcp.cli import serve  # noqa: F401
from ops_mcp.cli.common import load_runtime, load_settings_or_exit
from ops_mcp.transports import stdio, stdio_pipes  # noqa: F401
from ops_mcp.warmup import warm_up
settings = load_settings_or_exit(sys.argv[1])
runtime = load_runtime(sys.argv[1], settings=settings)
stdio.build_stdio_server(runtime, "bot")
warm_up(runtime)
print(sorted(name for name in defined if name.startswith("ops_mcp.")))
"""


def _real_back_ends(tmp_path):
    """A config whose back ends are real (not the embedded sandbox, which loads httpx for itself)."""
    config = tmp_path / "ops-mcp.toml"
    config.write_text(
        f'[storage]\ndir = "{tmp_path / "state"}"\n'
        '[backends.remote]\nbase_url = "https://gateway.remote.com"\ntoken = "ra_live_x"\n'
        '[backends.remoteops]\nbase_url = "https://api.remoteops.example/v1"\ntoken = "rops_live_x"\n'
        '[agents.bot]\nareas = { "remote.*" = "full", "remoteops.*" = "full" }\n'
    )
    return config


def test_start_up_and_the_first_call_define_no_dataclass(tmp_path) -> None:
    """Each costs ~0.5 ms to define on CPython 3.11 (records.py): 53 of them were ~30 ms of start-up and warm-up."""
    config = _real_back_ends(tmp_path)
    done = subprocess.run([sys.executable, "-c", START_AND_WARM_UP, str(config)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_serve_loads_the_call_path_before_it_answers_anyone(tmp_path) -> None:
    """httpx and the upstream client load while `serve` starts (warmup.load_call_path), not in the first call."""
    config = _real_back_ends(tmp_path)
    code = (
        "import sys\n"
        "import ops_mcp.transports.stdio as stdio\n"
        "def serving(runtime, agent):\n"
        "    print(sorted(m for m in ('httpx', 'ops_mcp.upstream.client') if m in sys.modules), agent)\n"
        "    return 0\n"
        "stdio.run_stdio = serving\n"
        "from ops_mcp.cli import main\n"
        f"sys.exit(main(['serve', '--transport', 'stdio', '--agent', 'bot', '--config', {str(config)!r}]))\n"
    )
    done = run(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['httpx', 'ops_mcp.upstream.client'] bot"
