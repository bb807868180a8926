"""Real uvicorn servers on 127.0.0.1 in a thread, started and stopped by a context manager.

The listening socket is bound before the app is built and handed to uvicorn, so the port is known up front
(``create_app`` needs it to register webhooks at itself) and no other process can take it in between. The
caller waits on uvicorn's own start-up (an event set when it listens), never on a fixed sleep.
"""

from __future__ import annotations

import functools
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx2
import uvicorn

HOST = "127.0.0.1"
START_TIMEOUT_S = 60  # a bound on a loaded machine, not an expectation


def bound_socket(host: str = HOST, port: int = 0) -> socket.socket:
    """A TCP socket bound to ``port`` (a free one by default) on ``host``; uvicorn listens on it."""
    # IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY only on connections whose socket names its
    # protocol, and without it every response uvicorn writes in two parts waited ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def free_port(host: str = HOST) -> int:
    """A port that was free a moment ago, for a config that must name it before its server starts (prefer
    ``serving(make_app=...)``, which binds first and cannot race)."""
    with bound_socket(host) as sock:
        port: int = sock.getsockname()[1]
        return port


class _Server(uvicorn.Server):
    """uvicorn with an event for "start-up finished" (listening, or given up)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.finished_startup = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self.finished_startup.set()


@dataclass
class Loopback:
    """A running server: its base URL, port, the app it serves and the uvicorn server itself."""

    url: str
    port: int
    app: Any
    server: uvicorn.Server


@contextmanager
def serving(
    app: Any = None,
    *,
    make_app: Callable[[int], Any] | None = None,
    quiet: bool = False,
    keep_alive_s: int = 5,
    lifespan: str = "on",
    graceful_shutdown_s: int = 2,
    limits: Any = None,
    port: int = 0,
) -> Iterator[Loopback]:
    """Serve ``app`` (or ``make_app(port)``, for an app that must know its own port) until the block ends.

    ``quiet``: log only critical errors (for apps that raise on purpose, e.g. injected dropped connections).
    ``keep_alive_s``: how long the server keeps an idle connection open (uvicorn's default is 5 s).
    ``limits``: ops-mcp's ``[server.limits]``: serve with the production uvicorn configuration (guarded
    connections, header and body deadlines) instead of a plain one.
    """
    sock = bound_socket(port=port)
    port = sock.getsockname()[1]
    if make_app is not None:
        app = make_app(port)
    log_level = "critical" if quiet else "warning"
    if limits is not None:
        from ops_mcp.transports.connections import uvicorn_config

        config = uvicorn_config(app, limits, host=HOST, port=port, log_level=log_level,
                                timeout_graceful_shutdown=graceful_shutdown_s)
    else:
        config = uvicorn.Config(
            app,
            host=HOST,
            port=port,
            log_level=log_level,
            access_log=False,
            lifespan=lifespan,
            timeout_keep_alive=keep_alive_s,
            timeout_graceful_shutdown=graceful_shutdown_s,
        )
    server = _Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"loopback-{port}", daemon=True)
    thread.start()
    try:
        _wait_for_startup(server, thread)
        if not server.started:
            raise RuntimeError(f"the loopback server on port {port} did not start")
        yield Loopback(f"http://{HOST}:{port}", port, app, server)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@contextmanager
def serve_app(app: Any, **options: Any) -> Iterator[str]:
    """Serve ``app`` over real HTTP until the block ends; yields its base URL."""
    with serving(app, **options) as served:
        yield served.url



def _wait_for_startup(server: _Server, thread: threading.Thread) -> None:
    """Block until uvicorn has finished starting (or its thread died before it could)."""
    for _ in range(int(START_TIMEOUT_S / 0.05)):
        if server.finished_startup.wait(0.05) or not thread.is_alive():
            return


@functools.cache
def _tls() -> Any:
    return httpx2.create_ssl_context()


def mcp_http_client(token: str | None = None, **options: Any) -> httpx2.AsyncClient:
    """The HTTP client an SDK ``Client`` talks through (bearer ``token`` if given; 30 s timeout by default).

    Every client shares one TLS context: httpx builds a new one per client, ~16 ms of reading the CA bundle.
    """
    headers = {**options.pop("headers", {}), **({"Authorization": f"Bearer {token}"} if token else {})}
    options.setdefault("timeout", 30)
    return httpx2.AsyncClient(headers=headers, verify=_tls(), **options)
