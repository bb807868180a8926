"""Over real stdio (``ops-mcp serve --transport stdio`` as a subprocess, spoken to as raw JSON-RPC by a hostile
client library): every ``tools/call`` the SDK refuses before ops-mcp's code runs still leaves exactly one
audit record (issue 12, item 2)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ops_mcp.audit import AuditStore

CONFIG = """
[storage]
dir = "state"

[backends.remote.connections.acme]
label = "Acme GmbH"

[agents.people-ops]
areas = { "remote.timeoff" = "full" }
"""
INIT = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "h", "version": "1"},
    },
}
CALLS = [
    {"name": "remote_approve_timeoff", "arguments": ["to_1"]},
    {"name": "remote_approve_timeoff", "arguments": "to_1"},
    {"arguments": {}},
    {"name": 7},
    {"name": "remote_list_timeoff", "arguments": {}},  # a good one, recorded once
]


def test_calls_the_sdk_rejects_over_stdio_are_recorded_once_each(tmp_path: Path):
    config = tmp_path / "ops-mcp.toml"
    config.write_text(CONFIG)
    command = [
        str(Path(sys.executable).with_name("ops-mcp")),
        "serve",
        "--transport",
        "stdio",
        "--agent",
        "people-ops",
        "--config",
        str(config),
    ]
    with subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as proc:
        assert proc.stdin is not None and proc.stdout is not None

        def ask(message: dict) -> dict:
            proc.stdin.write(json.dumps(message) + "\n")
            proc.stdin.flush()
            return json.loads(proc.stdout.readline())

        assert "result" in ask(INIT)
        proc.stdin.write(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}) + "\n")
        answers = [
            ask({"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": params})
            for i, params in enumerate(CALLS, start=1)
        ]
        proc.stdin.close()
        proc.wait(timeout=60)
    assert all("error" in a for a in answers[:4]) and "result" in answers[4]
    with AuditStore(tmp_path / "state" / "audit.sqlite3") as store:
        records = [e.record for e in store.tail(20)]
        assert store.verify().ok
    assert [r.outcome for r in records] == ["rejected_by_sdk"] * 4 + [None]
    assert [r.tool for r in records] == ["remote_approve_timeoff"] * 2 + ["(no tool name)"] * 2 + [
        "remote_list_timeoff"
    ]
    assert {r.agent for r in records} == {"people-ops"} and {r.transport for r in records} == {"stdio"}
