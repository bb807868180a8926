"""Who is calling: bearer tokens, the kind of token each one is, and scopes.

Model (Remote's, as `remote_api.md` §2 and Remote's auth guides describe it):

- Customer API tokens (`ra_test_…`) belong to one company (acting as its owner) and hold every
  scope. `ra_live_…` tokens are production tokens: this is the sandbox gateway, so they get 401
  like any unknown one.
- Partner tokens come from `POST /auth/oauth2/token` (see `oauth.py`): a `client_credentials`
  token is partner-level (no company; it reaches partner operations such as listing and creating
  companies); an `authorization_code` token, and every token refreshed from it, is bound to the
  one company whose admin consented.
- Each operation declares the kind of token it needs (`company`, `client_credentials` or `any`,
  as `x-token-kind` in the OpenAPI document). A token of the wrong kind gets 403
  `{"message": "Forbidden"}` — Remote does not publish the exact body; its spec documents
  ForbiddenResponse `{message}` for both directions (e.g. on GET /v1/employments, a company
  operation, and on POST /v1/companies, a client-credentials one), and its auth guide says a 403
  means the token cannot reach the endpoint.
- `x:write` implies `x:read`; a missing scope is 403 `{"message": "Forbidden"}` too.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from ops_mcp.sandbox.remote.credentials import SANDBOX_CREDENTIALS
from ops_mcp.sandbox.remote.errors import forbidden, unauthorized
from ops_mcp.sandbox.remote.store import RemoteState

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
    "company_currencies:read", "company_department:read", "company_department:write", "company_structure:read",
    "offboarding:read", "offboarding:write", "resignation:read", "resignation:write", "resignation_letter:read",
    "expense:read", "expense:write", "payslip:read", "payroll_run:read", "incentive:read", "incentive:write",
    "probation_document:read", "probation_document:write", "onboarding:write", "document:read", "document:write",
    "custom_field:read", "custom_field:write", "custom_field_value:read", "custom_field_value:write",
    "work_authorization:read", "work_authorization:write", "travel_letter:read", "travel_letter:write",
})
READ_SCOPES = frozenset(s for s in ALL_SCOPES if s.endswith(":read"))

COMPANY = "company"
CLIENT_CREDENTIALS = "client_credentials"
ANY = "any"
TOKEN_KINDS = (COMPANY, CLIENT_CREDENTIALS, ANY)


@dataclass(frozen=True)
class PartnerClient:
    client_id: str
    secret: str
    scopes: frozenset[str]
    name: str = "Sandbox partner"
    # Registered redirect URIs; loopback http URIs on any port are accepted too (RFC 8252 §7.3).
    redirect_uris: tuple[str, ...] = ("https://partner.example/oauth/callback",)


# Both seeded companies authorised both partners (recorded as `_partners` on each company; a
# company a partner creates, or whose admin consents, is authorised for that partner).
PARTNERS = {
    SANDBOX_CREDENTIALS["partner_client_id"]: PartnerClient(
        SANDBOX_CREDENTIALS["partner_client_id"], SANDBOX_CREDENTIALS["partner_client_secret"], ALL_SCOPES,
        "Sandbox HR Partner"),
    # Read-only partner: lacks every write scope (timeoff:write, employment:write, ...).
    SANDBOX_CREDENTIALS["limited_partner_client_id"]: PartnerClient(
        SANDBOX_CREDENTIALS["limited_partner_client_id"], SANDBOX_CREDENTIALS["limited_partner_client_secret"],
        READ_SCOPES, "Sandbox Reporting Partner"),
}


def authorised_companies(state: RemoteState, client_id: str) -> tuple[str, ...]:
    return tuple(c["id"] for c in state.data["companies"].values() if client_id in c.get("_partners", ()))


@dataclass(frozen=True)
class Principal:
    """Who is calling: the kind of token, its company (company tokens), scopes, rate-limit bucket."""

    kind: str  # COMPANY or CLIENT_CREDENTIALS
    company_ids: tuple[str, ...]  # company tokens: exactly one; client credentials: the authorising ones
    scopes: frozenset[str]
    rate_key: str
    client_id: str | None = None
    user_id: str | None = None

    def allows(self, scope: str | None) -> bool:
        if scope is None:
            return True
        return scope in self.scopes or (scope.endswith(":read") and scope[:-5] + ":write" in self.scopes)

    def require(self, scope: str | None, token_kind: str) -> None:
        if token_kind != ANY and token_kind != self.kind:
            raise forbidden()
        if not self.allows(scope):
            raise forbidden()

    @property
    def company_id(self) -> str | None:
        """The company a company token acts for (None for client-credentials tokens)."""
        return self.company_ids[0] if self.kind == COMPANY else None


def principal_for(request: Request, state: RemoteState) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise unauthorized()
    token = token.strip()
    slug = CUSTOMER_TOKENS.get(token)
    if slug is not None:
        company = state.company_by_slug(slug)
        return Principal(COMPANY, (company["id"],), ALL_SCOPES, f"company:{company['id']}",
                         user_id=company["company_owner_user_id"])
    issued = state.access_tokens.get(token)
    if issued is None or (issued.expires_at is not None and state.settings.clock.time() >= issued.expires_at):
        raise unauthorized()
    if issued.company_id is not None:
        return Principal(COMPANY, (issued.company_id,), issued.scopes, f"company:{issued.company_id}",
                         issued.client_id, issued.user_id)
    company_ids = authorised_companies(state, issued.client_id)
    return Principal(CLIENT_CREDENTIALS, company_ids, issued.scopes, f"client:{issued.client_id}", issued.client_id)
