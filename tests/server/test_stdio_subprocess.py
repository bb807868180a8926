"""``ops-mcp serve --transport stdio`` as a real subprocess, driven by the SDK client in both eras."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from tests.support.runtime import ERAS

pytestmark = pytest.mark.anyio

CONFIG = """
[storage]
dir = "state"

[backends.remote.connections.acme]
label = "Acme GmbH"

[agents.people-ops]
areas = { "remote.employments" = "read", "remote.timeoff" = "full" }

[agents.dispatch]
areas = { "remoteops.work_orders" = "read" }
"""


def _ops_mcp() -> str:
    return str(Path(sys.executable).with_name("ops-mcp"))


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "ops-mcp.toml"
    path.write_text(CONFIG)
    return path


@pytest.mark.parametrize("mode", ERAS)
async def test_stdio_subprocess_lists_and_calls(config, mode):
    params = StdioServerParameters(
        command=_ops_mcp(), args=["serve", "--transport", "stdio", "--agent", "people-ops", "--config", str(config)]
    )
    async with Client(params, mode=mode, read_timeout_seconds=60) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert "remote_list_employments" in names and "remote_approve_timeoff" in names
        assert not any(name.startswith("remoteops_") for name in names)
        result = await client.call_tool("remote_list_employments", {"page_size": 3})
        assert not result.is_error, result.content
        assert len(result.structured_content["employments"]) == 3
        denied = await client.call_tool("remoteops_list_work_orders", {})
        assert denied.is_error and denied.content[0].text == "Unknown tool: remoteops_list_work_orders"
    audit = subprocess.run([_ops_mcp(), "audit", "search", "--agent", "people-ops", "--config", str(config)],
                           capture_output=True, text=True, timeout=60)
    assert audit.returncode == 0, audit.stderr
    assert "people-ops listed employments in Remote (Acme GmbH): allowed, 200" in audit.stdout
    assert "denied" in audit.stdout


def test_serve_without_an_agent_is_a_clear_error(config):
    done = subprocess.run([_ops_mcp(), "serve", "--transport", "stdio", "--config", str(config)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "--agent is required" in done.stderr and "people-ops" in done.stderr


def test_unknown_area_is_a_startup_error(tmp_path):
    path = tmp_path / "ops-mcp.toml"
    path.write_text('[agents.x]\nareas = { "remote.timeof" = "read" }\n')
    done = subprocess.run([_ops_mcp(), "serve", "--agent", "x", "--config", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "agents.x.areas: unknown area 'remote.timeof'" in done.stderr
