"""A revoked agent's open streams close (issue 12, item 16), on every transport, and only its own.

The token is revoked the way an operator does it (``AgentTokenStore.revoke``, i.e. ``ops-mcp agents revoke``,
possibly on another replica): the server notices the token store change and closes what the token holds open.
Each test first proves the stream is live (an event arrives on it), then revokes, then reads the stream to
its end: the server must close it. The next request with the token is refused.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import httpx
import pytest

from ops_mcp.config import load_settings
from ops_mcp.events.secrets import WebhookSecrets
from ops_mcp.transports.agent_auth import AgentTokenStore
from tests.server_http._support import issue_token, serve
from tests.server_http.test_webhooks_receiver import REMOTE_KEY, remote_headers
from tests.support.hostile import (
    INIT,
    Gate,
    auth,
    initialized,
    legacy_call,
    modern_request,
    released,
)

pytestmark = pytest.mark.anyio

FEED = "ops-mcp://events/acme/remote.timeoff"
FAST = "revocation_poll_seconds = 0.05\n"


def _registered(config):
    WebhookSecrets(load_settings(config).state_dir()).put(
        "remote", "acme", REMOTE_KEY, remote_id="cb_1", url="http://127.0.0.1/webhooks/remote")
    return config


def _deliver(base: str) -> None:
    body = json.dumps({"event_type": "timeoff.requested", "company_id": "c1", "employment_id": "e1",
                       "timeoff_id": secrets.token_hex(4)}).encode()
    assert httpx.post(base + "/webhooks/remote", content=body, headers=remote_headers(REMOTE_KEY, body)).status_code == 200


def _revoke(config, agent: str = "hr") -> None:
    assert AgentTokenStore(load_settings(config).state_dir()).revoke(agent)


class Events:
    """The ``data:`` payloads of an SSE response, one at a time; ``None`` once the server ended it."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.aiter_lines()

    async def next(self) -> dict | None:
        async for line in self._lines:
            if line.startswith("data: "):
                try:
                    return json.loads(line[6:])
                except ValueError:
                    return {"raw": line[6:]}
        return None

    async def until(self, predicate) -> dict:
        while (event := await self.next()) is not None:
            if predicate(event):
                return event
        raise AssertionError("the stream ended before the expected event")

    async def drained(self) -> bool:
        """True once the server has closed the stream (whatever came before the end)."""
        with anyio.fail_after(20):  # a deadline for a hang, not a measurement
            while await self.next() is not None:
                pass
        return True


def _updated(event: dict) -> bool:
    return event.get("method") == "notifications/resources/updated" and event["params"]["uri"] == FEED


@asynccontextmanager
async def _sse_subscribed(client: httpx.AsyncClient) -> AsyncIterator[tuple[Events, str]]:
    """A handshake-era SSE session, raw, subscribed to hr's time-off feed."""
    async with client.stream("GET", "/sse") as stream:
        events = Events(stream)
        endpoint = await events.until(lambda e: "raw" in e)
        post = endpoint["raw"]
        assert (await client.post(post, json=INIT)).status_code == 202
        await events.until(lambda e: e.get("id") == 1)
        await client.post(post, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
        await client.post(post, json={"jsonrpc": "2.0", "id": 2, "method": "resources/subscribe",
                                      "params": {"uri": FEED}})
        await events.until(lambda e: e.get("id") == 2)
        yield events, post


async def test_a_revoked_agents_sse_stream_closes_and_its_next_request_is_refused(hostile_config):
    config = _registered(hostile_config(FAST))
    hr = issue_token(config, "hr")
    with serve(config) as served:
        async with httpx.AsyncClient(base_url=served.base, headers=auth(hr), timeout=30) as client, \
                _sse_subscribed(client) as (events, post):
            _deliver(served.base)
            live = await events.until(_updated)
            _revoke(config)
            closed = await events.drained()
            after = await client.post(post, json={"jsonrpc": "2.0", "id": 3, "method": "tools/list"})
            again = await client.get("/sse")

    assert live["params"]["uri"] == FEED
    assert closed
    assert after.status_code == 401 and again.status_code == 401


async def test_a_revoked_agents_listen_stream_closes(hostile_config):
    config = _registered(hostile_config(FAST))
    hr = issue_token(config, "hr")
    headers, body = modern_request("subscriptions/listen", {"notifications": {"resourceSubscriptions": [FEED]}})
    with serve(config) as served:
        async with httpx.AsyncClient(base_url=served.base, headers=auth(hr), timeout=30) as client:
            async with client.stream("POST", "/mcp", json=body, headers=headers) as stream:
                events = Events(stream)
                await events.until(lambda e: e.get("method") == "notifications/subscriptions/acknowledged")
                _deliver(served.base)
                live = await events.until(_updated)
                _revoke(config)
                closed = await events.drained()
            h, b = modern_request("tools/list")
            after = await client.post("/mcp", json=b, headers=h)

    assert live["params"]["uri"] == FEED and closed
    assert after.status_code == 401


async def test_a_revoked_agents_session_and_get_stream_close(hostile_config):
    config = _registered(hostile_config(FAST))
    hr = issue_token(config, "hr")
    with serve(config) as served:
        session = initialized(served.base, hr)
        subscribed = legacy_call(served.base, hr, session, "resources/subscribe", {"uri": FEED})
        headers = {**auth(hr), "mcp-session-id": session, "mcp-protocol-version": "2025-06-18",
                   "Accept": "text/event-stream"}
        async with httpx.AsyncClient(base_url=served.base, timeout=30) as client, \
                client.stream("GET", "/mcp", headers=headers) as stream:
            events = Events(stream)
            _deliver(served.base)
            live = await events.until(_updated)
            _revoke(config)
            closed = await events.drained()
        sessions_left = [s for s in served.state.connections.ledger.sessions.values() if s.principal.agent == "hr"]
        manager_has_it = session in served.state.server.session_manager._server_instances

    assert subscribed.status_code == 200 and live["params"]["uri"] == FEED and closed
    assert sessions_left == [] and not manager_has_it


async def test_only_the_revoked_agent_loses_its_streams(hostile_config):
    config = _registered(hostile_config(FAST))
    hr, dispatch = issue_token(config, "hr"), issue_token(config, "dispatch")
    headers, body = modern_request("subscriptions/listen", {"notifications": {"toolsListChanged": True}})
    with serve(config) as served:
        theirs = initialized(served.base, dispatch)
        async with httpx.AsyncClient(base_url=served.base, timeout=30) as client, \
                client.stream("POST", "/mcp", json=body, headers={**auth(hr), **headers}) as hr_stream, \
                client.stream("POST", "/mcp", json=body, headers={**auth(dispatch), **headers}) as other:
            hr_events, other_events = Events(hr_stream), Events(other)
            for events in (hr_events, other_events):
                await events.until(lambda e: e.get("method") == "notifications/subscriptions/acknowledged")
            _revoke(config)
            closed = await hr_events.drained()
            still_open = served.state.connections.open_requests("dispatch")
            used = legacy_call(served.base, dispatch, theirs, "tools/list")

    assert closed
    assert still_open == 1  # dispatch's listen stream
    assert used.status_code == 200 and "remoteops_list_work_orders" in used.text


async def test_a_rotated_token_closes_the_old_tokens_sessions_only(hostile_config):
    config = hostile_config(FAST)
    old = issue_token(config, "hr")
    with serve(config) as served:
        before = initialized(served.base, old)
        new = issue_token(config, "hr")  # `ops-mcp agents add hr --rotate`
        after = initialized(served.base, new)
        with anyio.fail_after(20):
            while before in served.state.server.session_manager._server_instances:
                await anyio.sleep(0.02)
        old_session = legacy_call(served.base, new, before, "tools/list")
        new_session = legacy_call(served.base, new, after, "tools/list")
        old_token = legacy_call(served.base, old, after, "tools/list")

    assert old_session.status_code == 404
    assert new_session.status_code == 200
    assert old_token.status_code == 401


async def test_a_revocation_racing_a_call_cuts_the_call_off(hostile_config):
    """hr's call is in flight (held upstream) when its token is revoked: the request is closed under it and
    no result reaches the revoked credential."""
    config = hostile_config(FAST)
    hr = issue_token(config, "hr")
    gate = Gate("/remote/")
    headers, body = modern_request("tools/call", {"name": "remote_list_timeoff", "arguments": {}})
    with serve(config, wrap_sandbox=gate.wrap) as served, released(gate):
        async with httpx.AsyncClient(base_url=served.base, headers=auth(hr), timeout=30) as client:
            answer: list[httpx.Response] = []

            async def call() -> None:
                answer.append(await client.post("/mcp", json=body, headers=headers))

            # The gate stays shut: only closing the request can end it (a deadline for a hang, not a measurement).
            with anyio.fail_after(20):
                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(call)
                    await anyio.to_thread.run_sync(gate.wait_for, 1)
                    _revoke(config)
            open_after = served.state.connections.open_requests("hr")

    (response,) = answer
    assert '"id":1' not in response.text  # no answer at all (neither result nor error) reached the client
    assert response.status_code == 401 or response.headers.get("content-type", "").startswith("text/event-stream")
    assert open_after == 0


async def test_an_agent_removed_from_the_configuration_loses_its_sessions(hostile_config):
    config = hostile_config(FAST)
    hr = issue_token(config, "hr")
    with serve(config) as served:
        session = initialized(served.base, hr)
        served.state.runtime.policies.remove("hr")
        with anyio.fail_after(20):
            while session in served.state.server.session_manager._server_instances:
                await anyio.sleep(0.02)
        refused = httpx.post(served.base + "/mcp", json=INIT, headers=auth(hr))

    assert refused.status_code == 401


async def test_a_stream_does_not_outlive_its_jwt(hostile_config, tmp_path):
    """A listen stream opened with a JWT is closed once the JWT has expired (the watcher's clock is moved)."""
    import time

    import jwt as pyjwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(pyjwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}))
    config = hostile_config(FAST, extra="""
[server.oauth]
issuer = "https://issuer.test"
audience = "https://ops-mcp.test/mcp"
jwks_file = "jwks.json"
agent_claim = "ops_mcp_agent"
""")
    expires = int(time.time()) + 600
    token = pyjwt.encode({"iss": "https://issuer.test", "aud": "https://ops-mcp.test/mcp", "sub": "u1",
                          "ops_mcp_agent": "hr", "exp": expires}, key, algorithm="RS256", headers={"kid": "k1"})
    headers, body = modern_request("subscriptions/listen", {"notifications": {"toolsListChanged": True}})
    with serve(config) as served:
        async with httpx.AsyncClient(base_url=served.base, headers=auth(token), timeout=30) as client, \
                client.stream("POST", "/mcp", json=body, headers=headers) as stream:
            events = Events(stream)
            await events.until(lambda e: e.get("method") == "notifications/subscriptions/acknowledged")
            served.state.revocations.clock = lambda: expires + 1
            closed = await events.drained()

    assert closed
