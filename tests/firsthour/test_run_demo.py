"""``ops-mcp run`` (what ``make run`` starts): the printed curl commands work exactly as printed, and a
second run keeps the demo agent's token instead of revoking it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from ops_mcp.transports.http import free_port

from .demo_support import (
    REPO,
    clean_env,
    demo_config,
    json_documents,
    ops_mcp_command,
    run_shell,
    running,
    wait_ready,
)


def try_it_block(banner: str) -> str:
    """The shell lines under "Try it", as a person copies them."""
    block = banner.split("(no session to open):\n", 1)[1].split("\n\n(Handshake", 1)[0]
    return "\n".join(line.removeprefix("  ") for line in block.splitlines())


def check_answers(output: str) -> None:
    listed, called = json_documents(output)
    names = {tool["name"] for tool in listed["result"]["tools"]}
    assert "remote_list_employments" in names and not any(n.startswith("remoteops_") for n in names)
    result = called["result"]
    assert result.get("isError") is not True, result
    assert result["structuredContent"]["employments"]


def test_printed_curl_commands_work_and_the_token_survives_a_restart(tmp_path: Path) -> None:
    config = demo_config(tmp_path)
    port = free_port()
    argv = [*ops_mcp_command(), "run", "--config", str(config), "--port", str(port)]
    env = clean_env(XDG_DATA_HOME=str(tmp_path / "data-home"))
    base = f"http://127.0.0.1:{port}"

    with running(argv, cwd=tmp_path, env=env) as (first, _):
        wait_ready(base)
        token = re.search(r"^  (omcp_\S+)$", first, re.M).group(1)
        block = try_it_block(first)
        assert f"export OPS_MCP_TOKEN={token}" in block and "Mcp-Session-Id" not in block
        check_answers(run_shell(block, tmp_path, env))
        assert "agents add people-ops --rotate" in first and "PORT=9000 make run" in first

    with running(argv, cwd=tmp_path, env=env) as (second, _):
        wait_ready(base)
        assert "omcp_" not in second.replace(token[:9] + "…", "")  # no new token was issued or shown
        assert "is kept" in second and "agents add people-ops --rotate" in second
        block = try_it_block(second)
        assert "paste the people-ops token here" in block
        # The token handed out by the first run still works: paste it where the banner says.
        pasted = block.replace("'paste the people-ops token here'", token)
        check_answers(run_shell(pasted, tmp_path, env))


def test_make_run_passes_port_through() -> None:
    import shutil

    import pytest

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    dry = subprocess.run(["make", "-n", "-W", "pyproject.toml", "run", "PORT=9123"], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout
    plain = subprocess.run(["make", "-n", "-W", "pyproject.toml", "run"], cwd=REPO, capture_output=True,
                           text=True, env=clean_env(PORT=""), check=True).stdout
    assert re.search(r"ops-mcp run --config examples/ops-mcp\.toml --port 9123$", dry, re.M)
    assert re.search(r"ops-mcp run --config examples/ops-mcp\.toml$", plain, re.M)
