"""End to end: an action in the Remote sandbox produces a signed webhook that the receiver verifies, and the
event reaches the agent allowed to read time off — and no other agent."""

from __future__ import annotations

import httpx
import pytest

from tests.support.waiting import eventually

from ._support import connected, issue_token, serve

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_timeoff_approval_reaches_only_the_allowed_agent(config_path, mode: str) -> None:
    hr, dispatch = issue_token(config_path, "hr"), issue_token(config_path, "dispatch")
    with serve(config_path, register_webhooks=True) as served:
        async def registered():
            return [r for r in served.state.registrations if r.backend == "remote" and r.ok]

        assert await eventually(registered), served.state.registrations

        async with connected(served.base, hr, mode=mode) as client:
            listed = await client.call_tool("remote_list_timeoff", {"status": "requested"})
            assert not listed.is_error, listed.content[0].text
            for timeoff in listed.structured_content["timeoffs"]:  # the first whose employee has a manager
                employment = await client.call_tool("remote_get_employment",
                                                    {"employment_id": timeoff["employment_id"]})
                if employment.structured_content.get("manager"):
                    manager = employment.structured_content["manager"]["id"]
                    break
            approved = await client.call_tool("remote_approve_timeoff",
                                              {"timeoff_id": timeoff["id"], "approver_id": manager})
            assert not approved.is_error, approved.content[0].text

            async def seen():
                result = await client.call_tool("ops_list_events", {"types": ["timeoff.*"], "since": "5m"})
                return [e for e in result.structured_content["events"] if e["type"] == "timeoff.approved"]

            events = await eventually(seen)
        assert events, "the approval's webhook never reached the receiver"
        assert events[0]["data"]["timeoff_id"] == timeoff["id"]
        assert events[0]["area"] == "remote.timeoff" and events[0]["tenant"] == "acme"

        async with connected(served.base, dispatch, mode=mode) as client:
            result = await client.call_tool("ops_list_events", {"types": ["timeoff.*"]})
            assert result.structured_content["count"] == 0
            assert (await client.call_tool("ops_list_events", {})).structured_content["count"] == 0

        metrics = httpx.get(served.base + "/metrics").text
        assert 'ops_mcp_tool_calls_total{agent="hr",backend="remote",decision="allowed"}' in metrics
        assert 'ops_mcp_webhooks_total{backend="remote",outcome="accepted"}' in metrics
        assert 'ops_mcp_upstream_requests_total{backend="remote",status="200"}' in metrics
        assert hr not in metrics and dispatch not in metrics
