"""The 401 refresh as an httpx auth flow, seen from the upstream: exactly one fresh token and one
resend per request, never for static tokens, and refused credentials reported to the operator.

The upstream is a tiny in-process ASGI app that decides per request which bearer tokens it accepts.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ops_mcp.upstream import Connection, OAuthCredentials, RetryPolicy, UpstreamClient

from .virtual_time import VirtualTime

pytestmark = pytest.mark.anyio
BASE = "http://upstream"


@dataclass
class Upstream:
    """Issues tok1, tok2, … and answers each API request with ``answer(token, n)``."""

    answer: Callable[[str, int], int]
    refuse_grant_after: int | None = None  # grants after this many are refused (invalid_client)
    granted: list[str] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)  # the bearer token of every API request

    def app(self) -> Starlette:
        async def token(request: Request) -> JSONResponse:
            if self.refuse_grant_after is not None and len(self.granted) >= self.refuse_grant_after:
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            self.granted.append(f"tok{len(self.granted) + 1}")
            return JSONResponse({"access_token": self.granted[-1], "expires_in": 3600})

        async def countries(request: Request) -> JSONResponse:
            bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
            self.seen.append(bearer)
            status = self.answer(bearer, len(self.seen))
            body = {"data": [{"code": "PRT"}]} if status == 200 else {"message": f"refused ({status})"}
            return JSONResponse(body, status_code=status)

        return Starlette(routes=[Route("/auth/oauth2/token", token, methods=["POST"]),
                                 Route("/v1/countries", countries)])


async def call(upstream: Upstream, catalogue, connection: Connection) -> tuple:
    vt, events = VirtualTime(), []
    client = UpstreamClient(
        {}, catalogue=catalogue, transport=httpx.ASGITransport(upstream.app()), clock=vt.time,
        sleep=vt.sleep, rng=random.Random(2), events=events.append,
        retry=RetryPolicy(base_delay_s=0.1, max_delay_s=1.0),
    )
    async with client:
        outcome = await client.call(connection, catalogue["remote"].endpoint("remote_list_countries"), {})
    return outcome, [(e.kind, e.status, e.detail) for e in events if e.kind != "token_request"]


def oauth(name: str = "partner") -> Connection:
    return Connection(name=name, backend="remote", base_url=BASE, oauth=OAuthCredentials("cid", "csecret-9f2e"))


async def test_a_401_gets_one_fresh_token_and_one_resend(catalogue):
    upstream = Upstream(answer=lambda token, n: 200 if token == "tok2" else 401)
    outcome, events = await call(upstream, catalogue, oauth())
    assert outcome.ok and outcome.data == {"data": [{"code": "PRT"}]}
    assert upstream.granted == ["tok1", "tok2"] and upstream.seen == ["tok1", "tok2"]
    assert outcome.attempts == 2  # each leg counts, as each took its own budget slot
    assert events == [("request", 401, None), ("retry", 401, "token refresh"), ("request", 200, None)]


async def test_a_second_401_is_the_answer_not_another_refresh(catalogue):
    upstream = Upstream(answer=lambda token, n: 401)
    outcome, _ = await call(upstream, catalogue, oauth())
    assert outcome.error is not None and outcome.error.kind == "unauthorized" and outcome.status == 401
    assert "tell the operator" in outcome.error.message
    assert upstream.granted == ["tok1", "tok2"] and outcome.attempts == 2


async def test_one_refresh_per_request_even_across_its_retries(catalogue):
    statuses = {1: 401, 2: 503, 3: 401}
    upstream = Upstream(answer=lambda token, n: statuses.get(n, 200))
    outcome, events = await call(upstream, catalogue, oauth())
    assert outcome.status == 401 and outcome.attempts == 3
    assert upstream.granted == ["tok1", "tok2"]
    assert [e for e in events if e[0] == "retry"] == [("retry", 401, "token refresh"), ("retry", None, "503")]


async def test_static_tokens_are_never_refreshed(catalogue):
    upstream = Upstream(answer=lambda token, n: 401)
    static = Connection(name="acme", backend="remote", base_url=BASE, token="ra_test_static_0001")
    outcome, _ = await call(upstream, catalogue, static)
    assert outcome.error is not None and outcome.error.kind == "unauthorized" and outcome.attempts == 1
    assert upstream.granted == [] and upstream.seen == ["ra_test_static_0001"]
    assert "ra_test_static_0001" not in outcome.error.message


async def test_refused_credentials_during_the_refresh_are_reported_to_the_operator(catalogue):
    upstream = Upstream(answer=lambda token, n: 401, refuse_grant_after=1)
    outcome, _ = await call(upstream, catalogue, oauth())
    assert outcome.error is not None and outcome.error.kind == "unauthorized" and outcome.attempts == 2
    assert outcome.error.message == (
        "ops-mcp could not obtain a token for Remote (partner): the token endpoint refused the client "
        "credentials (invalid_client). Tell the operator the OAuth client credentials need fixing."
    )
    assert upstream.seen == ["tok1"]  # nothing was sent without a token
    assert "csecret-9f2e" not in repr(outcome)


async def test_a_call_its_connection_can_never_serve_does_not_wait_for_the_budget(catalogue):
    """A company-level operation on a partner-level connection is refused at once, even when the tenant's
    budget is spent: it would wait a whole window for a slot only to send nothing."""
    vt, upstream = VirtualTime(), Upstream(answer=lambda token, n: 200)
    partner = Connection(name="partner", backend="remote", base_url=BASE, per_minute=1,
                         oauth=OAuthCredentials("cid", "csecret-9f2e"))
    client = UpstreamClient({}, catalogue=catalogue, transport=httpx.ASGITransport(upstream.app()), clock=vt.time,
                            sleep=vt.sleep, rng=random.Random(2))
    async with client:
        spent = await client.call(partner, catalogue["remote"].endpoint("remote_list_countries"), {})
        waited_before = list(vt.sleeps)
        refused = await client.call(partner, catalogue["remote"].endpoint("remote_list_employments"), {})
    assert spent.ok and upstream.seen == ["tok1"]  # the one request of this minute's budget
    assert refused.error is not None and "partner-level (no company_id)" in refused.error.message
    assert vt.sleeps == waited_before  # no wait for the next minute's slot
