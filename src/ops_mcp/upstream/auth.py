"""The bearer-token auth flow, as an ``httpx.Auth``: the one place a 401 leads to a new token.

The flow sets the connection's bearer token and sends the request. When the back end answers 401
and the connection can get a new token (OAuth), the flow forgets the refused token, fetches a
fresh one and sends the request once more — safe even for writes, since a 401 means the server did
not act. At most one refresh per flow: the client builds one flow per request and its retries.

Each request the flow sends is a leg of the current attempt: ``Legs`` lets the attempt time the
leg, count it, and — before a resend — observe the refused answer and take a new rate-budget slot.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from typing import Protocol

import httpx

from .connection import Connection
from .tokens import TokenProvider


class Legs(Protocol):
    def sending(self) -> None:
        """A request is about to leave."""

    async def refused(self, response: httpx.Response) -> None:
        """``response`` (a 401, read in full) will be answered by a refresh and a resend."""


class BearerAuth(httpx.Auth):
    def __init__(self, tokens: TokenProvider, connection: Connection, legs: Legs, kind: str | None = None) -> None:
        self._tokens = tokens
        self._connection = connection
        self._legs = legs
        self._kind = kind  # the operation's token kind: decides which of the connection's tokens it gets
        self.refreshed = False

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self._authorize(request)
        self._legs.sending()
        response = yield request
        if response.status_code != 401 or self.refreshed or not self._tokens.can_refresh(self._connection):
            return
        self.refreshed = True
        await response.aread()
        self._tokens.invalidate(self._connection, token)
        await self._legs.refused(response)
        await self._authorize(request)
        self._legs.sending()
        yield request

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        # Tokens are fetched with async I/O; a sync client would send the request without one.
        raise RuntimeError("BearerAuth works with httpx.AsyncClient only")

    async def _authorize(self, request: httpx.Request) -> str:
        """Put the current token on ``request``; returns it, so a 401 can invalidate exactly it."""
        authorization, token = await self._tokens.header(self._connection, self._kind)
        request.headers["authorization"] = authorization
        return token
