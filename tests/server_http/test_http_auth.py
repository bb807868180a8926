"""Hosted agents over real HTTP: credentials, isolation between agents, Origin/Host checks, both transports
and both protocol eras."""

from __future__ import annotations

import httpx
import pytest

from ops_mcp.config import load_settings
from ops_mcp.transports.agent_auth import AgentTokenStore

from ._support import ERAS, TRANSPORTS, connected, issue_token, serve

pytestmark = pytest.mark.anyio

INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def test_no_token_gets_401_with_resource_metadata(config_path) -> None:
    with serve(config_path) as served:
        for method, path in (("POST", "/mcp"), ("GET", "/sse"), ("POST", "/messages/?session_id=00")):
            response = httpx.request(method, served.base + path, json=INIT if method == "POST" else None)
            assert response.status_code == 401, path
            challenge = response.headers["www-authenticate"]
            assert challenge.startswith("Bearer ")
            pointer = f'resource_metadata="{served.base}/.well-known/oauth-protected-resource/mcp"'
            assert pointer in challenge
        metadata = httpx.get(f"{served.base}/.well-known/oauth-protected-resource/mcp").json()
        assert metadata["resource"] == f"{served.base}/mcp"
        assert metadata["bearer_methods_supported"] == ["header"]
        # A made-up token, or a client that names itself "hr", is still nobody.
        bogus = httpx.post(served.base + "/mcp", json=INIT, headers={**ACCEPT, "Authorization": "Bearer omcp_nope"})
        assert bogus.status_code == 401


def test_revoked_token_gets_401(config_path) -> None:
    token = issue_token(config_path, "hr")
    headers = {**ACCEPT, "Authorization": f"Bearer {token}"}
    with serve(config_path) as served:
        assert httpx.post(served.base + "/mcp", json=INIT, headers=headers).status_code == 200
        assert AgentTokenStore(load_settings(config_path).state_dir()).revoke("hr")
        assert httpx.post(served.base + "/mcp", json=INIT, headers=headers).status_code == 401
        assert httpx.get(served.base + "/sse", headers=headers).status_code == 401


def test_token_store_keeps_only_hashes(config_path) -> None:
    token = issue_token(config_path, "hr")
    stored = (load_settings(config_path).state_dir() / "agent_tokens.json").read_text()
    assert token not in stored and token[9:] not in stored
    store = AgentTokenStore(load_settings(config_path).state_dir())
    assert store.agent_for(token) == "hr"
    assert store.agent_for(token + "x") is None and store.agent_for(token.upper()) is None


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("mode", ERAS)
async def test_each_agent_sees_and_calls_only_its_own_tools(config_path, transport: str, mode: str) -> None:
    hr, dispatch = issue_token(config_path, "hr"), issue_token(config_path, "dispatch")
    with serve(config_path) as served:
        async with connected(served.base, hr, transport=transport, mode=mode) as client:
            hr_tools = {t.name for t in (await client.list_tools()).tools}
            denied = await client.call_tool("remoteops_list_work_orders", {})
        async with connected(served.base, dispatch, transport=transport, mode=mode) as client:
            dispatch_tools = {t.name for t in (await client.list_tools()).tools}
            denied_other = await client.call_tool("remote_approve_timeoff", {"timeoff_id": "x"})
        denials = [e.record for e in served.state.runtime.audit.tail(50) if e.record.decision == "denied"]

    assert "remote_approve_timeoff" in hr_tools and "ops_list_events" in hr_tools
    assert not any(name.startswith("remoteops_") for name in hr_tools)
    assert "remoteops_list_work_orders" in dispatch_tools
    assert not any(name.startswith("remote_") for name in dispatch_tools)
    for result, name in ((denied, "remoteops_list_work_orders"), (denied_other, "remote_approve_timeoff")):
        assert result.is_error and result.content[0].text == f"Unknown tool: {name}"
    assert {(r.agent, r.tool, r.transport) for r in denials} >= {
        ("hr", "remoteops_list_work_orders", transport), ("dispatch", "remote_approve_timeoff", transport)}


async def test_identity_comes_only_from_the_credential(config_path) -> None:
    """Headers or a client name that claim another agent change nothing."""
    hr = issue_token(config_path, "hr")
    with serve(config_path) as served:
        async with connected(served.base, hr, mode="legacy") as client:
            names = {t.name for t in (await client.list_tools()).tools}
        spoof = {**ACCEPT, "Authorization": f"Bearer {hr}", "X-Agent": "dispatch", "X-Ops-Mcp-Agent": "dispatch"}
        init = {**INIT, "params": {**INIT["params"], "clientInfo": {"name": "dispatch", "version": "1"}}}
        response = httpx.post(served.base + "/mcp", json=init, headers=spoof)
        assert response.status_code == 200
        session = response.headers["mcp-session-id"]
        headers = {**spoof, "mcp-session-id": session, "mcp-protocol-version": "2025-06-18"}
        httpx.post(served.base + "/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"},
                   headers=headers)
        listed = httpx.post(served.base + "/mcp", json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
                            headers=headers)
        assert "remoteops_list_work_orders" not in listed.text
        assert "remote_approve_timeoff" in listed.text
        # Another agent's credential cannot ride on hr's session.
        other = issue_token(config_path, "dispatch")
        hijack = httpx.post(served.base + "/mcp", json={"jsonrpc": "2.0", "id": 3, "method": "tools/list"},
                            headers={**headers, "Authorization": f"Bearer {other}"})
        assert hijack.status_code == 404
    assert "remote_approve_timeoff" in names


def test_foreign_origin_and_host_are_refused(config_path) -> None:
    token = issue_token(config_path, "hr")
    auth = {**ACCEPT, "Authorization": f"Bearer {token}"}
    with serve(config_path) as served:
        ok = httpx.post(served.base + "/mcp", json=INIT, headers={**auth, "Origin": served.base})
        assert ok.status_code == 200
        evil = httpx.post(served.base + "/mcp", json=INIT, headers={**auth, "Origin": "http://evil.example"})
        assert evil.status_code == 403
        rebind = httpx.post(served.base + "/mcp", json=INIT, headers={**auth, "Host": "evil.example"})
        assert rebind.status_code == 421
        sse = httpx.get(served.base + "/sse", headers={**auth, "Origin": "http://evil.example"})
        assert sse.status_code == 403


def test_allowed_origins_are_configurable(tmp_path) -> None:
    from ._support import write_config

    config = write_config(tmp_path, '[server]\nallowed_origins = ["https://console.example"]\n'
                                    'allowed_hosts = ["mcp.example"]')
    token = issue_token(config, "hr")
    auth = {**ACCEPT, "Authorization": f"Bearer {token}"}
    with serve(config) as served:
        assert httpx.post(served.base + "/mcp", json=INIT,
                          headers={**auth, "Origin": "https://console.example"}).status_code == 200
        assert httpx.post(served.base + "/mcp", json=INIT, headers={**auth, "Host": "mcp.example"}).status_code == 200
        assert httpx.post(served.base + "/mcp", json=INIT,
                          headers={**auth, "Origin": "https://other.example"}).status_code == 403


def test_health_ready_and_metrics(config_path) -> None:
    token = issue_token(config_path, "hr")
    with serve(config_path) as served:
        assert httpx.get(served.base + "/healthz").json() == {"status": "ok"}
        assert httpx.get(served.base + "/readyz").json() == {"status": "ready"}
        httpx.post(served.base + "/mcp", json=INIT)  # one 401
        page = httpx.get(served.base + "/metrics")
        assert page.status_code == 200
        assert 'ops_mcp_http_requests_total{route="/mcp",status="401"}' in page.text
        assert token not in page.text
