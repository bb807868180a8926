"""Routes requests for the embedded sandbox in-process; everything else goes to the network."""

from __future__ import annotations

from typing import Any

import httpx


class SandboxRoutingTransport(httpx.AsyncBaseTransport):
    """Requests for the embedded sandbox's host stay in-process (ASGI); others use real connections."""

    def __init__(self, app: Any, sandbox_host: str, limits: httpx.Limits | None = None) -> None:
        self._host = sandbox_host
        self._sandbox = httpx.ASGITransport(app=app)
        # The upstream client's limits (keep-alive as many as connections: see ClientLimits).
        from ..upstream.network import network_transport

        self._network = network_transport(limits or httpx.Limits(max_connections=100, max_keepalive_connections=100))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == self._host:
            return await self._sandbox.handle_async_request(request)
        return await self._network.handle_async_request(request)

    async def aclose(self) -> None:
        await self._network.aclose()
