"""Bearer tokens, partner OAuth 2.0 (`POST /auth/oauth2/token`) and scopes.

Model (documented in the OpenAPI description too):

- Customer API tokens (`ra_test_…`) belong to one company and hold every scope. `ra_live_…`
  tokens are production tokens: this is the sandbox gateway, so they get 401 like any unknown one.
- Partners authenticate with client id + secret (HTTP Basic or body; form or JSON body).
  `client_credentials` gives a token spanning every company that authorised the partner (both
  seeded companies; no refresh token, as in OAuth); passing `company_id` in the token request
  instead gives a company-scoped token plus a refresh token, the emulator's stand-in for the
  authorization-code flow. `refresh_token` keeps the
  refresh token's company and scopes (refresh tokens are not rotated). Access tokens expire
  after `token_ttl_seconds` (3600).
- Partner tokens carry the client's scopes (optionally narrowed with `scope`); `x:write` implies
  `x:read`; a missing scope is 403 `{"message": "Forbidden"}`.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse

from ops_mcp.sandbox.remote.credentials import SANDBOX_CREDENTIALS
from ops_mcp.sandbox.remote.errors import forbidden, unauthorized
from ops_mcp.sandbox.remote.store import IssuedToken, RemoteState

# Customer API token -> company slug.
CUSTOMER_TOKENS = {
    SANDBOX_CREDENTIALS["acme"]: "acme",
    SANDBOX_CREDENTIALS["acme_second_token"]: "acme",
    SANDBOX_CREDENTIALS["globex"]: "globex",
}

ALL_SCOPES = frozenset({
    "employment:read", "employment:write", "contract:read", "contract_amendment:read",
    "contract_amendment:write", "timeoff:read", "timeoff:write", "timesheet:read", "timesheet:write",
    "payroll_calendar:read", "company:read", "company:write", "company_manager:read", "company_manager:write",
    "country:read", "form:read", "invoices:read", "invoices:write", "webhook:read", "webhook:write",
})
READ_SCOPES = frozenset(s for s in ALL_SCOPES if s.endswith(":read"))


@dataclass(frozen=True)
class PartnerClient:
    client_id: str
    secret: str
    scopes: frozenset[str]


# Both seeded companies authorised both partners (recorded as `_partners` on each company; a
# company a partner creates is authorised for that partner).
PARTNERS = {
    SANDBOX_CREDENTIALS["partner_client_id"]: PartnerClient(
        SANDBOX_CREDENTIALS["partner_client_id"], SANDBOX_CREDENTIALS["partner_client_secret"], ALL_SCOPES),
    # Read-only partner: lacks every write scope (timeoff:write, employment:write, ...).
    SANDBOX_CREDENTIALS["limited_partner_client_id"]: PartnerClient(
        SANDBOX_CREDENTIALS["limited_partner_client_id"], SANDBOX_CREDENTIALS["limited_partner_client_secret"],
        READ_SCOPES),
}


def authorised_companies(state: RemoteState, client_id: str) -> tuple[str, ...]:
    return tuple(c["id"] for c in state.data["companies"].values() if client_id in c.get("_partners", ()))


@dataclass(frozen=True)
class Principal:
    """Who is calling: the companies it may see, its scopes and its rate-limit bucket."""

    company_ids: tuple[str, ...]
    scopes: frozenset[str]
    rate_key: str
    client_id: str | None = None

    def allows(self, scope: str | None) -> bool:
        if scope is None:
            return True
        return scope in self.scopes or (scope.endswith(":read") and scope[:-5] + ":write" in self.scopes)

    def require(self, scope: str | None) -> None:
        if not self.allows(scope):
            raise forbidden()

    @property
    def single_company(self) -> str | None:
        return self.company_ids[0] if len(self.company_ids) == 1 else None


def principal_for(request: Request, state: RemoteState) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise unauthorized()
    token = token.strip()
    slug = CUSTOMER_TOKENS.get(token)
    if slug is not None:
        company_id = state.company_by_slug(slug)["id"]
        return Principal((company_id,), ALL_SCOPES, f"company:{company_id}")
    issued = state.access_tokens.get(token)
    if issued is None or (issued.expires_at is not None and state.settings.clock.time() >= issued.expires_at):
        raise unauthorized()
    if issued.company_id is not None:
        return Principal((issued.company_id,), issued.scopes, f"company:{issued.company_id}", issued.client_id)
    company_ids = authorised_companies(state, issued.client_id)
    return Principal(company_ids, issued.scopes, f"client:{issued.client_id}", issued.client_id)


# --- OAuth token endpoint ----------------------------------------------------------------------

def _oauth_error(code: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": code, "error_description": description}, status_code=status,
                        headers={"cache-control": "no-store"})


async def _token_params(request: Request) -> dict[str, Any] | None:
    raw = await request.body()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return None
        return body if isinstance(body, dict) else None
    parsed = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[0] for k, v in parsed.items()}


def _client_from(request: Request, params: dict[str, Any]) -> tuple[str | None, str | None]:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic" and value:
        try:
            client_id, _, secret = base64.b64decode(value.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None, None
        return client_id, secret
    return params.get("client_id"), params.get("client_secret")


def issue_company_tokens(state: RemoteState, client_id: str, scopes: frozenset[str], company_id: str) -> dict:
    """Tokens returned by POST /v1/companies?action=get_oauth_access_tokens."""
    body = _token_body(state, client_id, scopes, company_id, None)
    return {k: body[k] for k in ("access_token", "refresh_token", "expires_in")}


def _issue(state: RemoteState, client_id: str, scopes: frozenset[str], company_id: str | None,
           refresh_token: str | None) -> JSONResponse:
    return JSONResponse(_token_body(state, client_id, scopes, company_id, refresh_token),
                        headers={"cache-control": "no-store"})


def _token_body(state: RemoteState, client_id: str, scopes: frozenset[str], company_id: str | None,
                refresh_token: str | None) -> dict[str, Any]:
    """Access token; company-scoped grants (the authorization-code stand-in) also get a refresh token."""
    ttl = state.settings.token_ttl_seconds
    access = "ra_test_oauth_" + secrets.token_hex(16)
    state.access_tokens[access] = IssuedToken(client_id, scopes, company_id, state.settings.clock.time() + ttl)
    state.counters["oauth_tokens_issued"] += 1
    body: dict[str, Any] = {"access_token": access, "token_type": "Bearer", "expires_in": ttl,
                            "scope": " ".join(sorted(scopes))}
    if company_id is not None:
        if refresh_token is None:
            refresh_token = "ra_test_refresh_" + secrets.token_hex(16)
            state.refresh_tokens[refresh_token] = IssuedToken(client_id, scopes, company_id, None)
        body["refresh_token"] = refresh_token
        body["company_id"] = company_id
    return body


async def oauth_token(request: Request) -> JSONResponse:
    state: RemoteState = request.app.state.sandbox
    params = await _token_params(request)
    if params is None:
        return _oauth_error("invalid_request", "The request body could not be parsed.")
    grant = params.get("grant_type")
    if not grant:
        return _oauth_error("invalid_request", "grant_type is required.")
    if grant not in ("client_credentials", "refresh_token"):
        return _oauth_error("unsupported_grant_type", f"Grant type {grant!r} is not supported by the sandbox.")
    client_id, secret = _client_from(request, params)
    partner = PARTNERS.get(client_id or "")
    if partner is None or not secrets.compare_digest(partner.secret, secret or ""):
        return _oauth_error("invalid_client", "Client authentication failed.", 401)

    if grant == "refresh_token":
        token = params.get("refresh_token")
        if not token:
            return _oauth_error("invalid_request", "refresh_token is required.")
        issued = state.refresh_tokens.get(token)
        if issued is None or issued.client_id != partner.client_id:
            return _oauth_error("invalid_grant", "The refresh token is invalid or was issued to another client.")
        return _issue(state, partner.client_id, issued.scopes, issued.company_id, token)

    scopes = partner.scopes
    requested = params.get("scope")
    if requested:
        wanted = frozenset(str(requested).replace(",", " ").split())
        if not wanted <= partner.scopes:
            return _oauth_error("invalid_scope", "The requested scope exceeds the scopes granted to the client.")
        scopes = wanted
    company_id = params.get("company_id")
    if company_id and company_id not in authorised_companies(state, partner.client_id):
        return _oauth_error("invalid_request", "The company has not authorised this client.")
    return _issue(state, partner.client_id, scopes, company_id or None, None)
