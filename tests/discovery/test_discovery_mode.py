"""Discovery mode through real SDK clients: three meta-tools, same policy, validation, confirmation, audit."""

from __future__ import annotations

import json

import mcp_types as t
import pytest
from mcp import Client

from ops_mcp.catalogue.tokens import count_tokens
from ops_mcp.governance.approvals import ApprovalStore
from tests.support.runtime import ERAS, backend_state, make_server, writes
from tests.support.seed import requested_timeoff

pytestmark = pytest.mark.anyio

META = {"ops_search_tools", "ops_describe_tool", "ops_call_tool"}
# Every server also offers the events feed to an agent that can read an area with events (as over stdio).
EVENTS = "ops_list_events"

# The read tools of area remote.timeoff (time-off requests, types, leave balances and policies).
TIMEOFF_READS = {"remote_list_timeoff", "remote_get_timeoff", "remote_list_timeoff_types",
                 "remote_list_leave_balances", "remote_get_timeoff_balance", "remote_list_leave_policies"}


async def search(client: Client, query: str, limit: int = 3) -> list[str]:
    result = await client.call_tool("ops_search_tools", {"query": query, "limit": limit})
    assert not result.is_error, result.content[0].text
    return [row["name"] for row in result.structured_content["results"]]


def audited(runtime, tool: str):
    return [entry.record for entry in runtime.audit.search(tool=tool)]


@pytest.mark.parametrize("mode", ERAS)
async def test_everything_allowed_means_three_small_meta_tools(make_runtime, mode):
    runtime = make_runtime()
    async with Client(make_server(runtime, "ops"), mode=mode) as c:
        tools = (await c.list_tools()).tools
    assert {tool.name for tool in tools} == META | {EVENTS}
    tools = [tool for tool in tools if tool.name in META]
    cost = sum(
        count_tokens(
            json.dumps(tool.model_dump(by_alias=True, exclude_none=True, mode="json"), separators=(",", ":"))
        )
        for tool in tools
    )
    assert cost <= 1200
    for tool in tools:  # every tool carries all four annotations and an output schema
        assert tool.output_schema is not None
        hints = tool.annotations
        assert None not in (
            hints.read_only_hint,
            hints.destructive_hint,
            hints.idempotent_hint,
            hints.open_world_hint,
        )


@pytest.mark.parametrize("mode", ERAS)
async def test_find_describe_and_call_a_remote_and_a_remoteops_tool(make_runtime, mode):
    runtime = make_runtime()
    async with Client(make_server(runtime, "ops"), mode=mode) as c:
        assert "remote_list_timeoff" in await search(c, "who is off sick next week in Portugal")
        assert "remoteops_list_invoices" in await search(c, "which customers have overdue invoices")

        described = await c.call_tool("ops_describe_tool", {"name": "remoteops_list_invoices"})
        schema = described.structured_content["inputSchema"]
        assert "overdue" in schema["properties"]

        timeoff = await c.call_tool(
            "ops_call_tool",
            {"name": "remote_list_timeoff", "arguments": {"timeoff_type": "sick_leave", "page_size": 2}},
        )
        invoices = await c.call_tool(
            "ops_call_tool", {"name": "remoteops_list_invoices", "arguments": {"status": "open", "limit": 2}}
        )
    assert not timeoff.is_error and timeoff.structured_content["timeoffs"]
    assert not invoices.is_error and "data" in invoices.structured_content
    assert any(r.path.startswith("/v1/timeoff") for r in backend_state(runtime, "remote").requests)
    assert any(r.path.startswith("/invoices") for r in backend_state(runtime, "remoteops").requests)
    # The inner calls are audited under their own names, like direct calls.
    assert audited(runtime, "remote_list_timeoff")[-1].decision == "allowed"
    assert audited(runtime, "remoteops_list_invoices")[-1].decision == "allowed"
    assert audited(runtime, "ops_search_tools")[-1].decision == "allowed"


@pytest.mark.parametrize("mode", ERAS)
async def test_a_narrower_policy_cannot_find_describe_or_call_other_tools(make_runtime, mode):
    runtime = make_runtime({"reader": {"areas": {"remote.timeoff": "read"}, "tool_mode": "discovery"}})
    async with Client(make_server(runtime, "reader"), mode=mode) as c:
        assert {tool.name for tool in (await c.list_tools()).tools} == META | {EVENTS}
        found = await search(c, "approve time off", limit=10)
        assert found and all(name in TIMEOFF_READS for name in found)
        assert await search(c, "overdue invoices for a customer", limit=10) == []
        for hidden in ("remote_approve_timeoff", "remoteops_list_invoices", "no_such_tool"):
            described = await c.call_tool("ops_describe_tool", {"name": hidden})
            called = await c.call_tool("ops_call_tool", {"name": hidden, "arguments": {}})
            assert described.is_error and described.content[0].text == f"Unknown tool: {hidden}"
            assert called.is_error and called.content[0].text == f"Unknown tool: {hidden}"
    assert backend_state(runtime, "remoteops").requests == []
    assert writes(runtime, "remote") == []
    assert audited(runtime, "remoteops_list_invoices")[-1].decision == "denied"


async def test_call_validates_arguments_like_a_direct_call(make_runtime):
    runtime = make_runtime()
    async with Client(make_server(runtime, "ops")) as c:
        bad = await c.call_tool(
            "ops_call_tool", {"name": "remote_list_timeoff", "arguments": {"status": "nope"}}
        )
        not_object = await c.call_tool("ops_call_tool", {"name": "remote_list_timeoff", "arguments": [1]})
        empty = await c.call_tool("ops_search_tools", {"query": "  "})
    assert bad.is_error and "status" in bad.content[0].text and "not allowed" in bad.content[0].text
    assert not_object.is_error and "arguments" in not_object.content[0].text
    assert empty.is_error
    assert not any(r.path.startswith("/v1/timeoff") for r in backend_state(runtime, "remote").requests)


async def test_call_goes_through_confirmation_and_pending_approvals(make_runtime):
    runtime = make_runtime(
        {"ops": {"areas": {"remote.*": "full", "remoteops.*": "full"}, "confirm": ["remote.timeoff"]}}
    )
    args, _ = requested_timeoff(runtime)
    async with Client(make_server(runtime, "ops"), mode="legacy") as c:
        described = await c.call_tool("ops_describe_tool", {"name": "remote_approve_timeoff"})
        assert "approval_id" in described.structured_content["inputSchema"]["properties"]
        rows = (await c.call_tool("ops_search_tools", {"query": "approve time off"})).structured_content[
            "results"
        ]
        assert any(row.get("needs_approval") for row in rows)
        pending = await c.call_tool("ops_call_tool", {"name": "remote_approve_timeoff", "arguments": args})
        approval_id = pending.structured_content["approval_id"]
        assert writes(runtime, "remote") == []
        ApprovalStore(runtime.state_dir / "approvals.sqlite3").decide(approval_id, approve=True, by="alice")
        retry = {"name": "remote_approve_timeoff", "arguments": {**args, "approval_id": approval_id}}
        done = await c.call_tool("ops_call_tool", retry)
        again = await c.call_tool("ops_call_tool", retry)
    assert not done.is_error, done.content[0].text
    assert again.is_error and "already used" in again.content[0].text
    assert len(writes(runtime, "remote", "/approve")) == 1


async def test_call_asks_2026_clients_through_an_input_required_round(make_runtime):
    runtime = make_runtime(
        {"ops": {"areas": {"remote.*": "full", "remoteops.*": "full"}, "confirm": ["remote.timeoff"],
                 "confirm_via": "client"}}
    )
    args, _ = requested_timeoff(runtime)
    asked: list[str] = []

    async def accept(ctx, params):
        asked.append(params.message)
        return t.ElicitResult(action="accept", content={"confirm": True})

    async with Client(make_server(runtime, "ops"), mode="2026-07-28", elicitation_callback=accept) as c:
        done = await c.call_tool("ops_call_tool", {"name": "remote_approve_timeoff", "arguments": args})
    assert not done.is_error, done.content[0].text
    assert len(asked) == 1 and asked[0].startswith("Approve")
    assert len(writes(runtime, "remote", "/approve")) == 1


async def test_auto_mode_follows_the_token_budget_and_static_never_switches(make_runtime):
    runtime = make_runtime(
        {
            "small": {"areas": {"remote.timeoff": "read"}},
            "tight": {"areas": {"remote.timeoff": "read"}, "token_budget": 100},
            "static": {"areas": {"remote.*": "full", "remoteops.*": "full"}, "tool_mode": "static"},
        }
    )
    async with Client(make_server(runtime, "small")) as c:
        small = {tool.name for tool in (await c.list_tools()).tools}
        meta_refused = await c.call_tool("ops_search_tools", {"query": "time off"})
    async with Client(make_server(runtime, "tight")) as c:
        tight = {tool.name for tool in (await c.list_tools()).tools}
    async with Client(make_server(runtime, "static")) as c:
        static = {tool.name for tool in (await c.list_tools()).tools}
    assert small == TIMEOFF_READS | {EVENTS}
    assert meta_refused.is_error and "Unknown tool" in meta_refused.content[0].text
    assert tight == META | {EVENTS}
    assert len(static) == 172 and EVENTS in static and not static & META
