"""The HTTP layer: one pooled ``httpx.AsyncClient`` per back end, shared by every session.

``send`` turns a prepared request into one httpx request (the auth flow decides the
Authorization header); ``post_form`` posts to a token endpoint. Redirects are never followed: an
API that redirects is misconfigured, and a redirect must not carry a token elsewhere.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import anyio
import httpx

from .connection import Connection
from .network import cheap_idle_checks, network_transport, proxies_configured
from .request import PreparedRequest

USER_AGENT = "ops-mcp/0.1"


class ClientPool:
    def __init__(self, transport: httpx.AsyncBaseTransport | None, limits: httpx.Limits, *,
                 wrap_transport: Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport] | None = None) -> None:
        self._transport = transport
        self._limits = limits
        self._wrap_transport = wrap_transport  # tracing: a client span around every HTTP attempt
        self._clients: dict[str, httpx.AsyncClient] = {}
        self._making = threading.Lock()  # the warm-up thread and the event loop may both ask first

    def client(self, backend: str) -> httpx.AsyncClient:
        client = self._clients.get(backend)
        if client is not None:
            return client
        with self._making:
            return self._make(backend)

    def _make(self, backend: str) -> httpx.AsyncClient:
        client = self._clients.get(backend)
        if client is None:
            transport = self._transport
            if transport is None and (self._wrap_transport is not None or not proxies_configured()):
                transport = network_transport(self._limits)  # one pool per back end, as httpx would make
            if self._wrap_transport is not None and transport is not None:
                transport = self._wrap_transport(transport)  # tracing: a client span around every attempt
            client = httpx.AsyncClient(
                transport=transport,
                limits=self._limits,
                headers={"user-agent": USER_AGENT},
                follow_redirects=False,
            )
            if transport is None:  # httpx's own transport, for the proxies the environment names
                cheap_idle_checks(getattr(client, "_transport", None))
            self._clients[backend] = client
        return client

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    async def send(
        self, connection: Connection, prepared: PreparedRequest, headers: dict[str, str], auth: httpx.Auth
    ) -> httpx.Response:
        """One request (and whatever the auth flow adds); the caller bounds it in time."""
        kwargs: dict[str, Any] = {"params": prepared.params or None, "headers": headers}
        if prepared.files is not None:
            kwargs["data"] = prepared.form_data
            kwargs["files"] = prepared.files
        elif prepared.has_json_body:
            kwargs["json"] = prepared.json_body
        client = self.client(connection.backend)
        return await client.request(
            prepared.method, connection.url(prepared.path), auth=auth, timeout=connection.timeout, **kwargs
        )

    async def post_form(
        self, connection: Connection, path: str, form: dict[str, str], basic: tuple[str, str]
    ) -> httpx.Response:
        client = self.client(connection.backend)
        # fail_after also bounds in-process transports, which ignore httpx's timeouts.
        with anyio.fail_after(connection.timeout):
            return await client.post(
                connection.url(path),
                data=form,
                auth=basic,
                headers={"accept": "application/json"},
                timeout=connection.timeout,
            )
