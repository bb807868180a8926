"""Where a call goes: one tenant of one back end, with its credentials and budget.

A connection is either **bound to one company** — it holds a customer API token (``token``), or it is
a partner connection naming its ``company_id``, whose refresh token ``ops-mcp connect`` stored — or it
is **partner-level** (``oauth`` without a company: the partner's client-credentials token, which
reaches every company that authorised the partner). ``tokens.py`` decides from this which token an
operation gets, and refuses what a connection must not do.

Secrets are excluded from ``repr`` so a connection can be logged or put in an error safely.
"""

from __future__ import annotations

from ..records import Frozen, set_fields


class OAuthCredentials(Frozen):
    """OAuth 2.0 client credentials (client auth by HTTP Basic, as Remote's token endpoint wants)."""

    __slots__ = ("client_id", "client_secret", "token_path", "scope", "authorize_path")
    _unshown = frozenset({"client_secret"})
    client_id: str
    client_secret: str
    token_path: str
    scope: str | None
    authorize_path: str  # where a company admin consents (authorization code)

    def __init__(self, client_id: str, client_secret: str, token_path: str = "/auth/oauth2/token",
                 scope: str | None = None, authorize_path: str = "/auth/oauth2/authorize") -> None:
        set_fields(self, client_id=client_id, client_secret=client_secret, token_path=token_path, scope=scope,
                   authorize_path=authorize_path)


class Connection(Frozen):
    """One tenant of one back end."""

    __slots__ = ("name", "backend", "base_url", "token", "oauth", "budget_key", "per_minute", "label",
                 "timeout", "company_id")
    _unshown = frozenset({"token"})
    name: str
    backend: str
    base_url: str
    token: str | None
    oauth: OAuthCredentials | None
    # Rate-limit budget: Remote limits per company across all its tokens, so two connections of the
    # same company must share a key; default is one budget per connection.
    budget_key: str | None
    per_minute: int | None  # override of the profile's limit
    label: str | None  # human name, e.g. "Acme GmbH"
    timeout: float
    # The company a partner connection acts for (its refresh token lives in the grant store).
    company_id: str | None

    def __init__(
        self, name: str, backend: str, base_url: str, token: str | None = None,
        oauth: OAuthCredentials | None = None, budget_key: str | None = None, per_minute: int | None = None,
        label: str | None = None, timeout: float = 30.0, company_id: str | None = None,
    ) -> None:
        # Fail at start-up, not on the first call. With both, the static token is used.
        if token is None and oauth is None:
            raise ValueError(f"connection {name!r}: give a token or oauth credentials")
        if timeout <= 0:
            raise ValueError(f"connection {name!r}: timeout must be positive")
        if company_id is not None and token is None and oauth is None:
            raise ValueError(f"connection {name!r}: company_id needs oauth credentials")
        set_fields(self, name=name, backend=backend, base_url=base_url, token=token, oauth=oauth,
                   budget_key=budget_key, per_minute=per_minute, label=label, timeout=timeout,
                   company_id=company_id)

    @property
    def company_bound(self) -> bool:
        """True when every call acts for one company (a customer API token, or a company grant)."""
        return self.token is not None or self.company_id is not None

    @property
    def effective_budget_key(self) -> str:
        return self.budget_key or f"{self.backend}:{self.name}"

    @property
    def display_name(self) -> str:
        return self.label or self.name

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    def secrets(self) -> list[str]:
        """Every configured secret, so error text can be scrubbed of them."""
        values = [self.token]
        if self.oauth is not None:
            values.append(self.oauth.client_secret)
        return [v for v in values if v]
