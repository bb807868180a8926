"""Every call is recorded (issue 12, item 1), tried from a hostile agent's side: a write is in the audit log
before its request leaves ops-mcp, and it is completed whatever happens — an answer, a client that cancels
(stdio ``notifications/cancelled``) or hangs up (HTTP), a crash (the record reads "outcome unknown" and
``ops-mcp audit verify`` still passes). When the audit store cannot take the record, the write is refused.
"""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import anyio
import httpx
import pytest
from mcp import Client

import ops_mcp
from ops_mcp.audit import AuditStore
from ops_mcp.cli.audit import tail, verify
from ops_mcp.transports.agent_auth import AgentTokenStore
from tests.confirmation.ops_harness import served
from tests.support.hostile import auth, held_call, modern_request, released
from tests.support.runtime import make_server, writes
from tests.support.seed import requested_timeoff
from tests.support.waiting import eventually, eventually_sync

from .conftest import gated_sandbox

pytestmark = pytest.mark.anyio

APPROVE = "remote_approve_timeoff"


def entries(runtime, tool: str = APPROVE):
    return [e.record for e in runtime.audit.search(tool=tool, limit=100)]


async def test_a_write_is_recorded_before_its_request_is_sent(make_runtime):
    gate, app = gated_sandbox()
    runtime = make_runtime(sandbox_app=app)
    args, _ = requested_timeoff(runtime)
    async with (
        Client(make_server(runtime, "writer"), mode="legacy") as client,
        held_call(client, gate, APPROVE, args) as results,
    ):
        # The request is at the back end's door, unanswered: its record is already stored.
        (ahead,) = entries(runtime)
        assert ahead.decision == "started" and ahead.phase == "started"
        assert ahead.arguments["timeoff_id"] == args["timeoff_id"]
    assert not results[0].is_error
    (done,) = entries(runtime)  # one call, one entry: the completion shows through
    assert done.decision == "allowed" and done.http_status == 200 and done.duration_ms is not None
    assert done.arguments["timeoff_id"] == args["timeoff_id"]  # stored once, in the started row
    assert runtime.audit.verify().ok


async def test_a_write_cancelled_mid_upstream_over_stdio_is_completed(make_runtime):
    """The client sends notifications/cancelled while the back end holds the request."""
    gate, app = gated_sandbox()
    runtime = make_runtime(sandbox_app=app)
    args, _ = requested_timeoff(runtime)
    with released(gate):
        async with Client(make_server(runtime, "writer"), mode="legacy") as client:
            with anyio.CancelScope() as scope:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(client.call_tool, APPROVE, args)
                    await anyio.to_thread.run_sync(gate.wait_for, 1)
                    scope.cancel()

            async def completed():
                found = entries(runtime)
                return found and found[0].decision == "cancelled" and found

            (record,) = await eventually(completed)
            gate.release()
    assert record.decision == "cancelled" and "outcome unknown" in record.error
    assert "cancelled by the client (while the back end was being called; outcome unknown)" in record.sentence
    assert runtime.audit.count() == 1 and runtime.audit.verify().ok


async def test_a_write_whose_http_client_hangs_up_is_completed(make_runtime):
    gate, app = gated_sandbox()
    runtime = make_runtime(sandbox_app=app)
    token = AgentTokenStore(runtime.state_dir).issue("writer")
    args, _ = requested_timeoff(runtime)
    headers, body = modern_request("tools/call", {"name": APPROVE, "arguments": args})
    with released(gate), served(runtime, stateless=False) as url:
        async with httpx.AsyncClient(headers=auth(token), timeout=60) as http:
            with anyio.CancelScope() as scope:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(lambda: http.post(url, json=body, headers=headers))
                    await anyio.to_thread.run_sync(gate.wait_for, 1)
                    scope.cancel()  # the connection is dropped with the request unanswered

        def completed():
            found = entries(runtime)
            return found and found[0].decision != "started" and found

        (record,) = await anyio.to_thread.run_sync(eventually_sync, completed)
        gate.release()
        counted, verified = runtime.audit.count(), runtime.audit.verify()  # before the app closes the store
    assert record.decision == "cancelled" and record.transport == "http"
    assert counted == 1 and verified.ok


def test_a_write_left_open_by_a_crash_reads_outcome_unknown_and_verifies(tmp_path: Path):
    db = tmp_path / "audit.sqlite3"
    src = str(Path(ops_mcp.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("_crashing_writer.py")), str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "started", proc.stderr
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    with AuditStore(db) as store:
        ok, message = verify(store)
        assert ok, message
        last = store.tail(1)[0].record
        assert last.decision == "unknown"
        assert "outcome unknown" in last.sentence and "approve time off to_1" in last.sentence
        assert "outcome unknown" in tail(store, 5)
        assert store.search(decision="unknown")[0].record.target_ids == {"timeoff_id": "to_1"}


async def test_a_write_is_refused_when_the_audit_store_cannot_take_it_and_reads_go_on(make_runtime, caplog):
    runtime = make_runtime()
    args, _ = requested_timeoff(runtime)
    runtime.audit.count()  # the file exists
    with sqlite3.connect(runtime.state_dir / "audit.sqlite3") as db:  # the disk refuses every new row
        db.execute("CREATE TRIGGER full BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    caplog.set_level(logging.ERROR, "ops_mcp.calls")
    async with Client(make_server(runtime, "writer"), mode="legacy") as client:
        write = await client.call_tool(APPROVE, args)
        read = await client.call_tool("remote_list_timeoff", {})
    assert write.is_error and "could not record" in write.content[0].text
    assert writes(runtime, "remote") == []  # never sent
    assert not read.is_error  # a read is answered
    assert (
        "could not record a write of remote_approve_timeoff ahead of its request; refusing it" in caplog.text
    )
    assert "could not take the record of a read of remote_list_timeoff; answered anyway" in caplog.text
