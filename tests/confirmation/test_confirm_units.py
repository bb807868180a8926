"""The pieces under the confirmation flow: approval store, sealed state, summaries."""

from __future__ import annotations

import os
import stat

import pytest

from ops_mcp.governance.approvals import ApprovalStore, args_hash
from ops_mcp.governance.changes import ChangeSummary, FieldChange
from ops_mcp.governance.sealing import StateRejected, StateSealer, load_key
from ops_mcp.governance.summaries import _date_range
from tests.support.runtime import backend_state
from tests.support.seed import employee_name, requested_timeoff

pytestmark = pytest.mark.anyio


# -- approvals ---------------------------------------------------------------------------------------


def test_argument_hash_is_canonical():
    assert args_hash({"a": 1, "b": [1, 2]}) == args_hash({"b": [1, 2], "a": 1})
    assert args_hash({"a": 1}) != args_hash({"a": "1"})


def test_approval_lifecycle_is_single_use(tmp_path):
    store = ApprovalStore(tmp_path / "a.sqlite3")
    digest = args_hash({"x": 1})
    t = 1_000_000.0  # the store's clock, given explicitly
    change = ChangeSummary("Approve it?", (FieldChange("x", "X", None, "1"),), title="Approve", tenant="Acme")
    approval = store.create("hr", "remote_approve_timeoff", digest, change, now=t)
    assert approval.id.startswith("apr_") and approval.status == "pending" and approval.change == change
    # Asking again for the same call while it waits gives the same approval, not a pile of them.
    assert store.create("hr", "remote_approve_timeoff", digest, "Approve it?", now=t + 1).id == approval.id
    assert store.redeem(approval.id, "hr", "remote_approve_timeoff", digest, now=t + 1).reason == "pending"
    assert [a.id for a in store.list(now=t + 1)] == [approval.id]
    decided = store.decide(approval.id, approve=True, by="alice", now=t + 2)
    assert decided.decided_by == "alice" and decided.expires_at == t + 2 + store.approved_ttl
    assert store.list(now=t + 2) == []
    with pytest.raises(ValueError, match="already approved"):
        store.decide(approval.id, approve=False, by="bob", now=t + 3)
    assert store.redeem(approval.id, "hr", "remote_approve_timeoff", args_hash({"x": 2}), now=t + 3).reason == "mismatch"
    assert store.redeem(approval.id, "other", "remote_approve_timeoff", digest, now=t + 3).reason == "mismatch"
    assert store.redeem(approval.id, "hr", "remote_approve_timeoff", digest, now=t + 3).ok
    assert store.redeem(approval.id, "hr", "remote_approve_timeoff", digest, now=t + 4).reason == "used"
    assert store.redeem("apr_unknown", "hr", "remote_approve_timeoff", digest, now=t + 4).reason == "unknown"


def test_approvals_expire_before_and_after_the_decision(tmp_path):
    store = ApprovalStore(tmp_path / "a.sqlite3", pending_ttl=10, approved_ttl=5)
    digest = args_hash({})
    stale = store.create("hr", "t", digest, "?", now=1000.0)
    with pytest.raises(ValueError, match="expired"):
        store.decide(stale.id, approve=True, by="alice", now=1011.0)
    late = store.create("hr", "t", digest, "?", now=2000.0)
    store.decide(late.id, approve=True, by="alice", now=2001.0)
    assert store.redeem(late.id, "hr", "t", digest, now=2007.0).reason == "expired"
    denied = store.create("hr", "t", digest, "?", now=3000.0)
    store.decide(denied.id, approve=False, by="alice", now=3001.0)
    assert store.redeem(denied.id, "hr", "t", digest, now=3002.0).reason == "denied"


def test_nonces_are_single_use(tmp_path):
    store = ApprovalStore(tmp_path / "a.sqlite3")
    assert store.use_nonce("n1", 5060.0, now=5000.0)
    assert not store.use_nonce("n1", 5060.0, now=5001.0)
    assert store.use_nonce("n1", 5200.0, now=5061.0)  # an expired nonce is forgotten


# -- sealed state ------------------------------------------------------------------------------------


def test_key_is_persisted_with_owner_only_permissions(tmp_path):
    key = load_key(tmp_path)
    assert len(key) == 32 and load_key(tmp_path) == key
    assert stat.S_IMODE(os.stat(tmp_path / "confirm.key").st_mode) == 0o600


def test_sealed_state_binds_agent_tool_arguments_and_expiry(tmp_path):
    sealer = StateSealer(load_key(tmp_path), ttl=60)
    token = sealer.seal("hr", "remote_approve_timeoff", "abc", now=1000.0)
    state = sealer.open(token, agent="hr", tool="remote_approve_timeoff", args_hash="abc", now=1001.0)
    assert state.nonce and state.expires_at == 1060.0
    checks = [
        ({"agent": "ops"}, "different agent"),
        ({"tool": "remote_cancel_timeoff"}, "different agent or tool"),
        ({"args_hash": "abd"}, "arguments changed"),
        ({"now": 1061.0}, "expired"),
    ]
    for change, message in checks:
        given = {"agent": "hr", "tool": "remote_approve_timeoff", "args_hash": "abc", "now": 1001.0, **change}
        with pytest.raises(StateRejected, match=message):
            sealer.open(token, **given)


def test_tampered_or_foreign_states_are_rejected(tmp_path):
    sealer = StateSealer(load_key(tmp_path))
    token = sealer.seal("hr", "t", "abc")
    prefix, payload, mac = token.split(".")
    import base64
    import json

    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["agent"] = "root"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    foreign = StateSealer(b"another process's key, not ours!").seal("hr", "t", "abc")
    for bad in (
        f"{prefix}.{forged_payload}.{mac}",
        foreign,
        None,
        "",
        "ops1.x",
        "ops1.e30.AAAA",
        token + "A",
    ):
        with pytest.raises(StateRejected):
            sealer.open(bad, agent="hr", tool="t", args_hash="abc")


# -- summaries ---------------------------------------------------------------------------------------


def test_date_ranges_read_like_a_person_wrote_them():
    assert _date_range({"start_date": "2026-12-02", "end_date": "2026-12-04"}) == "2–4 Dec"
    assert _date_range({"start_date": "2026-11-30", "end_date": "2026-12-02"}) == "30 Nov – 2 Dec"
    assert _date_range({"start_date": "2026-12-02", "end_date": "2026-12-02"}) == "2 Dec"
    assert _date_range({"start_date": "soon"}) is None


async def test_summary_resolves_the_target_and_the_person(runtime):
    args, timeoff = requested_timeoff(runtime)
    endpoint = runtime.policy("hr").endpoints["remote_approve_timeoff"]
    text = await runtime.confirmer.summarizer.summarize("hr", endpoint, args)
    days = len(timeoff["timeoff_days"])
    assert text.startswith(f"Approve {days} day")
    assert f"for {employee_name(runtime, timeoff)}, Acme GmbH?" in text


async def test_summary_of_a_create_names_the_employee_and_dates(runtime):
    _, timeoff = requested_timeoff(runtime)
    endpoint = runtime.policy("hr").endpoints["remote_create_timeoff"]
    arguments = {
        "employment_id": timeoff["employment_id"],
        "start_date": "2026-12-02",
        "end_date": "2026-12-04",
        "timeoff_days": [{"day": f"2026-12-0{d}", "hours": 8} for d in (2, 3, 4)],
        "timeoff_type": "sick_leave",
    }
    text = await runtime.confirmer.summarizer.summarize("hr", endpoint, arguments)
    name = employee_name(runtime, timeoff)
    assert text == f"Create 3 days of time off (2–4 Dec) for {name} (timeoff type: sick leave), Acme GmbH?"


async def test_summary_never_reads_what_the_agent_may_not(make_runtime):
    runtime = make_runtime({"hr": {"areas": {"remote.timeoff": "full"}, "confirm": ["remote.timeoff"]}})
    args, timeoff = requested_timeoff(runtime)
    before = len(backend_state(runtime, "remote").requests)
    endpoint = runtime.policy("hr").endpoints["remote_approve_timeoff"]
    text = await runtime.confirmer.summarizer.summarize("hr", endpoint, args)
    paths = [r.path for r in backend_state(runtime, "remote").requests[before:]]
    assert not any("/employments/" in p for p in paths)  # employments are off for this agent
    assert f"for {timeoff['employment_id']}" in text


async def test_summary_falls_back_to_ids_when_lookups_fail(runtime):
    args, _ = requested_timeoff(runtime)
    endpoint = runtime.policy("hr").endpoints["remote_approve_timeoff"]
    summarizer = runtime.confirmer.summarizer

    async def broken(*_a, **_k):
        raise ConnectionError("down")

    summarizer.fetch = broken  # type: ignore[method-assign]
    text = await summarizer.summarize("hr", endpoint, args)
    assert text.startswith("Approve time off") and text.endswith("Acme GmbH?")


async def test_summary_of_a_field_service_write_names_the_job_site_and_status(make_runtime):
    runtime = make_runtime({"ops": {"areas": {"remoteops.*": "full"}, "confirm": ["remoteops.work_orders"]}})
    connection = runtime.tenant_for("ops", "remoteops").connection
    status, body = await runtime.upstream.request_json(
        connection, "GET", "/work-orders", params={"status": "in_progress", "limit": 1}
    )
    assert status == 200
    order = body["data"][0]
    _, site = await runtime.upstream.request_json(connection, "GET", f"/sites/{order['site_id']}")
    endpoint = runtime.policy("ops").endpoints["remoteops_transition_work_order"]
    text = await runtime.confirmer.summarizer.summarize(
        "ops", endpoint, {"work_order_id": order["id"], "to": "completed"}
    )
    assert text.startswith(f"Transition work order {order['number']} to completed")
    assert f"at {site['name']}" in text and text.endswith("Northwind Elevators?")
