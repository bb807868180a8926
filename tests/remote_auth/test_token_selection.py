"""Which token each operation gets, against the Remote emulator over in-process HTTP.

A partner connection bound to a company uses that company's token (refresh-token grant, rotated token
stored) for company and reference operations and is refused partner-level ones; a partner-level
connection uses the client-credentials token and is refused company operations; a refused or missing
refresh token is an actionable error and never falls back to the client-credentials token.
"""

from __future__ import annotations

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ops_mcp.authorization.flow import ConnectError
from ops_mcp.sandbox.remote import RemoteSandboxSettings
from ops_mcp.sandbox.remote.credentials import SANDBOX_CREDENTIALS
from ops_mcp.tenants import Tenant
from ops_mcp.upstream import Connection, OAuthCredentials, UpstreamClient
from ops_mcp.upstream.grants import StoredGrant
from tests.support.partner import PARTNER_ID, PARTNER_SECRET, connect_company
from tests.upstream.conftest import REMOTE_BASE, make_client, remote_sandbox

pytestmark = pytest.mark.anyio
OAUTH = OAuthCredentials(PARTNER_ID, PARTNER_SECRET)


def company_id(sandbox, slug: str) -> str:
    return sandbox.remote.company_by_slug(slug)["id"]


def partner_for(sandbox, slug: str, name: str | None = None) -> Connection:
    return Connection(name=name or slug, backend="remote", base_url=REMOTE_BASE, oauth=OAUTH,
                      company_id=company_id(sandbox, slug), label=slug.title())


def tenant(connection: Connection) -> Tenant:
    return Tenant("remote", connection.name, connection.display_name, False, connection)


async def connected(sandbox, grants, slug: str = "acme") -> Connection:
    connection = partner_for(sandbox, slug)
    async with httpx.AsyncClient(transport=sandbox.transport) as http:
        await connect_company(tenant(connection), grants, http)
    return connection


def token_posts(sandbox) -> int:
    return sum(1 for method, path, *_ in sandbox.remote.requests if path.endswith("/auth/oauth2/token"))


def partner_tokens_issued(sandbox) -> int:
    """Client-credentials (partner-level) tokens the emulator ever issued."""
    return sum(1 for issued in sandbox.remote.access_tokens.values() if issued.company_id is None)


def ids_of(data: dict, key: str) -> set[str]:
    return {item["id"] for item in data[key]}


async def test_company_operations_use_the_company_token_and_store_the_rotated_refresh_token(catalogue, grants):
    sandbox = remote_sandbox()
    acme = await connected(sandbox, grants)
    first = grants.get("remote", "acme")
    assert first.company_id == acme.company_id
    remote = catalogue["remote"]
    async with make_client(sandbox, catalogue, grants=grants) as client:
        listed = await client.call(acme, remote.endpoint("remote_list_employments"), {"page_size": 100})
        countries = await client.call(acme, remote.endpoint("remote_list_countries"), {})
    assert listed.ok and countries.ok, (listed.error, countries.error)
    state = sandbox.remote
    acme_ids = {e["id"] for e in state.data["employments"].values() if e["_company_id"] == acme.company_id}
    assert ids_of(listed.data, "employments") <= acme_ids and len(listed.data["employments"]) > 5
    assert partner_tokens_issued(sandbox) == 0  # reference data too went with the company token
    rotated = grants.get("remote", "acme")
    assert rotated.refresh_token != first.refresh_token and rotated.company_id == acme.company_id
    assert state.refresh_tokens[rotated.refresh_token].company_id == acme.company_id


async def test_partner_level_operations_are_refused_on_a_company_connection_before_anything_is_sent(
        catalogue, grants):
    sandbox = remote_sandbox()
    acme = await connected(sandbox, grants)
    customer = Connection(name="acme_token", backend="remote", base_url=REMOTE_BASE,
                          token=SANDBOX_CREDENTIALS["acme"])
    before = len(sandbox.remote.requests)
    async with make_client(sandbox, catalogue, grants=grants) as client:
        for connection in (acme, customer):
            outcome = await client.call(connection, catalogue["remote"].endpoint("remote_list_companies"), {})
            assert not outcome.ok and outcome.error.kind == "forbidden"
            assert "partner-level operation" in outcome.error.message
            assert f"connection {connection.name} is bound to one company" in outcome.error.message
    assert len(sandbox.remote.requests) == before and partner_tokens_issued(sandbox) == 0


async def test_a_partner_level_connection_uses_client_credentials_and_refuses_company_operations(catalogue):
    sandbox = remote_sandbox()
    partner = Connection(name="partner", backend="remote", base_url=REMOTE_BASE, oauth=OAUTH)
    remote = catalogue["remote"]
    async with make_client(sandbox, catalogue) as client:
        companies = await client.call(partner, remote.endpoint("remote_list_companies"), {})
        countries = await client.call(partner, remote.endpoint("remote_list_countries"), {})
        before = len(sandbox.remote.requests)
        refused = await client.call(partner, remote.endpoint("remote_list_employments"), {})
    assert companies.ok and countries.ok and partner_tokens_issued(sandbox) == 1
    assert {c["name"] for c in companies.data["companies"]} >= {"Acme GmbH", "Globex Ltd"}
    assert not refused.ok and refused.error.kind == "forbidden" and len(sandbox.remote.requests) == before
    assert "partner-level (no company_id)" in refused.error.message
    assert "`ops-mcp connect remote --connection partner`" in refused.error.message


async def test_a_refused_refresh_token_is_an_actionable_error_never_a_broader_token(catalogue, grants):
    sandbox = remote_sandbox(RemoteSandboxSettings(token_ttl_seconds=600, refresh_token_grace_seconds=0))
    acme = await connected(sandbox, grants)
    endpoint = catalogue["remote"].endpoint("remote_list_employments")
    async with make_client(sandbox, catalogue, grants=grants) as client:
        assert (await client.call(acme, endpoint, {})).ok
        # The company admin revokes the partner's access: the cached access token gets a 401, the
        # refresh that follows is refused.
        sandbox.remote.refresh_tokens.clear()
        sandbox.remote.access_tokens.clear()
        outcome = await client.call(acme, endpoint, {})
        sandbox.time.advance(600)  # and once the cached token is due anyway, the same
        again = await client.call(acme, endpoint, {})
    assert outcome.attempts == 2 and [r[2] for r in sandbox.remote.requests[-3:]] == [401, 400, 400]
    for failed in (outcome, again):
        assert not failed.ok and failed.error.kind == "unauthorized"
        assert failed.error.message == (
            "ops-mcp could not obtain a token for Remote (Acme): the stored refresh token was refused "
            "(invalid_grant). Tell the operator to run `ops-mcp connect remote --connection acme`.")
    assert partner_tokens_issued(sandbox) == 0


async def test_without_a_stored_grant_the_connection_says_to_connect(catalogue, grants):
    sandbox = remote_sandbox()
    globex = partner_for(sandbox, "globex")
    async with make_client(sandbox, catalogue, grants=grants) as client:
        outcome = await client.call(globex, catalogue["remote"].endpoint("remote_list_employments"), {})
    async with make_client(sandbox, catalogue) as client:  # a client built without any grant store
        none = await client.call(globex, catalogue["remote"].endpoint("remote_list_countries"), {})
    for failed in (outcome, none):
        assert not failed.ok and failed.error.kind == "unauthorized"
        assert "no company authorization is stored" in failed.error.message
        assert "`ops-mcp connect remote --connection globex`" in failed.error.message
    assert token_posts(sandbox) == 0 and partner_tokens_issued(sandbox) == 0


async def test_a_grant_stored_for_another_company_is_never_used(catalogue, grants):
    sandbox = remote_sandbox()
    acme = await connected(sandbox, grants)
    grants.put("remote", "globex", StoredGrant(acme.company_id, grants.get("remote", "acme").refresh_token))
    globex = partner_for(sandbox, "globex")
    async with make_client(sandbox, catalogue, grants=grants) as client:
        outcome = await client.call(globex, catalogue["remote"].endpoint("remote_list_employments"), {})
    assert not outcome.ok and "is for company " + acme.company_id in outcome.error.message
    assert token_posts(sandbox) == 1  # the code exchange only


async def test_a_consent_for_another_company_is_refused_and_nothing_is_stored(grants):
    sandbox = remote_sandbox()
    acme = partner_for(sandbox, "acme")
    async with httpx.AsyncClient(transport=sandbox.transport) as http:
        with pytest.raises(ConnectError) as exc:
            await connect_company(tenant(acme), grants, http, approve_for=company_id(sandbox, "globex"))
    assert f"consent was given for company {company_id(sandbox, 'globex')}" in str(exc.value)
    assert "nothing was stored" in str(exc.value) and grants.get("remote", "acme") is None


async def test_twenty_concurrent_calls_share_one_refresh(catalogue, grants):
    sandbox = remote_sandbox()
    acme = await connected(sandbox, grants)
    endpoint = catalogue["remote"].endpoint("remote_list_timeoff")
    results = []
    async with make_client(sandbox, catalogue, grants=grants) as client:
        async def one() -> None:
            results.append(await client.call(acme, endpoint, {"page_size": 5}))

        async with anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(one)
    assert len(results) == 20 and all(r.ok for r in results)
    assert token_posts(sandbox) == 2  # the code exchange, then exactly one refresh


class _StaleFirst:
    """A grant store as another process leaves it: the first read is from before its rotation."""

    def __init__(self, inner, stale: str) -> None:
        self.inner, self.stale, self.reads = inner, stale, 0

    def get(self, backend, connection):
        self.reads += 1
        grant = self.inner.get(backend, connection)
        return StoredGrant(grant.company_id, self.stale) if self.reads == 1 else grant

    def put(self, backend, connection, grant):
        self.inner.put(backend, connection, grant)


async def test_a_token_rotated_by_another_process_is_picked_up(catalogue, grants):
    sandbox = remote_sandbox(RemoteSandboxSettings(refresh_token_grace_seconds=0))
    acme = await connected(sandbox, grants)
    stale = grants.get("remote", "acme").refresh_token
    async with make_client(sandbox, catalogue, grants=grants) as other_process:
        assert (await other_process.call(acme, catalogue["remote"].endpoint("remote_list_countries"), {})).ok
    sandbox.time.advance(1)  # past the (zero) grace: the stale token is refused now
    store = _StaleFirst(grants, stale)
    async with make_client(sandbox, catalogue, grants=store) as client:
        outcome = await client.call(acme, catalogue["remote"].endpoint("remote_list_employments"), {})
    assert outcome.ok and store.reads == 2


async def test_a_refresh_answer_naming_another_company_is_refused(catalogue, grants):
    async def token(request: Request) -> JSONResponse:
        return JSONResponse({"access_token": "tok", "expires_in": 3600, "refresh_token": "r2", "company_id": "other"})

    upstream = Starlette(routes=[Route("/auth/oauth2/token", token, methods=["POST"])])
    acme = Connection(name="acme", backend="remote", base_url="http://upstream", oauth=OAUTH, company_id="mine")
    grants.put("remote", "acme", StoredGrant("mine", "r1"))
    client = UpstreamClient({}, catalogue=catalogue, transport=httpx.ASGITransport(upstream), grants=grants)
    async with client:
        outcome = await client.call(acme, catalogue["remote"].endpoint("remote_list_countries"), {})
    assert not outcome.ok and "answered for company other, not the configured company mine" in outcome.error.message
    assert grants.get("remote", "acme").refresh_token == "r1"
