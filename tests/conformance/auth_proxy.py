"""A loopback reverse proxy that adds ``Authorization: Bearer <token>`` to every request, for clients that
cannot send one (the MCP conformance suite). Everything else passes through unchanged in both directions,
Host and Origin included, so the server's own checks (DNS-rebinding protection, sessions, SSE streams)
see exactly what the client sent. Test-only: the server needs no back door for it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from starlette.background import BackgroundTask
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.types import Receive, Scope, Send

# Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection, not to the message.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade"}


class BearerProxy:
    """ASGI app forwarding to ``upstream`` with this agent's bearer token (any client-sent one is replaced)."""

    def __init__(self, upstream: str, token: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.token = token
        self.client = httpx.AsyncClient(timeout=httpx.Timeout(60, read=None))
        self.client.headers.clear()  # send the client's headers only, not httpx's defaults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = await _read_body(receive)
        skip = HOP_BY_HOP | {"authorization", "content-length"}
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]
                   if k.decode("latin-1").lower() not in skip]
        headers.append(("authorization", f"Bearer {self.token}"))
        target = self.upstream + scope["raw_path"].decode("latin-1")
        if scope["query_string"]:
            target += "?" + scope["query_string"].decode("latin-1")
        request = self.client.build_request(scope["method"], target, headers=headers, content=body)
        try:
            upstream = await self.client.send(request, stream=True)
        except httpx.HTTPError as exc:
            await PlainTextResponse(f"proxy: upstream unreachable: {exc!r}", status_code=502)(scope, receive, send)
            return
        response = StreamingResponse(upstream.aiter_raw(), status_code=upstream.status_code,
                                     background=BackgroundTask(upstream.aclose))
        # Raw bytes go through untouched, so content-length and content-encoding stay valid as sent.
        response.raw_headers = [(k.encode("latin-1"), v.encode("latin-1"))
                                for k, v in upstream.headers.multi_items() if k.lower() not in HOP_BY_HOP]
        await response(scope, receive, send)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


@contextmanager
def running_proxy(upstream: str, token: str) -> Iterator[str]:
    """Serve a ``BearerProxy`` on 127.0.0.1 (a free port) in a thread; yield its base URL."""
    config = uvicorn.Config(BearerProxy(upstream, token), host="127.0.0.1", port=0, log_level="warning",
                            server_header=False, date_header=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="bearer-proxy", daemon=True)
    thread.start()
    try:
        for _ in range(600):  # bounded: at most 60 s for uvicorn to bind
            if server.started or not thread.is_alive():
                break
            threading.Event().wait(0.1)
        assert server.started, "the bearer proxy did not start"
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
