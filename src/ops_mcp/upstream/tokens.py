"""Which token an operation gets, and OAuth tokens fetched, cached and refreshed.

Selection (``credential_for``) — the connection's binding decides, the operation's kind
(``Endpoint.token_kind``) only says whether the connection may serve it:

- a connection bound to one company (a customer API token, or a partner connection naming its
  ``company_id``) serves ``company`` and ``any`` operations with its company token: the static token,
  or an access token from the stored refresh token (refresh-token grant; the rotated refresh token
  that comes back is stored at once). It never uses the partner's client-credentials token, which
  reaches every company that authorised the partner, so partner-level operations are refused;
- a partner-level connection (``oauth`` without a company) serves ``client_credentials`` and ``any``
  operations with the client-credentials token, and refuses company operations;
- a back end with one kind of token (``token_kind`` None) gets the connection's own credential.

A refused or missing refresh token is an ``AuthError`` telling the operator to run ``ops-mcp connect``;
nothing ever falls back to a broader token. Access tokens are refreshed shortly before they expire
(60 s or 10 % of their lifetime, whichever is shorter); under concurrency exactly one task fetches
while the others wait for its result (a lock per connection and credential, checked again once held).
Tokens are never logged or returned in results; ``auth.py`` puts them on requests.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Awaitable, Callable

import anyio
import httpx

from ..records import Record
from . import errors as E
from .connection import Connection
from .errors import parse_body
from .grants import GrantStore, GrantUnreadable, StoredGrant

log = logging.getLogger("ops_mcp.upstream.tokens")
COMPANY, CLIENT_CREDENTIALS, ANY = "company", "client_credentials", "any"
# The credentials a connection can hold.
STATIC, COMPANY_GRANT, PARTNER = "static", "company_grant", "partner"


class AuthError(Exception):
    """No token for this call (message is secret-free); ``advice`` says who does what about it."""

    def __init__(self, message: str, status: int | None = None, transport: bool = False, *,
                 advice: str | None = None, kind: str = E.UNAUTHORIZED) -> None:
        super().__init__(message)
        self.status = status
        self.transport = transport  # True: a network problem worth retrying
        self.advice = advice
        self.kind = kind


def connect_advice(connection: Connection) -> str:
    return f"Tell the operator to run `ops-mcp connect {connection.backend} --connection {connection.name}`."


def credential_for(connection: Connection, kind: str | None) -> str:
    """The credential that serves an operation of ``kind`` on ``connection``; AuthError if none may."""
    if connection.company_bound:
        if kind == CLIENT_CREDENTIALS:
            raise AuthError(
                "this is a partner-level operation: it needs the partner's client-credentials token, which "
                f"reaches every company that authorised the partner, and connection {connection.name} is bound "
                "to one company", advice="Do not retry; partner-level tools need a partner-level connection "
                "(oauth without company_id), which the operator configures separately.", kind=E.FORBIDDEN)
        return STATIC if connection.token is not None else COMPANY_GRANT
    if connection.oauth is None:  # pragma: no cover - Connection refuses this at construction
        raise AuthError("no credentials are configured")
    if kind == COMPANY:
        raise AuthError(
            f"this operation needs a token bound to one company, and connection {connection.name} is "
            "partner-level (no company_id)", advice=f"Tell the operator to set company_id for it and run "
            f"`ops-mcp connect {connection.backend} --connection {connection.name}`.", kind=E.FORBIDDEN)
    return PARTNER


def serves(connection: Connection, kind: str | None) -> bool:
    """Whether ``connection`` may run an operation of ``kind`` at all (see ``credential_for``)."""
    try:
        credential_for(connection, kind)
    except AuthError:
        return False
    return True


class _Token(Record):
    __slots__ = ("access_token", "refresh_at")
    _unshown = frozenset({"access_token"})
    access_token: str
    refresh_at: float  # when to fetch the next one (a little before it expires)

    def __init__(self, access_token: str, refresh_at: float) -> None:
        self.access_token = access_token
        self.refresh_at = refresh_at


def refresh_margin(lifetime_s: float) -> float:
    return min(60.0, 0.1 * lifetime_s)


# Posts a form to a token endpoint: (connection, path, form, (client id, client secret)) → response.
PostForm = Callable[[Connection, str, dict[str, str], tuple[str, str]], Awaitable[httpx.Response]]
_Key = tuple[Connection, str]


class TokenProvider:
    """Bearer tokens for every connection; ``send`` posts to token endpoints (shared HTTP client);
    ``grants`` holds partner connections' refresh tokens (None: no connection has one)."""

    def __init__(
        self,
        send: PostForm,
        clock: Callable[[], float],
        on_token_request: Callable[[Connection, int | None], None] | None = None,
        grants: GrantStore | None = None,
    ) -> None:
        self._send = send
        self._clock = clock
        self._tokens: dict[_Key, _Token] = {}
        self._locks: dict[_Key, anyio.Lock] = {}
        self._on_token_request = on_token_request
        self._grants = grants

    async def header(self, connection: Connection, kind: str | None = None) -> tuple[str, str]:
        """(Authorization value, the token) for an operation of ``kind`` — the token lets a 401
        invalidate exactly it."""
        credential = credential_for(connection, kind)
        if credential == STATIC:
            assert connection.token is not None
            return f"Bearer {connection.token}", connection.token
        token = await self._valid_token(connection, credential)
        return f"Bearer {token.access_token}", token.access_token

    def invalidate(self, connection: Connection, token: str) -> None:
        """Forget ``token`` after a 401 — only if no one has replaced it already."""
        for (conn, _credential), current in self._tokens.items():
            if conn == connection and current.access_token == token:
                current.refresh_at = 0.0

    def can_refresh(self, connection: Connection) -> bool:
        return connection.token is None and connection.oauth is not None

    async def _valid_token(self, connection: Connection, credential: str) -> _Token:
        key = (connection, credential)
        token = self._tokens.get(key)
        if token is not None and self._clock() < token.refresh_at:
            return token
        lock = self._locks.setdefault(key, anyio.Lock())
        async with lock:
            token = self._tokens.get(key)  # another task may have refreshed meanwhile
            if token is not None and self._clock() < token.refresh_at:
                return token
            if credential == PARTNER:
                token = await self._client_credentials(connection)
            else:
                token = await self._company_token(connection)
            self._tokens[key] = token
            return token

    async def _client_credentials(self, connection: Connection) -> _Token:
        oauth = connection.oauth
        assert oauth is not None
        form = {"grant_type": "client_credentials"}
        if oauth.scope:
            form["scope"] = oauth.scope
        body = await self._grant(connection, form, "the token endpoint refused the client credentials")
        return self._token(body)

    async def _company_token(self, connection: Connection) -> _Token:
        """An access token from the stored refresh token; the rotated refresh token is stored before use."""
        stored = await self._stored_grant(connection)
        try:
            body = await self._refresh(connection, stored)
        except AuthError as exc:
            if exc.transport or exc.status == 401:
                raise
            # Another process may have rotated the token meanwhile: try what the store holds now, once.
            latest = await self._stored_grant(connection)
            if latest.refresh_token == stored.refresh_token:
                raise
            stored = latest
            body = await self._refresh(connection, stored)
        rotated = body.get("refresh_token")
        if isinstance(rotated, str) and rotated and rotated != stored.refresh_token:
            grant = StoredGrant(stored.company_id, rotated, self._clock())
            try:
                await anyio.to_thread.run_sync(self._put_grant, connection, grant)
            except (OSError, sqlite3.Error) as exc:
                # The access token is good for its lifetime; the next refresh will say what to do.
                log.warning("could not store the rotated refresh token of %s/%s: %s",
                            connection.backend, connection.name, type(exc).__name__)
        return self._token(body)

    async def _refresh(self, connection: Connection, stored: StoredGrant) -> dict:
        form = {"grant_type": "refresh_token", "refresh_token": stored.refresh_token}
        body = await self._grant(connection, form, "the stored refresh token was refused",
                                 advice=connect_advice(connection))
        company = body.get("company_id")
        if company is not None and company != connection.company_id:
            # Never act for a company other than the configured one, whatever the token says.
            raise AuthError(f"the token endpoint answered for company {company}, not the configured "
                            f"company {connection.company_id}", advice=connect_advice(connection))
        return body

    async def _stored_grant(self, connection: Connection) -> StoredGrant:
        if self._grants is None:
            raise AuthError("no company authorization is stored for this connection",
                            advice=connect_advice(connection))
        try:
            stored = await anyio.to_thread.run_sync(self._grants.get, connection.backend, connection.name)
        except GrantUnreadable as exc:
            raise AuthError(f"{exc} (was the secret key changed?)", advice=connect_advice(connection)) from None
        if stored is None:
            raise AuthError("no company authorization is stored for this connection",
                            advice=connect_advice(connection))
        if stored.company_id != connection.company_id:
            raise AuthError(f"the stored authorization is for company {stored.company_id}, not the configured "
                            f"company {connection.company_id}", advice=connect_advice(connection))
        return stored

    def _put_grant(self, connection: Connection, grant: StoredGrant) -> None:
        assert self._grants is not None
        self._grants.put(connection.backend, connection.name, grant)

    async def _grant(self, connection: Connection, form: dict[str, str], refused: str,
                     advice: str | None = None) -> dict:
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
            if response.status_code == 401:  # the client itself was refused, not the refresh token
                refused, advice = "the token endpoint refused the client credentials", None
            detail = f" ({code})" if code else ""
            raise AuthError(f"{refused}{detail}", response.status_code, advice=advice)
        return body

    def _token(self, body: dict) -> _Token:
        try:
            lifetime = float(body.get("expires_in") or 3600)
        except (TypeError, ValueError):
            lifetime = 3600.0
        return _Token(access_token=str(body["access_token"]), refresh_at=self._clock() + lifetime - refresh_margin(lifetime))
