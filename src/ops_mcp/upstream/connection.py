"""Where a call goes: one tenant of one back end, with its credentials and budget.

Secrets are excluded from ``repr`` so a connection can be logged or put in an error safely.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class OAuthCredentials:
    """OAuth 2.0 client credentials (client auth by HTTP Basic, as Remote's token endpoint wants)."""

    client_id: str
    client_secret: str = field(repr=False)
    token_path: str = "/auth/oauth2/token"
    scope: str | None = None
    # A refresh token obtained out of band (e.g. an authorization-code grant); when present it is
    # used first, and whatever refresh token the server returns replaces it.
    refresh_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Connection:
    """One tenant of one back end."""

    name: str
    backend: str
    base_url: str
    token: str | None = field(default=None, repr=False)
    oauth: OAuthCredentials | None = None
    # Rate-limit budget: Remote limits per company across all its tokens, so two connections of the
    # same company must share a key; default is one budget per connection.
    budget_key: str | None = None
    per_minute: int | None = None  # override of the profile's limit
    label: str | None = None  # human name, e.g. "Acme GmbH"
    timeout: float = 30.0

    def __post_init__(self) -> None:
        # Fail at start-up, not on the first call. With both, the static token is used.
        if self.token is None and self.oauth is None:
            raise ValueError(f"connection {self.name!r}: give a token or oauth credentials")
        if self.timeout <= 0:
            raise ValueError(f"connection {self.name!r}: timeout must be positive")

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
            values += [self.oauth.client_secret, self.oauth.refresh_token]
        return [v for v in values if v]
