"""httpx's own transport, with a cheaper "is this idle connection still open?" (only where it is used).

ops-mcp uses httpx's transport only where the environment names a proxy (``network.py``); httpcore is
imported here, so a server that never needs it does not load it.

Before every request it sends and after every response, httpcore's pool asks each idle connection whether
its socket has become readable (the server closed it). httpcore's anyio stream answers by looking the raw
socket up through anyio's attribute table — which builds a dict and calls ``getpeername()`` each time —
and then makes a fresh ``select.poll`` object. With 32 hosted calls in flight that scan was ~16% of the
server's CPU (benchmarks/PROFILE.md). Here each connection's stream keeps its socket and one poll object
from the moment it connects; the answer is one ``poll(0)`` system call. Everything else is httpcore's.
"""

from __future__ import annotations

import select
import sys
from typing import Any

import httpcore


def cheap_idle_checks(transport: Any) -> None:
    """Give a plain httpx transport's pool the backend below, before it has made any connection.

    httpx builds the pool with no way to pass a network backend; a proxy pool (from the environment)
    or anything else is left as it is.
    """
    pool = getattr(transport, "_pool", None)
    if type(pool) is httpcore.AsyncConnectionPool and hasattr(pool, "_network_backend"):
        pool._network_backend = KnownSocketBackend()


class KnownSocketBackend(httpcore.AsyncNetworkBackend):
    """httpcore's anyio backend, its streams wrapped in ``KnownSocketStream``."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        return KnownSocketStream(await self._inner.connect_tcp(*args, **kwargs))

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        return KnownSocketStream(await self._inner.connect_unix_socket(*args, **kwargs))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class KnownSocketStream(httpcore.AsyncNetworkStream):
    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._poll: Any = None
        sock = inner.get_extra_info("socket")
        fd = sock.fileno() if sock is not None else -1
        if fd >= 0 and sys.platform != "win32" and hasattr(select, "poll"):
            self._poll = select.poll()
            self._poll.register(fd, select.POLLIN)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        # TLS runs over the same socket: its readability still says whether the server hung up.
        return KnownSocketStream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and self._poll is not None:
            # Data waiting, end of stream, an error or a closed descriptor (POLLNVAL) all count.
            return bool(self._poll.poll(0))
        return self._inner.get_extra_info(info)
