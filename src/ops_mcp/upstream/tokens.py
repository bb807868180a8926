"""Credentials → a bearer token, with OAuth client-credentials tokens cached and refreshed.

One token per connection, refreshed shortly before it expires (60 s or 10 % of its lifetime,
whichever is shorter). Under concurrency exactly one task refreshes while the others wait for its
result (a lock per connection, checked again once held). Tokens are never logged or returned in
results; ``auth.py`` puts them on requests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio
import httpx

from .connection import Connection
from .errors import parse_body


class AuthError(Exception):
    """The token endpoint refused us or could not be reached (message is secret-free)."""

    def __init__(self, message: str, status: int | None = None, transport: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.transport = transport  # True: a network problem worth retrying


@dataclass
class _Token:
    access_token: str = field(repr=False)
    refresh_at: float  # when to fetch the next one (a little before it expires)
    refresh_token: str | None = field(default=None, repr=False)


def refresh_margin(lifetime_s: float) -> float:
    return min(60.0, 0.1 * lifetime_s)


# Posts a form to a token endpoint: (connection, path, form, (client id, client secret)) → response.
PostForm = Callable[[Connection, str, dict[str, str], tuple[str, str]], Awaitable[httpx.Response]]


class TokenProvider:
    """Bearer tokens for every connection; ``send`` posts to token endpoints (shared HTTP client)."""

    def __init__(
        self,
        send: PostForm,
        clock: Callable[[], float],
        on_token_request: Callable[[Connection, int | None], None] | None = None,
    ) -> None:
        self._send = send
        self._clock = clock
        self._tokens: dict[Connection, _Token] = {}
        self._locks: dict[Connection, anyio.Lock] = {}
        self._on_token_request = on_token_request

    async def header(self, connection: Connection) -> tuple[str, str]:
        """(Authorization value, the token) — the token lets a 401 invalidate exactly it."""
        if connection.token is not None:
            return f"Bearer {connection.token}", connection.token
        token = await self._valid_token(connection)
        return f"Bearer {token.access_token}", token.access_token

    def invalidate(self, connection: Connection, token: str) -> None:
        """Forget ``token`` after a 401 — only if no one has replaced it already."""
        current = self._tokens.get(connection)
        if current is not None and current.access_token == token:
            current.refresh_at = 0.0

    def can_refresh(self, connection: Connection) -> bool:
        return connection.oauth is not None

    async def _valid_token(self, connection: Connection) -> _Token:
        token = self._tokens.get(connection)
        if token is not None and self._clock() < token.refresh_at:
            return token
        lock = self._locks.setdefault(connection, anyio.Lock())
        async with lock:
            token = self._tokens.get(connection)  # another task may have refreshed meanwhile
            if token is not None and self._clock() < token.refresh_at:
                return token
            token = await self._fetch(connection, token)
            self._tokens[connection] = token
            return token

    async def _fetch(self, connection: Connection, previous: _Token | None) -> _Token:
        oauth = connection.oauth
        assert oauth is not None
        refresh_token = (previous.refresh_token if previous else None) or oauth.refresh_token
        if refresh_token:
            try:
                return await self._grant(
                    connection, {"grant_type": "refresh_token", "refresh_token": refresh_token}
                )
            except AuthError as exc:
                if exc.transport:
                    raise
                # The refresh token was revoked or expired: start over with client credentials.
        form = {"grant_type": "client_credentials"}
        if oauth.scope:
            form["scope"] = oauth.scope
        return await self._grant(connection, form)

    async def _grant(self, connection: Connection, form: dict[str, str]) -> _Token:
        oauth = connection.oauth
        assert oauth is not None
        try:
            response = await self._send(
                connection, oauth.token_path, form, (oauth.client_id, oauth.client_secret)
            )
        except (httpx.TransportError, TimeoutError) as exc:
            if self._on_token_request:
                self._on_token_request(connection, None)
            raise AuthError("the token endpoint could not be reached", transport=True) from exc
        if self._on_token_request:
            self._on_token_request(connection, response.status_code)
        body = parse_body(response.content)
        if response.status_code >= 500:
            raise AuthError(f"the token endpoint failed ({response.status_code})", response.status_code, True)
        if response.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
            code = (
                body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), str) else None
            )
            detail = f" ({code})" if code else ""
            raise AuthError(
                f"the token endpoint refused the client credentials{detail}", response.status_code
            )
        now = self._clock()
        try:
            lifetime = float(body.get("expires_in") or 3600)
        except (TypeError, ValueError):
            lifetime = 3600.0
        return _Token(
            access_token=str(body["access_token"]),
            refresh_at=now + lifetime - refresh_margin(lifetime),
            refresh_token=body.get("refresh_token") or form.get("refresh_token"),
        )
