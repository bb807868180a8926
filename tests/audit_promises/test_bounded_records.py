"""Bounded records, written off the event loop (issue 12, item 4): a 3.8 MB call stores a row of kilobytes
(large values become size + SHA-256 + preview, arguments stored once), and while the audit writer is stuck
behind a hostile agent's flood, the queue stays bounded and another agent's ``tools/list`` is answered."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import anyio
import pytest
from mcp import Client

from tests.support.audit_queue import writers_give_up_while_the_store_is_stalled
from tests.support.runtime import make_server
from tests.support.waiting import eventually

pytestmark = pytest.mark.anyio

HUGE = "x" * 3_800_000


def rows(runtime) -> list[tuple[int, str | None]]:
    runtime.audit.flush()
    with sqlite3.connect(runtime.state_dir / "audit.sqlite3") as db:
        return db.execute("SELECT length(record_json), arguments FROM audit").fetchall()


@pytest.mark.parametrize(
    "arguments",
    [
        {"status": HUGE},
        {"status": "requested", "filters": [{"note": "v" * 400, "n": i} for i in range(9_000)]},
    ],
    ids=["one huge value", "many values"],
)
async def test_a_rejected_multi_megabyte_call_stores_a_bounded_row(make_runtime, arguments):
    runtime = make_runtime()
    async with Client(make_server(runtime, "writer"), mode="legacy") as client:
        result = await client.call_tool("remote_list_timeoff", arguments)
    assert result.is_error
    ((size, column),) = rows(runtime)
    assert size < 64_000 and column is None  # kilobytes, and the arguments only once (in record_json)
    record = runtime.audit.tail(1)[0].record
    if "filters" in arguments:
        raw = json.dumps(arguments, sort_keys=True, separators=(",", ":")).encode()
        assert record.arguments["_omitted"] == {"bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}
    else:
        digest = hashlib.sha256(HUGE.encode()).hexdigest()
        assert record.arguments["status"] == f"{'x' * 64}…[large value, 3800000 chars, sha256:{digest}]"


async def test_another_agents_tools_list_is_not_starved_by_a_flood(make_runtime):
    runtime = make_runtime()
    runtime.audit.count()  # opened
    runtime.audit.capacity = 4
    lock = sqlite3.connect(runtime.state_dir / "audit.sqlite3", isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # the audit disk stalls: the writer waits for it
    answered: list[object] = []
    try:
        async with (
            Client(make_server(runtime, "writer"), mode="legacy") as greedy,
            Client(make_server(runtime, "other"), mode="legacy") as other,
        ):

            async def flood() -> None:
                answered.append(await greedy.call_tool("remote_list_timeoff", {"status": HUGE[:100_000]}))

            async with anyio.create_task_group() as tasks:
                for _ in range(12):
                    tasks.start_soon(flood)

                async def queue_full() -> bool:
                    return runtime.audit.backlog == 4

                assert await eventually(queue_full)
                listed = await other.list_tools()  # answered while all twelve wait for the audit
                assert "remoteops_list_work_orders" in {t.name for t in listed.tools}
                assert answered == [] and runtime.audit.backlog == 4  # bounded: the rest wait for room
                lock.execute("ROLLBACK")
    finally:
        if lock.in_transaction:
            lock.execute("ROLLBACK")
        lock.close()
    assert len(answered) == 12 and runtime.audit.count() == 12


async def test_a_record_waiting_for_room_is_stored_even_when_its_call_is_cancelled(tmp_path):
    from ops_mcp.audit import AuditStore

    store = AuditStore(tmp_path / "audit.sqlite3", capacity=1)
    lock = sqlite3.connect(tmp_path / "audit.sqlite3", isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    try:
        await writers_give_up_while_the_store_is_stalled(store)
        lock.execute("ROLLBACK")
        assert store.count() == 3 and store.verify().ok
    finally:
        if lock.in_transaction:
            lock.execute("ROLLBACK")
        lock.close()
        store.close()
