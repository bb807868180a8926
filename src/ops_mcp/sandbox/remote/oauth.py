"""Partner OAuth 2.0: the authorize endpoint with its consent step, and the token endpoint.

- `GET /auth/oauth2/authorize?client_id&redirect_uri&state&scope&response_type=code` shows the
  consent page: the sandbox company admin picks one of the companies and approves (or denies).
  The page posts back to the same URL; tests approve without a browser by POSTing the same form
  fields (`client_id`, `redirect_uri`, `state`, `scope`, `response_type`, `company_id`,
  `decision=approve|deny`). Approval redirects (302) to `redirect_uri?code=…&state=…`; denial to
  `redirect_uri?error=access_denied&state=…`. A redirect URI that is neither registered for the
  client nor a loopback http URI (RFC 8252 §7.3) is refused with 400 and never redirected to.
- `POST /auth/oauth2/token` grants (client auth by HTTP Basic or body fields; form or JSON body):
  `client_credentials` (client_id + grant_type only: a partner-level token, no refresh token);
  `authorization_code` (code + redirect_uri; the code lives `authorization_code_ttl_seconds` on
  the sandbox clock and is single use — a replay is refused and revokes what the code issued);
  `refresh_token` (only by the client it was issued to; rotated by default, see settings).
  Company-scoped responses carry `company_id` and `user_id` (authorization code) as Remote does.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from ops_mcp.sandbox.remote.auth import PARTNERS, PartnerClient
from ops_mcp.sandbox.remote.store import AuthorizationCode, IssuedToken, RemoteState

_NO_STORE = {"cache-control": "no-store"}
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")


def _oauth_error(code: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": code, "error_description": description}, status_code=status, headers=_NO_STORE)


async def _form_params(request: Request) -> dict[str, Any] | None:
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


def _requested_scopes(partner: PartnerClient, requested: Any) -> frozenset[str] | None:
    """The scopes a grant gets; None if the request asks for more than the client holds.

    URL-style consent scopes (`https://gateway.remote.com/company.manage`) stand for everything
    the client holds; `resource:action` scopes narrow it.
    """
    if not requested:
        return partner.scopes
    words = frozenset(str(requested).replace(",", " ").split())
    narrow = frozenset(w for w in words if not w.startswith("https://"))
    if not narrow:
        return partner.scopes
    return narrow if narrow <= partner.scopes else None


# --- token endpoint ------------------------------------------------------------------------------

def _new_access(state: RemoteState, client_id: str, scopes: frozenset[str], company_id: str | None,
                user_id: str | None, code: str | None) -> tuple[str, int]:
    ttl = state.settings.token_ttl_seconds
    access = "ra_test_oauth_" + secrets.token_hex(16)
    state.access_tokens[access] = IssuedToken(client_id, scopes, company_id, state.settings.clock.time() + ttl,
                                              user_id, code)
    state.counters["oauth_tokens_issued"] += 1
    return access, ttl


def _new_refresh(state: RemoteState, client_id: str, scopes: frozenset[str], company_id: str | None,
                 user_id: str | None, code: str | None) -> str:
    refresh = "ra_test_refresh_" + secrets.token_hex(16)
    state.refresh_tokens[refresh] = IssuedToken(client_id, scopes, company_id, None, user_id, code)
    return refresh


def company_token_body(state: RemoteState, client_id: str, scopes: frozenset[str], company_id: str,
                       user_id: str | None, code: str | None = None) -> dict[str, Any]:
    """Access + refresh token for one company (authorization code, or company creation with tokens)."""
    access, ttl = _new_access(state, client_id, scopes, company_id, user_id, code)
    return {"access_token": access, "token_type": "Bearer", "expires_in": ttl, "scope": " ".join(sorted(scopes)),
            "refresh_token": _new_refresh(state, client_id, scopes, company_id, user_id, code),
            "company_id": company_id, "user_id": user_id}


def _client_credentials(state: RemoteState, partner: PartnerClient, params: dict[str, Any]) -> JSONResponse:
    unknown = sorted(set(params) - {"grant_type", "client_id", "client_secret", "scope"})
    if unknown:
        # Remote's client-credentials grant takes client_id and grant_type only (plus client auth).
        return _oauth_error("invalid_request", f"Unexpected parameter(s) for client_credentials: {', '.join(unknown)}.")
    scopes = _requested_scopes(partner, params.get("scope"))
    if scopes is None:
        return _oauth_error("invalid_scope", "The requested scope exceeds the scopes granted to the client.")
    access, ttl = _new_access(state, partner.client_id, scopes, None, None, None)
    return JSONResponse({"access_token": access, "token_type": "Bearer", "expires_in": ttl,
                         "scope": " ".join(sorted(scopes))}, headers=_NO_STORE)


def _revoke_code(state: RemoteState, code: str) -> None:
    for table in (state.access_tokens, state.refresh_tokens):
        for token in [t for t, issued in table.items() if issued.code == code]:
            del table[token]


def _authorization_code(state: RemoteState, partner: PartnerClient, params: dict[str, Any]) -> JSONResponse:
    code = params.get("code")
    if not code:
        return _oauth_error("invalid_request", "code is required.")
    if code in state.used_codes:
        _revoke_code(state, code)
        return _oauth_error("invalid_grant", "The authorization code was already used; its tokens are revoked.")
    grant = state.authorization_codes.pop(code, None)
    if grant is None or grant.client_id != partner.client_id:
        if grant is not None:  # another client's code: it stays usable by its own client
            state.authorization_codes[code] = grant
        return _oauth_error("invalid_grant", "The authorization code is invalid or was issued to another client.")
    state.used_codes.add(code)
    if state.settings.clock.time() >= grant.expires_at:
        return _oauth_error("invalid_grant", "The authorization code has expired (codes live 5 minutes).")
    if params.get("redirect_uri", grant.redirect_uri) != grant.redirect_uri:
        return _oauth_error("invalid_grant", "redirect_uri does not match the one of the authorization request.")
    body = company_token_body(state, partner.client_id, grant.scopes, grant.company_id, grant.user_id, code)
    return JSONResponse(body, headers=_NO_STORE)


def _refresh(state: RemoteState, partner: PartnerClient, params: dict[str, Any]) -> JSONResponse:
    token = params.get("refresh_token")
    if not token:
        return _oauth_error("invalid_request", "refresh_token is required.")
    issued = state.refresh_tokens.get(token)
    now = state.settings.clock.time()
    if issued is None or issued.client_id != partner.client_id or \
            (issued.expires_at is not None and now >= issued.expires_at):
        return _oauth_error("invalid_grant", "The refresh token is invalid, expired or was issued to another client.")
    access, ttl = _new_access(state, partner.client_id, issued.scopes, issued.company_id, issued.user_id, issued.code)
    body: dict[str, Any] = {"access_token": access, "token_type": "Bearer", "expires_in": ttl,
                            "scope": " ".join(sorted(issued.scopes)), "refresh_token": token}
    if state.settings.refresh_token_rotation:
        body["refresh_token"] = _new_refresh(state, partner.client_id, issued.scopes, issued.company_id,
                                             issued.user_id, issued.code)
        if issued.expires_at is None:  # the first rotation starts the old token's grace period
            issued.expires_at = now + state.settings.refresh_token_grace_seconds
    return JSONResponse(body, headers=_NO_STORE)


async def oauth_token(request: Request) -> JSONResponse:
    state: RemoteState = request.app.state.sandbox
    params = await _form_params(request)
    if params is None:
        return _oauth_error("invalid_request", "The request body could not be parsed.")
    grant = params.get("grant_type")
    if not grant:
        return _oauth_error("invalid_request", "grant_type is required.")
    handlers = {"client_credentials": _client_credentials, "authorization_code": _authorization_code,
                "refresh_token": _refresh}
    if grant not in handlers:
        return _oauth_error("unsupported_grant_type", f"Grant type {grant!r} is not supported by the sandbox.")
    client_id, secret = _client_from(request, params)
    partner = PARTNERS.get(client_id or "")
    if partner is None or not secrets.compare_digest(partner.secret, secret or ""):
        return _oauth_error("invalid_client", "Client authentication failed.", 401)
    return handlers[grant](state, partner, params)


# --- authorize endpoint and consent -------------------------------------------------------------------

def redirect_allowed(partner: PartnerClient, redirect_uri: str) -> bool:
    if redirect_uri in partner.redirect_uris:
        return True
    parsed = urlparse(redirect_uri)
    return parsed.scheme == "http" and parsed.hostname in _LOOPBACK_HOSTS and not parsed.fragment


def _with_query(uri: str, values: dict[str, str | None]) -> str:
    joiner = "&" if urlparse(uri).query else "?"
    return uri + joiner + urlencode({k: v for k, v in values.items() if v is not None})


def _authorize_request(state: RemoteState, params: dict[str, Any]) -> tuple[PartnerClient, str] | Response:
    """The client and redirect URI of an authorize request, or the 400 page refusing it."""
    partner = PARTNERS.get(str(params.get("client_id") or ""))
    redirect_uri = str(params.get("redirect_uri") or "")
    if partner is None:
        return _consent_error("Unknown client_id.")
    if not redirect_uri or not redirect_allowed(partner, redirect_uri):
        return _consent_error("redirect_uri is not registered for this client.")
    return partner, redirect_uri


def _consent_error(message: str) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><title>Authorization error</title><h1>Authorization error</h1>"
                        f"<p>{html.escape(message)}</p>", status_code=400)


def _consent_page(state: RemoteState, partner: PartnerClient, params: dict[str, Any]) -> HTMLResponse:
    companies = sorted(state.data["companies"].values(), key=lambda c: c["name"])
    options = "".join(f'<option value="{html.escape(c["id"])}">{html.escape(c["name"])}</option>' for c in companies)
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(str(params.get(name) or ""))}">'
        for name in ("client_id", "redirect_uri", "state", "scope", "response_type"))
    scope = html.escape(str(params.get("scope") or "all scopes the partner holds"))
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Authorize partner</title></head><body>"
        f"<h1>{html.escape(partner.name)} wants to access your Remote company</h1>"
        f"<p>Requested access: {scope}</p>"
        "<p>Signed in as the sandbox company administrator.</p>"
        f"<form method='post'>{hidden}"
        f"<label>Company <select name='company_id'>{options}</select></label> "
        "<button type='submit' name='decision' value='approve'>Approve</button> "
        "<button type='submit' name='decision' value='deny'>Deny</button>"
        "</form></body></html>")
    return HTMLResponse(page, headers={"cache-control": "no-store", "x-frame-options": "DENY"})


async def authorize(request: Request) -> Response:
    state: RemoteState = request.app.state.sandbox
    if request.method == "GET":
        params: dict[str, Any] = dict(request.query_params)
    else:
        params = await _form_params(request) or {}
    checked = _authorize_request(state, params)
    if isinstance(checked, Response):
        return checked
    partner, redirect_uri = checked
    client_state = params.get("state") or None
    if params.get("response_type") != "code":
        return RedirectResponse(_with_query(redirect_uri, {"error": "unsupported_response_type",
                                                           "state": client_state}), status_code=302)
    scopes = _requested_scopes(partner, params.get("scope"))
    if scopes is None:
        return RedirectResponse(_with_query(redirect_uri, {"error": "invalid_scope", "state": client_state}),
                                status_code=302)
    if request.method == "GET":
        return _consent_page(state, partner, params)
    if params.get("decision") != "approve":
        return RedirectResponse(_with_query(redirect_uri, {"error": "access_denied", "state": client_state}),
                                status_code=302)
    company = state.data["companies"].get(str(params.get("company_id") or ""))
    if company is None:
        return _consent_error("Pick one of your companies.")
    # Consent authorises the partner for this company (listed by GET /v1/companies from now on).
    if partner.client_id not in company.setdefault("_partners", []):
        company["_partners"].append(partner.client_id)
    code = secrets.token_urlsafe(24)
    state.authorization_codes[code] = AuthorizationCode(
        partner.client_id, redirect_uri, company["id"], company["company_owner_user_id"], scopes,
        state.settings.clock.time() + state.settings.authorization_code_ttl_seconds)
    state.counters["authorization_codes_issued"] += 1
    return RedirectResponse(_with_query(redirect_uri, {"code": code, "state": client_state}), status_code=302)
