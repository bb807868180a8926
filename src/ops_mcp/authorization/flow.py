"""The authorization-code flow for one partner connection: the authorize URL, then the code exchange.

``begin`` makes the URL the company admin opens (``client_id``, ``redirect_uri``, ``response_type=code``,
``scope`` when configured, and a fresh unguessable ``state`` bound to this connection). Remote documents
no PKCE for its partner flow (its authorize endpoint takes client_id, redirect_uri, state, scope and
response_type), so ``state`` — checked before any code is used — is the request's binding.

``complete`` exchanges the code (client auth by HTTP Basic), refuses the grant unless the token
response names the configured company (``company_id``, as Remote's code exchange does), and stores
the refresh token in the grant store. Nothing is stored on any failure; messages carry no secret.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from urllib.parse import urlencode

import anyio
import httpx

from ..tenants import Tenant, connection_key
from ..upstream.errors import parse_body, scrub
from ..upstream.grants import GrantStore, StoredGrant

# Where the token response of the code exchange names the company that consented.
COMPANY_FIELD = "company_id"


class ConnectError(Exception):
    """The flow cannot go on; the message says why and what to do (secret-free)."""


@dataclass(frozen=True)
class AuthorizationRequest:
    tenant: Tenant
    redirect_uri: str
    state: str = field(repr=False)
    url: str


@dataclass(frozen=True)
class Connected:
    backend: str
    connection: str
    company_id: str


def callback_path(backend: str) -> str:
    return f"/oauth/callback/{backend}"


def check_connectable(tenant: Tenant) -> None:
    """Only a partner connection bound to a company, on a reachable back end, has a consent to obtain."""
    where = connection_key(tenant.backend, tenant.name)
    conn = tenant.connection
    if conn.oauth is None or conn.company_id is None:
        raise ConnectError(
            f"{where} is not a partner connection for a company: set [{where}.oauth] client_id and client_secret "
            f"and {where}.company_id (the company whose admin will approve)")
    if tenant.embedded:
        raise ConnectError(
            f"{where} uses the embedded sandbox, which lives inside the server process and has no page a browser "
            "can open: run `ops-mcp sandbox` and set base_url to its Remote URL (e.g. http://127.0.0.1:8900/remote)")


def begin(tenant: Tenant, redirect_uri: str) -> AuthorizationRequest:
    check_connectable(tenant)
    conn = tenant.connection
    assert conn.oauth is not None
    state = secrets.token_urlsafe(32)
    query = {"client_id": conn.oauth.client_id, "redirect_uri": redirect_uri, "response_type": "code",
             "state": state}
    if conn.oauth.scope:
        query["scope"] = conn.oauth.scope
    url = conn.url(conn.oauth.authorize_path) + "?" + urlencode(query)
    return AuthorizationRequest(tenant, redirect_uri, state, url)


def states_match(expected: str, given: str | None) -> bool:
    return given is not None and secrets.compare_digest(expected.encode(), given.encode())


async def complete(request: AuthorizationRequest, code: str, grants: GrantStore,
                   http: httpx.AsyncClient | None = None) -> Connected:
    """Exchange ``code``, check the company, store the refresh token; ConnectError on any refusal."""
    tenant = request.tenant
    conn = tenant.connection
    assert conn.oauth is not None and conn.company_id is not None
    where = f"{tenant.backend} ({tenant.name})"
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": request.redirect_uri}
    own = http is None
    http = http or httpx.AsyncClient(timeout=conn.timeout, follow_redirects=False)
    try:
        response = await http.post(conn.url(conn.oauth.token_path), data=form, headers={"accept": "application/json"},
                                   auth=(conn.oauth.client_id, conn.oauth.client_secret))
    except httpx.HTTPError as exc:
        raise ConnectError(f"the token endpoint of {where} could not be reached ({type(exc).__name__}); "
                           "nothing was stored: try again") from None
    finally:
        if own:
            await http.aclose()
    body = parse_body(response.content)
    body = body if isinstance(body, dict) else {}
    if response.status_code != 200 or not body.get("refresh_token"):
        code_word = body.get("error") if isinstance(body.get("error"), str) else None
        said = f" ({scrub(code_word, conn.secrets())})" if code_word else ""
        raise ConnectError(f"the token endpoint of {where} refused the authorization code ({response.status_code}"
                           f"{said}); nothing was stored: run the command again")
    company = body.get(COMPANY_FIELD)
    if company != conn.company_id:
        named = f"company {scrub(str(company), conn.secrets())}" if company else "no company"
        raise ConnectError(
            f"the consent was given for {named}, but {connection_key(tenant.backend, tenant.name)}.company_id is "
            f"{conn.company_id}: nothing was stored. Ask an admin of company {conn.company_id} to approve, "
            "or correct company_id")
    grant = StoredGrant(conn.company_id, str(body["refresh_token"]))
    await anyio.to_thread.run_sync(grants.put, tenant.backend, tenant.name, grant)
    return Connected(tenant.backend, tenant.name, conn.company_id)

