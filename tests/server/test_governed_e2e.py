"""The governed server end to end: a real SDK client, both protocol eras, the sandbox over ASGI HTTP."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, timedelta

import pytest
from mcp import Client

from ops_mcp.transports.stdio import build_stdio_server
from tests.support.runtime import ERAS, backend_state, no_wait, request_count

from .conftest import PEOPLE_OPS

pytestmark = pytest.mark.anyio

def _expected_tools(runtime, areas: dict[str, str]) -> set[str]:
    wanted = set()
    for manifest in runtime.catalogue.values():
        for endpoint in manifest.endpoints:
            level = areas.get(endpoint.area, "off")
            if level == "full" or (level == "read" and endpoint.access == "read"):
                wanted.add(endpoint.tool)
    return wanted


@pytest.mark.parametrize("mode", ERAS)
async def test_agent_sees_exactly_its_tools(make_runtime, mode):
    runtime = make_runtime()
    server = build_stdio_server(runtime, "people-ops")
    async with Client(server, mode=mode) as client:
        listed = {tool.name for tool in (await client.list_tools()).tools}
    expected = _expected_tools(runtime, PEOPLE_OPS["areas"])
    assert listed - {"ops_list_events"} == expected
    assert "ops_list_events" in listed  # time-off events are readable to this agent
    assert "remote_approve_timeoff" in listed and "remote_list_employments" in listed
    assert "remote_create_employment" not in listed
    assert not any(name.startswith("remoteops_") for name in listed)


@pytest.mark.parametrize("mode", ERAS)
async def test_list_employments_then_create_and_approve_timeoff(make_runtime, mode):
    runtime = make_runtime()
    server = build_stdio_server(runtime, "people-ops")
    async with Client(server, mode=mode) as client:
        await client.list_tools()
        listed = await client.call_tool("remote_list_employments", {"status": "active", "page_size": 5})
        assert not listed.is_error, listed.content
        employments = listed.structured_content["employments"]
        assert 0 < len(employments) <= 5
        assert listed.structured_content["total_count"] > 5
        text = json.loads(listed.content[0].text)
        assert text == listed.structured_content

        employment = employments[0]
        start = date.today() + timedelta(days=30)
        days = [start + timedelta(days=i) for i in range(2)]
        approver = await _approver(client)
        created = await client.call_tool("remote_create_timeoff", {
            "employment_id": employment["id"],
            "start_date": days[0].isoformat(),
            "end_date": days[-1].isoformat(),
            "timezone": "Europe/Lisbon",
            "timeoff_type": "paid_time_off",
            "timeoff_days": [{"day": d.isoformat(), "hours": 8} for d in days],
            "status": "approved",
            "approver_id": approver,
            "approved_at": f"{date.today().isoformat()}T09:00:00Z",
        })
        assert not created.is_error, created.content
        timeoff = created.structured_content
        assert timeoff["employment_id"] == employment["id"]

        requested = await client.call_tool("remote_list_timeoff", {"status": "requested", "page_size": 1})
        assert not requested.is_error, requested.content
        pending = requested.structured_content["timeoffs"][0]
        approved = await client.call_tool("remote_approve_timeoff", {"timeoff_id": pending["id"],
                                                                      "approver_id": approver})
        assert not approved.is_error, approved.content
        assert approved.structured_content["status"] == "approved"

    records = runtime.audit.search(agent="people-ops")
    decisions = {(r.record.tool, r.record.decision) for r in records}
    assert ("remote_approve_timeoff", "allowed") in decisions
    sentence = next(r.record.sentence for r in records if r.record.tool == "remote_approve_timeoff")
    assert "people-ops approved time off" in sentence and "Acme GmbH" in sentence


async def _approver(client) -> str:
    """A company manager's user id, found through the tools rather than the sandbox's internals."""
    found = await client.call_tool("remote_list_timeoff", {"status": "approved", "page_size": 20})
    return next(t["approver_id"] for t in found.structured_content["timeoffs"] if t.get("approver_id"))


@pytest.mark.parametrize("mode", ERAS)
@pytest.mark.parametrize("tool,arguments", [
    ("remoteops_list_work_orders", {}),
    ("remote_create_employment", {"country_code": "PRT", "basic_information": {}}),
    ("remote_update_employment_v2", {"employment_id": "00000000-0000-0000-0000-000000000000"}),
    ("no_such_tool", {}),
])
async def test_refused_calls_never_reach_the_upstream(make_runtime, mode, tool, arguments):
    runtime = make_runtime()
    server = build_stdio_server(runtime, "people-ops")
    before = request_count(runtime)
    async with Client(server, mode=mode) as client:
        result = await client.call_tool(tool, arguments)
    assert result.is_error
    assert result.content[0].text == f"Unknown tool: {tool}"
    assert request_count(runtime) == before
    last = runtime.audit.tail(1)[0].record
    assert (last.tool, last.decision) == (tool, "denied")


@pytest.mark.parametrize("mode", ERAS)
async def test_invalid_arguments_are_refused_before_any_request(make_runtime, mode):
    runtime = make_runtime()
    server = build_stdio_server(runtime, "people-ops")
    before = request_count(runtime)
    async with Client(server, mode=mode) as client:
        bad_enum = await client.call_tool("remote_list_timeoff", {"status": "on_holiday"})
        missing = await client.call_tool("remote_approve_timeoff", {})
        traversal = await client.call_tool("remote_get_timeoff", {"id": "../../v1/companies"})
        unknown = await client.call_tool("remote_list_employments", {"pagesize": 3})
    assert all(r.is_error for r in (bad_enum, missing, traversal, unknown))
    assert "status" in bad_enum.content[0].text and "approved" in bad_enum.content[0].text
    assert "timeoff_id: required" in missing.content[0].text
    assert "not allowed" in traversal.content[0].text or "must match" in traversal.content[0].text
    assert "pagesize" in unknown.content[0].text and "page_size" in unknown.content[0].text
    assert request_count(runtime) == before
    assert {r.record.decision for r in runtime.audit.tail(4)} == {"invalid"}


async def test_burst_over_the_rate_limit_shows_no_429_to_the_agent(make_runtime):
    runtime = make_runtime(sandbox={"remote_rate_limit": 12, "window_seconds": 1.0})
    server = build_stdio_server(runtime, "people-ops")
    async with Client(server, mode="legacy") as client:
        results = []
        for _ in range(30):
            results.append(await client.call_tool("remote_list_timeoff", {"page_size": 1}))
    assert not [r for r in results if r.is_error]
    statuses = [record.status for record in backend_state(runtime, "remote").requests]
    assert 429 not in statuses


async def test_a_5xx_injected_write_happens_exactly_once(make_runtime):
    agents = {"dispatch": {"areas": {"remoteops.customers": "full"}, "connections": {"remoteops": "northwind"}}}
    # About what the retries do (the outcomes), not their timing or pacing: no backoff waits, no rate limit.
    runtime = make_runtime(agents, retry_sleep=no_wait, sandbox={"remoteops_rate_limit": 1_000_000})
    state = backend_state(runtime, "remoteops")
    server = build_stdio_server(runtime, "dispatch")
    async with Client(server, mode="legacy") as client:
        state.faults.error_rate = 0.5
        state.faults.drop_rate = 0.3
        state.faults.seed = 7
        results = [
            await client.call_tool("remoteops_create_customer", {"type": "business", "name": f"Exactly Once {i}"})
            for i in range(8)
        ]
        state.faults.error_rate = state.faults.drop_rate = 0.0
        listed = await client.call_tool("remoteops_list_customers", {"q": "Exactly Once", "limit": 100})
    succeeded = [r for r in results if not r.is_error]
    assert succeeded, [r.content[0].text for r in results]
    names = [c["name"] for c in listed.structured_content["data"]]
    for i, result in enumerate(results):
        count = names.count(f"Exactly Once {i}")
        # A success happened exactly once; a reported failure at most once; nothing ever twice.
        assert count == 1 if not result.is_error else count <= 1, (i, count, result.content[0].text)


def test_audit_verify_detects_an_edited_row(make_runtime, tmp_path, capsys):
    import anyio

    from ops_mcp.cli import main

    runtime = make_runtime()
    server = build_stdio_server(runtime, "people-ops")

    async def run() -> None:
        async with Client(server, mode="legacy") as client:
            await client.call_tool("remote_list_employments", {"page_size": 1})
            await client.call_tool("remoteops_list_work_orders", {})

    anyio.run(run)
    runtime.audit.close()
    config = tmp_path / "ops-mcp.toml"
    config.write_text(f'[storage]\ndir = "{runtime.state_dir}"\n')
    assert main(["audit", "verify", "--config", str(config)]) == 0
    with sqlite3.connect(runtime.state_dir / "audit.sqlite3") as db:
        db.execute("UPDATE audit SET decision = 'allowed' WHERE seq = 2")
    assert main(["audit", "verify", "--config", str(config)]) == 1
    assert "TAMPERED at record 2" in capsys.readouterr().out

