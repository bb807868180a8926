"""``ops-mcp serve --transport stdio`` as a real subprocess, driven by the SDK client in both eras."""

from __future__ import annotations

import json
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


def _initialize(request_id: int = 1) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "method": "initialize",
                       "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                                  "clientInfo": {"name": "test", "version": "1"}}})


def _call(request_id: int, **arguments: object) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "method": "tools/call",
                       "params": {"name": "remote_list_employments", "arguments": arguments}})


INITIALIZED = json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"})


def test_stdio_lines_of_any_length_over_pipes(config):
    """Pipes are read on the event loop in chunks: a line far longer than one chunk is still one message,
    and a line that is not JSON-RPC is skipped without ending the session."""
    server = subprocess.Popen([_ops_mcp(), "serve", "--transport", "stdio", "--agent", "people-ops",
                               "--config", str(config)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    assert server.stdin is not None and server.stdout is not None

    def ask(*lines: str) -> dict:
        server.stdin.write(("\n".join(lines) + "\n").encode())
        server.stdin.flush()
        return json.loads(server.stdout.readline())

    try:
        assert ask(_initialize())["id"] == 1
        refused = ask(INITIALIZED, "this is not json", _call(2, page_size=1, note="y" * 300_000))
        listed = ask(_call(3, page_size=2))
    finally:
        server.stdin.close()
        server.wait(timeout=60)
        server.stdout.close()
        server.stderr.close()
    assert refused["id"] == 2 and refused["result"]["isError"]
    assert "unknown argument(s) note" in refused["result"]["content"][0]["text"]
    assert listed["id"] == 3 and len(listed["result"]["structuredContent"]["employments"]) == 2
    assert server.returncode == 0


def test_a_call_in_flight_when_the_host_closes_stdin_is_answered(config):
    """A host that writes a call and closes its end of the pipe at once still gets the call's result."""
    requests = "\n".join([_initialize(), INITIALIZED, _call(2, page_size=2)]) + "\n"
    done = subprocess.run([_ops_mcp(), "serve", "--transport", "stdio", "--agent", "people-ops",
                           "--config", str(config)], input=requests.encode(), capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    answers = {m["id"]: m for m in map(json.loads, done.stdout.splitlines()) if "id" in m}
    assert len(answers[2]["result"]["structuredContent"]["employments"]) == 2, answers


def test_stdio_from_a_regular_file(config, tmp_path):
    """stdin redirected from a file is read to its end at once; the call still running then is answered with
    its result before the server stops (the SDK's own transport cut it off, or answered "Connection closed")."""
    requests = tmp_path / "requests.jsonl"
    requests.write_text("\n".join([_initialize(), INITIALIZED, _call(2, page_size=2)]) + "\n")
    with open(requests, "rb") as stdin:
        done = subprocess.run([_ops_mcp(), "serve", "--transport", "stdio", "--agent", "people-ops",
                               "--config", str(config)], stdin=stdin, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    answers = {m["id"]: m for m in map(json.loads, done.stdout.splitlines()) if "id" in m}
    assert answers[1]["result"]["serverInfo"]["name"] == "ops-mcp"
    assert len(answers[2]["result"]["structuredContent"]["employments"]) == 2, answers


def test_a_host_gone_during_a_confirmation_is_not_waited_for(tmp_path):
    """After stdin ends the server answers what it owes — but it does not wait for the reply to its own
    question (the elicitation asking for a yes), which a host that has gone will never send."""
    from ops_mcp.config import load_settings
    from ops_mcp.runtime import build_runtime
    from ops_mcp.transports.stdio_pipes import EOF_GRACE_S
    from tests.support.runtime import close
    from tests.support.seed import requested_timeoff

    path = tmp_path / "ops-mcp.toml"
    path.write_text(CONFIG + '\n[agents.hr]\nareas = { "remote.timeoff" = "full" }\nconfirm = ["remote.timeoff"]\n'
                    'confirm_via = "client"\n')
    runtime = build_runtime(load_settings(path))  # the same seed and day as the server's sandbox
    args, _ = requested_timeoff(runtime)
    close(runtime)
    initialize = json.loads(_initialize())
    initialize["params"]["capabilities"] = {"elicitation": {}}
    approve = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
               "params": {"name": "remote_approve_timeoff", "arguments": args}}
    requests = "\n".join([json.dumps(initialize), INITIALIZED, json.dumps(approve)]) + "\n"
    # A server that waited out its grace period for an answer that cannot come would overrun this bound.
    done = subprocess.run([_ops_mcp(), "serve", "--transport", "stdio", "--agent", "hr", "--config", str(path)],
                          input=requests.encode(), capture_output=True, timeout=EOF_GRACE_S * 2 / 3)
    messages = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 0, done.stderr
    assert [m.get("method") for m in messages if "method" in m] == ["elicitation/create"], messages


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_stdout_to_the_null_device_or_a_terminal(config, loop):
    """libuv aborts the process when its pipe transport is given a character device (exit status 134): on
    uvloop, terminals and ``/dev/null`` are read and written in a worker thread instead, and a call in flight
    when stdin ends is still answered, as over pipes."""
    import os
    import pty

    requests = ("\n".join([_initialize(), INITIALIZED, _call(2, page_size=2)]) + "\n").encode()
    argv = [_ops_mcp(), "serve", "--transport", "stdio", "--agent", "people-ops", "--config", str(config)]
    env = {**os.environ, "OPS_MCP_EVENT_LOOP": loop}
    done = subprocess.run(argv, input=requests, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr

    controller, terminal = pty.openpty()
    try:
        server = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=terminal, stderr=subprocess.PIPE, env=env)
        os.close(terminal)
        assert server.stdin is not None
        server.stdin.write(requests)
        server.stdin.close()
        shown = b""
        while b'"id":2' not in shown.replace(b" ", b""):
            shown += os.read(controller, 65536)  # the terminal's echo of the answers, as they come
        assert server.wait(timeout=120) == 0
    finally:
        os.close(controller)
    assert b"employments" in shown
