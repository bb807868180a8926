"""The client against the RemoteOps emulator: cursors, idempotent writes under faults, problems, PDFs."""

from __future__ import annotations

import uuid
from collections import defaultdict

import pytest

from .conftest import make_client, remoteops_connection, remoteops_sandbox

pytestmark = pytest.mark.anyio


async def test_max_items_walks_cursor_pages_and_resumes(catalogue, remoteops):
    sandbox = remoteops_sandbox()
    endpoint = remoteops.endpoint("remoteops_list_work_orders")
    seen = []

    async def progress(done, total, message):
        seen.append((done, total))

    async with make_client(sandbox, catalogue, max_result_bytes=2_000_000) as client:
        outcome = await client.call(remoteops_connection(), endpoint, {"max_items": 130}, progress=progress)
        assert outcome.ok, outcome.error
        items = outcome.data["data"]
        assert len(items) == 130 and seen == [(100, None), (130, None)]
        assert (
            outcome.data["has_more"] is True and outcome.data["next"]["cursor"] == outcome.data["next_cursor"]
        )
        rest = await client.call(remoteops_connection(), endpoint, {**outcome.data["next"], "limit": 20})
        everything = await client.call(remoteops_connection(), endpoint, {"max_items": 150})
    ids = [w["id"] for w in items + rest.data["data"]]
    assert ids == [w["id"] for w in everything.data["data"]]


async def test_truncation_gives_an_exact_cursor(catalogue, remoteops):
    sandbox = remoteops_sandbox()
    endpoint = remoteops.endpoint("remoteops_list_work_orders")
    async with make_client(sandbox, catalogue, max_result_bytes=8_000) as client:
        first = await client.call(remoteops_connection(), endpoint, {"limit": 60})
        assert first.ok and first.data["truncated"] is True
        kept = len(first.data["data"])
        assert 0 < kept < 60
        rest = await client.call(remoteops_connection(), endpoint, first.data["next"])
    async with make_client(sandbox, catalogue, max_result_bytes=2_000_000) as client:
        full = await client.call(remoteops_connection(), endpoint, {"limit": 100})
    got = [w["id"] for w in first.data["data"] + rest.data["data"]]
    assert got == [w["id"] for w in full.data["data"]][: len(got)]


async def test_keyed_writes_happen_once_despite_dropped_connections(catalogue, remoteops):
    sandbox = remoteops_sandbox()
    state = sandbox.remoteops
    state.faults = state.faults.updated(
        {"drop_rate": 0.4, "truncate_rate": 0.1, "error_rate": 0.1, "seed": 3}
    )
    endpoint = remoteops.endpoint("remoteops_create_customer")
    names = [f"Exactly Once {uuid.uuid4().hex[:8]}" for _ in range(12)]
    async with make_client(sandbox, catalogue) as client:
        outcomes = [
            await client.call(remoteops_connection(), endpoint, {"type": "business", "name": n})
            for n in names
        ]
    assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
    assert any(o.attempts > 1 for o in outcomes)
    customers = [c for t in state.tenants.values() for c in t.col("customers").values() if c["name"] in names]
    assert sorted(c["name"] for c in customers) == sorted(names)  # each exactly once
    keys = defaultdict(int)
    for record in state.requests:
        if record.method == "POST" and record.path == "/customers":
            assert record.idempotency_key
            keys[record.idempotency_key] += 1
    assert len(keys) == len(names) and max(keys.values()) > 1  # retries reused their call's key


async def test_caller_key_replays_instead_of_repeating(catalogue, remoteops):
    sandbox = remoteops_sandbox()
    endpoint = remoteops.endpoint("remoteops_create_customer")
    key = str(uuid.uuid4())
    async with make_client(sandbox, catalogue) as client:
        a = await client.call(
            remoteops_connection(), endpoint, {"type": "individual", "name": "Replay"}, idempotency_key=key
        )
        b = await client.call(
            remoteops_connection(), endpoint, {"type": "individual", "name": "Replay"}, idempotency_key=key
        )
    assert a.ok and b.ok and a.data["id"] == b.data["id"]


async def test_invalid_transition_lists_allowed_ones(catalogue, remoteops):
    sandbox = remoteops_sandbox()
    async with make_client(sandbox, catalogue) as client:
        listing = await client.call(
            remoteops_connection(),
            remoteops.endpoint("remoteops_list_work_orders"),
            {"status": ["new"], "limit": 1, "fields": ["status"]},
        )
        work_order = listing.data["data"][0]
        outcome = await client.call(
            remoteops_connection(),
            remoteops.endpoint("remoteops_transition_work_order"),
            {"work_order_id": work_order["id"], "to": "closed"},
        )
    assert outcome.error.kind == "conflict" and outcome.status == 409
    assert "Allowed next statuses:" in outcome.error.message
    assert outcome.error.details["allowed_transitions"]


async def test_invoice_pdf_is_binary(catalogue, remoteops):
    sandbox = remoteops_sandbox()
    async with make_client(sandbox, catalogue) as client:
        listing = await client.call(
            remoteops_connection(),
            remoteops.endpoint("remoteops_list_invoices"),
            {"status": "open", "limit": 1},
        )
        invoice = listing.data["data"][0]
        outcome = await client.call(
            remoteops_connection(),
            remoteops.endpoint("remoteops_get_invoice_pdf"),
            {"invoice_id": invoice["id"]},
        )
    assert outcome.ok and outcome.binary is not None
    assert outcome.binary.mime_type == "application/pdf" and outcome.binary.data.startswith(b"%PDF")
    assert outcome.data["size"] == len(outcome.binary.data)


async def test_timeouts_on_reads_are_retried_then_reported(catalogue, remoteops):
    sandbox = remoteops_sandbox()
    state = sandbox.remoteops
    state.faults = state.faults.updated({"timeout_rate": 1.0, "timeout_seconds": 5})
    async with make_client(sandbox, catalogue) as client:
        outcome = await client.call(
            remoteops_connection(timeout=0.05),  # real time: the emulator holds the answer 5 s
            remoteops.endpoint("remoteops_get_customer"),
            {"customer_id": "cus_x"},
        )
    assert outcome.error.kind == "timeout" and outcome.attempts == 4
    assert "Try again later" in outcome.error.message


async def test_burst_over_a_sliding_window_never_sees_429(catalogue, remoteops):
    import anyio

    from ops_mcp.sandbox.remoteops import RemoteOpsSandboxSettings
    from ops_mcp.upstream import ClientLimits

    sandbox = remoteops_sandbox(RemoteOpsSandboxSettings(rate_limit=10, window_seconds=1.0))
    endpoint = remoteops.endpoint("remoteops_list_technicians")
    outcomes = []
    async with make_client(sandbox, catalogue, limits=ClientLimits(rate_window_s=1.0)) as client:

        async def worker():
            for _ in range(6):
                outcomes.append(
                    await client.call(remoteops_connection(per_minute=10), endpoint, {"limit": 1})
                )

        async with anyio.create_task_group() as tg:
            for _ in range(5):
                tg.start_soon(worker)
    assert len(outcomes) == 30 and all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
    assert [r for r in sandbox.remoteops.requests if r.status == 429] == []
