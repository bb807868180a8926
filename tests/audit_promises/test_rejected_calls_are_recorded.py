"""Every ``tools/call`` that reaches the server leaves exactly one record (issue 12, item 2) — also the ones
the SDK refuses before any of ops-mcp's code runs: a forged ``requestState``, ``arguments`` that are a
list or a string, a missing or non-string ``name``. Sent raw over streamable HTTP, as a hostile client
library would."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ops_mcp.transports.agent_auth import AgentTokenStore
from tests.confirmation.ops_harness import served
from tests.support.hostile import auth, initialized, legacy_call, modern_request, sse_json

APPROVE = "remote_approve_timeoff"
MALFORMED: list[tuple[str, dict[str, Any]]] = [
    ("arguments a list", {"name": APPROVE, "arguments": [1, {"email": "bob.secret@example.com"}]}),
    ("arguments a string", {"name": APPROVE, "arguments": "timeoff_id=to_1"}),
    ("no name", {"arguments": {"timeoff_id": "to_1"}}),
    ("name a number", {"name": 42, "arguments": {}}),
    ("name null", {"name": None}),
]


@pytest.fixture
def server(make_runtime):
    runtime = make_runtime()
    token = AgentTokenStore(runtime.state_dir).issue("writer")
    with served(runtime, stateless=False) as url:
        yield runtime, url.removesuffix("/mcp"), token


@pytest.mark.parametrize(("case", "params"), MALFORMED, ids=[c for c, _ in MALFORMED])
def test_a_call_the_sdk_rejects_leaves_exactly_one_record(server, case, params):
    runtime, base, token = server
    session = initialized(base, token)
    before = runtime.audit.count()
    answer = sse_json(legacy_call(base, token, session, "tools/call", params))
    assert "error" in answer  # the SDK refused it before any tool ran
    assert runtime.audit.count() == before + 1
    record = runtime.audit.tail(1)[0].record
    assert (record.agent, record.decision, record.outcome) == ("writer", "invalid", "rejected_by_sdk")
    assert record.tool == (params["name"] if isinstance(params.get("name"), str) else "(no tool name)")
    assert "rejected as malformed before any tool ran" in record.sentence
    assert "bob.secret@example.com" not in str(record.to_dict())  # its arguments are redacted like any others


def test_a_forged_request_state_leaves_exactly_one_record(server):
    runtime, base, token = server
    before = runtime.audit.count()
    headers, body = modern_request(
        "tools/call",
        {"name": APPROVE, "arguments": {"timeoff_id": "to_1"}, "requestState": "forged.state.value"},
    )
    response = httpx.post(base + "/mcp", json=body, headers={**auth(token), **headers}, timeout=30)
    assert "error" in sse_json(response)
    assert runtime.audit.count() == before + 1
    record = runtime.audit.tail(1)[0].record
    assert (record.decision, record.outcome, record.tool) == ("denied", "refused:invalid_state", APPROVE)
    assert "refused (forged, altered, expired or mismatched confirmation)" in record.sentence


def test_a_call_that_reaches_a_tool_is_recorded_once_not_twice(server):
    runtime, base, token = server
    session = initialized(base, token)
    before = runtime.audit.count()
    answer = sse_json(
        legacy_call(base, token, session, "tools/call", {"name": "remote_list_timeoff", "arguments": {}})
    )
    assert "result" in answer
    assert runtime.audit.count() == before + 1


def test_a_call_the_http_transport_refuses_before_the_server_leaves_exactly_one_record(server):
    """A 2026-07-28 request whose Mcp-Name header names another tool than its body never reaches the MCP
    server; it is recorded at the HTTP door."""
    runtime, base, token = server
    before = runtime.audit.count()
    headers, body = modern_request("tools/call", {"name": APPROVE, "arguments": {"timeoff_id": "to_1"}})
    headers["mcp-name"] = "remote_list_timeoff"
    response = httpx.post(base + "/mcp", json=body, headers={**auth(token), **headers}, timeout=30)
    assert 400 <= response.status_code < 500
    assert runtime.audit.count() == before + 1
    record = runtime.audit.tail(1)[0].record
    assert (record.agent, record.tool, record.decision, record.transport) == (
        "writer",
        APPROVE,
        "invalid",
        "http",
    )


def test_a_call_on_an_unknown_session_leaves_exactly_one_record(server):
    runtime, base, token = server
    before = runtime.audit.count()
    response = legacy_call(base, token, "no-such-session", "tools/call", {"name": APPROVE, "arguments": {}})
    assert response.status_code == 404
    assert runtime.audit.count() == before + 1


def test_a_modern_call_the_server_rejects_is_recorded_once_not_twice(server):
    runtime, base, token = server
    before = runtime.audit.count()
    headers, body = modern_request("tools/call", {"name": APPROVE, "arguments": [1, 2]})
    response = httpx.post(base + "/mcp", json=body, headers={**auth(token), **headers}, timeout=30)
    assert "error" in sse_json(response)
    assert runtime.audit.count() == before + 1
