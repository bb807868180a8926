"""Fair and bounded (issue 12, item 11): one agent's sessions, calls and streams never deny another agent.

Every test is the attacker's side first — a token of an agent that may see no tool, or of an agent whose
upstream calls are held open — then the proof that another agent still initializes, lists and calls. Counts
and statuses only; the one clock that matters (idle time) is moved by hand.
"""

from __future__ import annotations

import anyio
import httpx
import pytest
from mcp import MCPError

from tests.server_http._support import connected, issue_token, mcp_client, serve
from tests.support.hostile import (
    Gate,
    ManualClock,
    auth,
    initialized,
    legacy_call,
    modern_request,
    open_session,
    released,
    sse_json,
)

pytestmark = pytest.mark.anyio

LIMIT_EXCEEDED = -32029
SESSIONS = """
sessions_per_credential = 4
sessions_per_agent = 4
max_sessions = 8
"""
CALLS = """
calls_per_credential = 3
calls_per_agent = 3
streams_per_credential = 2
streams_per_agent = 2
"""


def _refusal(response: httpx.Response, status: int = 429) -> str:
    assert response.status_code == status, (response.status_code, response.text[:200])
    assert int(response.headers["retry-after"]) >= 1
    error = response.json()["error"]
    assert error["code"] == LIMIT_EXCEEDED
    return error["message"]


async def _other_agent_works(base: str, token: str, tool: str, arguments: dict) -> None:
    """Initializes, lists and calls, in both protocol eras."""
    for mode in ("legacy", "2026-07-28"):
        async with connected(base, token, mode=mode) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            result = await client.call_tool(tool, arguments)
        assert tool in names, mode
        assert not result.is_error, (mode, result.content)


async def test_a_hostile_credential_cannot_open_sessions_past_its_cap_and_others_still_get_in(hostile_config):
    config = hostile_config(SESSIONS)
    nobody, hr = issue_token(config, "nobody"), issue_token(config, "hr")
    with serve(config) as served:
        answers = [open_session(served.base, nobody) for _ in range(12)]
        admitted = [a.headers["mcp-session-id"] for a in answers if a.status_code == 200]
        refused = [_refusal(a) for a in answers if a.status_code != 200]
        await _other_agent_works(served.base, hr, "remote_list_timeoff", {})
        # The hostile agent's own sessions were not taken away by the others.
        still = [legacy_call(served.base, nobody, sid, "ping").status_code for sid in admitted]

    assert len(admitted) == 4 and len(refused) == 8
    assert all("Too many open sessions" in message for message in refused)
    assert still == [200] * 4


async def test_an_abusive_credentials_idle_sessions_expire_sooner(hostile_config):
    # The periodic sweep is kept out of the way (next test): here a new session makes room by itself.
    config = hostile_config(SESSIONS + "crowded_idle_seconds = 60\nrevocation_poll_seconds = 3600\n")
    nobody = issue_token(config, "nobody")
    clock = ManualClock()
    with serve(config) as served:
        connections = served.state.connections
        connections.ledger.clock = clock
        first = [initialized(served.base, nobody) for _ in range(4)]
        clock.advance(30)
        over = open_session(served.base, nobody)
        clock.advance(31)  # now idle for 61 s: past crowded_idle_seconds, far short of the 30-minute timeout
        again = open_session(served.base, nobody)
        oldest = legacy_call(served.base, nobody, first[0], "ping")
        newest = legacy_call(served.base, nobody, first[-1], "ping")
        held = sum(1 for s in connections.ledger.sessions.values() if s.principal.agent == "nobody")

    _refusal(over)
    assert int(over.headers["retry-after"]) == 30  # when the oldest idle session would have been idle 60 s
    assert again.status_code == 200
    assert oldest.status_code == 404  # closed to make room; its id is gone
    assert newest.status_code == 200
    assert held == 4


async def test_an_abusive_credentials_idle_sessions_expire_even_when_it_stops_asking(hostile_config):
    config = hostile_config(SESSIONS + "crowded_idle_seconds = 60\nrevocation_poll_seconds = 0.05\n")
    nobody, hr = issue_token(config, "nobody"), issue_token(config, "hr")
    clock = ManualClock()
    with serve(config) as served:
        served.state.connections.ledger.clock = clock
        crowded = [initialized(served.base, nobody) for _ in range(4)]
        calm = initialized(served.base, hr)  # below its limit: the sweep leaves it alone
        clock.advance(61)
        live = served.state.server.session_manager._server_instances
        with anyio.fail_after(20):  # the sweep runs every revocation_poll_seconds
            while any(sid in live for sid in crowded):
                await anyio.sleep(0.02)
        gone = [legacy_call(served.base, nobody, sid, "ping").status_code for sid in crowded]
        kept = legacy_call(served.base, hr, calm, "ping").status_code

    assert gone == [404] * 4
    assert kept == 200


async def test_at_the_servers_session_cap_the_biggest_holder_gives_way(hostile_config):
    config = hostile_config(SESSIONS)
    nobody, greedy, hr = (issue_token(config, a) for a in ("nobody", "greedy", "hr"))
    with serve(config) as served:
        ledger = served.state.connections.ledger
        for token in (nobody, greedy):
            assert all(open_session(served.base, token).status_code == 200 for _ in range(4))
        newcomer = open_session(served.base, hr)
        by_agent = {a: sum(1 for s in ledger.sessions.values() if s.principal.agent == a)
                    for a in ("nobody", "greedy", "hr")}
        # The one that gave way cannot take the place back from an agent with fewer sessions.
        retake = [open_session(served.base, t) for t in (nobody, greedy)]
        await _other_agent_works(served.base, hr, "remote_list_timeoff", {})

    assert newcomer.status_code == 200
    assert by_agent["hr"] == 1 and sorted([by_agent["nobody"], by_agent["greedy"]]) == [3, 4]
    assert sorted(r.status_code for r in retake) == [429, 503]


async def test_held_calls_of_one_agent_do_not_stop_another(hostile_config):
    """greedy's upstream calls are held open; its fourth is refused at once; dispatch is not slowed."""
    config = hostile_config(CALLS)
    greedy, dispatch = issue_token(config, "greedy"), issue_token(config, "dispatch")
    gate = Gate("/remote/")
    headers, body = modern_request("tools/call", {"name": "remote_list_timeoff", "arguments": {}})
    with serve(config, wrap_sandbox=gate.wrap) as served:
        async with httpx.AsyncClient(base_url=served.base, headers=auth(greedy), timeout=60) as client:
            held: list[httpx.Response] = []

            async def call() -> None:
                held.append(await client.post("/mcp", json=body, headers=headers))

            with released(gate):
                async with anyio.create_task_group() as tasks:
                    for _ in range(3):
                        tasks.start_soon(call)
                    await anyio.to_thread.run_sync(gate.wait_for, 3)
                    fourth = await client.post("/mcp", json=body, headers=headers)
                    await _other_agent_works(served.base, dispatch, "remoteops_list_work_orders", {})
                    gate.release()

    message = _refusal(fourth)
    assert "requests in flight" in message
    assert [r.status_code for r in held] == [200] * 3
    assert all("timeoffs" in str(sse_json(r)["result"]) for r in held)


async def test_calls_that_outlive_their_request_are_counted_too(hostile_config):
    """Over SSE a call is answered 202 at once and runs on: the server counts handlers, not just requests,
    and the refused call is written to the audit log like any call that reached the server."""
    config = hostile_config(CALLS)
    greedy = issue_token(config, "greedy")
    gate = Gate("/remote/")
    with serve(config, wrap_sandbox=gate.wrap) as served:
        outcomes: list[object] = []
        async with mcp_client(served.base, greedy, transport="sse", mode="legacy") as client:

            async def call() -> None:
                outcomes.append(await client.call_tool("remote_list_timeoff", {}))

            with released(gate):
                async with anyio.create_task_group() as tasks:
                    for _ in range(3):
                        tasks.start_soon(call)
                    await anyio.to_thread.run_sync(gate.wait_for, 3)
                    with pytest.raises(MCPError) as refused:
                        await client.call_tool("remote_list_timeoff", {"status": "approved"})
                    gate.release()
        records = [e.record for e in served.state.runtime.audit.tail(20) if e.record.agent == "greedy"]

    assert refused.value.error.code == LIMIT_EXCEEDED
    assert len(outcomes) == 3 and not any(o.is_error for o in outcomes)
    limited = [r for r in records if r.decision == "rate_limited"]
    assert len(limited) == 1 and limited[0].tool == "remote_list_timeoff" and limited[0].transport == "sse"
    assert sum(r.decision == "allowed" for r in records) == 3


async def test_open_streams_are_capped_per_credential(hostile_config):
    config = hostile_config(CALLS)
    greedy, hr = issue_token(config, "greedy"), issue_token(config, "hr")
    headers, body = modern_request("subscriptions/listen", {"notifications": {"toolsListChanged": True}})
    with serve(config) as served:
        async with httpx.AsyncClient(base_url=served.base, headers=auth(greedy), timeout=30) as client, \
                client.stream("POST", "/mcp", json=body, headers=headers) as one, \
                client.stream("POST", "/mcp", json=body, headers=headers) as two:
            third = await client.post("/mcp", json=body, headers=headers)
            # Streams do not use up calls: the same credential still calls.
            h, b = modern_request("tools/list")
            listed = await client.post("/mcp", json=b, headers=h)
            async with httpx.AsyncClient(base_url=served.base, headers=auth(hr), timeout=30) as other, \
                    other.stream("POST", "/mcp", json=body, headers=headers) as theirs:
                theirs_status = theirs.status_code
            statuses = (one.status_code, two.status_code)

    assert statuses == (200, 200)
    assert "open streams" in _refusal(third)
    assert listed.status_code == 200 and "tools" in sse_json(listed)["result"]
    assert theirs_status == 200


async def test_a_session_id_is_no_use_to_another_agent(hostile_config):
    """hr's session id presented with another agent's token: 404, and hr's session is untouched."""
    config = hostile_config(SESSIONS)
    hr, nobody = issue_token(config, "hr"), issue_token(config, "nobody")
    with serve(config) as served:
        session = initialized(served.base, hr)
        stolen = [legacy_call(served.base, nobody, session, m) for m in ("tools/list", "ping")]
        deleted = httpx.delete(served.base + "/mcp", headers={**auth(nobody), "mcp-session-id": session})
        own = legacy_call(served.base, hr, session, "tools/list")
        ledger = served.state.connections.ledger
        counted = {a: sum(1 for s in ledger.sessions.values() if s.principal.agent == a) for a in ("hr", "nobody")}

    assert [r.status_code for r in stolen] == [404, 404] and deleted.status_code == 404
    assert own.status_code == 200 and "remote_list_timeoff" in own.text
    assert counted == {"hr": 1, "nobody": 0}
