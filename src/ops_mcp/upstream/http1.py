"""HTTP/1.1 to real back ends on asyncio's own protocol callbacks, with httptools' C parser.

httpx's default transport (httpcore over anyio streams, with h11 parsing in pure Python) was the largest
single cost of a call: a third of the server's CPU per read call over stdio and over HTTP
(benchmarks/PROFILE.md), more than ops-mcp's own work. This transport does the same job with less: a
connection is an ``asyncio.Protocol`` fed by the event loop, the response is parsed by llhttp (through
httptools, the parser uvicorn uses), and the request goes out in one ``write``. httpx stays the client
(requests, auth flows, decoding, the tests' mock and ASGI transports); only the wire changes.

What it keeps from httpx's transport: keep-alive per origin (``max_keepalive_connections`` idle at most,
``keepalive_expiry``), ``max_connections`` in use at once (a caller waits for a slot up to the pool
timeout), the connect/read/write/pool timeouts as httpx's exceptions, an idle connection the server hung
up on never reused (its socket is polled before reuse, as httpcore does), a connection dropped when a
call is cancelled mid-response. What it leaves to httpx's own transport: HEAD, anything but http/https,
and event loops other than asyncio's; proxies from the environment are handled by the caller
(``network.py``), which keeps httpx's transport for them.

Bodies are read whole (ops-mcp reads every answer whole), request bodies are sent with a Content-Length.
"""

from __future__ import annotations

import asyncio
import select
import ssl
import sys
from collections.abc import Callable
from typing import Any, cast

import httptools
import httpx

_DEFAULT_PORTS = {"http": 80, "https": 443}
_FORBIDDEN_IN_HEADERS = (b"\r", b"\n", b"\0")
_NO_BODY_STATUSES = frozenset({204, 304})

Origin = tuple[str, str, int]  # scheme, host, port


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection: sends a request, collects one response from the parser's callbacks."""

    def __init__(self, loop: asyncio.AbstractEventLoop, origin: Origin) -> None:
        self.loop = loop
        self.origin = origin
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.counted = True  # against the pool's open connections, until discarded
        self.idle_since = 0.0
        self.last_data = 0.0
        self._poll: Any = None
        self._paused = False
        self._writable: asyncio.Future[None] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._new_response()

    def _new_response(self) -> None:
        self.status = 0
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.complete = False
        self.headers_done = False
        self.keep_alive = False
        self.until_close = False  # no length and not chunked: the body ends when the server closes
        self.error: Exception | None = None

    # -- asyncio.Protocol ------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not asyncio.Transport subclasses
        sock = transport.get_extra_info("socket")
        if sock is not None and sys.platform != "win32" and hasattr(select, "poll"):
            self._poll = select.poll()
            self._poll.register(sock.fileno(), select.POLLIN)

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:  # bytes nobody asked for, on an idle connection: never reuse it
            self.close()
            return
        self.last_data = self.loop.time()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._finish(httpx.RemoteProtocolError("the back end switched protocols, which ops-mcp does not use"))
        except httptools.HttpParserError as exc:
            self._finish(httpx.RemoteProtocolError(f"malformed HTTP response from the back end: {exc}"))

    def eof_received(self) -> bool:
        self._ended(None)
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self._ended(exc)
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    # -- httptools callbacks ---------------------------------------------------------------------
    def on_status(self, status: bytes) -> None:
        self.reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.headers_done = True
        names = {name.lower() for name, _ in self.headers}
        self.until_close = (
            self.status not in _NO_BODY_STATUSES and self.status >= 200
            and b"content-length" not in names and b"transfer-encoding" not in names
        )

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        if 100 <= self.status < 200:  # an interim answer (100 Continue, 103 Early Hints): the real one follows
            self._new_response()
            return
        self.keep_alive = self.parser.should_keep_alive()
        self.complete = True
        self._finish(None)

    # -- the exchange ----------------------------------------------------------------------------
    def _ended(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is None or self.complete:
            return
        if self.headers_done and self.until_close and exc is None:
            self.complete, self.keep_alive = True, False
            self._finish(None)
        elif exc is not None:
            self._finish(httpx.ReadError(f"the connection to the back end broke: {exc}"))
        else:
            self._finish(httpx.RemoteProtocolError("the back end closed the connection without a complete answer"))

    def _finish(self, error: Exception | None) -> None:
        if error is not None and self.error is None:
            self.error = error
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def reusable_now(self) -> bool:
        """Open, and nothing to read: the server has neither hung up nor sent anything unasked."""
        if self.closed or (self.transport is not None and self.transport.is_closing()):
            return False
        return self._poll is None or not self._poll.poll(0)

    async def exchange(self, message: bytes, timeouts: dict[str, Any]) -> None:
        """Send ``message`` (head and body) and wait for the whole response, or raise httpx's error."""
        assert self.transport is not None
        self._new_response()
        self._waiter = self.loop.create_future()
        self.last_data = self.loop.time()
        try:
            self.transport.write(message)
            if self._paused:
                await self._drain(timeouts.get("write"))
            read_timeout = timeouts.get("read")
            if read_timeout is not None:
                self._timer = self.loop.call_later(read_timeout, self._check_silence, read_timeout)
            await self._waiter
        finally:
            self._waiter = None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        if self.error is not None:
            raise self.error

    async def _drain(self, timeout: float | None) -> None:
        self._writable = self.loop.create_future()
        try:
            async with asyncio.timeout(timeout):
                await self._writable
        except TimeoutError:
            raise httpx.WriteTimeout("the back end did not take the request in time") from None
        finally:
            self._writable = None
        if self.closed and not self.complete and self.error is None:
            raise httpx.WriteError("the connection to the back end closed while sending the request")

    def _check_silence(self, timeout: float) -> None:
        """The read timeout, as httpx means it: no byte for ``timeout`` seconds (not the whole answer)."""
        self._timer = None
        if self._waiter is None or self._waiter.done():
            return
        silent_for = self.loop.time() - self.last_data
        if silent_for >= timeout:
            self._finish(httpx.ReadTimeout("the back end did not answer in time"))
        else:
            self._timer = self.loop.call_later(timeout - silent_for, self._check_silence, timeout)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()  # unsent bytes and an unread answer are of no use to anyone


class Http1Transport(httpx.AsyncBaseTransport):
    """A keep-alive connection pool for ``http``/``https`` origins; see the module's text."""

    def __init__(
        self,
        limits: httpx.Limits,
        tls: Callable[[], ssl.SSLContext],
        fallback: Callable[[], httpx.AsyncBaseTransport],
    ) -> None:
        self._max_connections = limits.max_connections or 1 << 16
        self._max_idle = limits.max_keepalive_connections if limits.max_keepalive_connections is not None else 1 << 16
        self._expiry = limits.keepalive_expiry
        self._tls = tls
        self._make_fallback = fallback
        self._fallback: httpx.AsyncBaseTransport | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: asyncio.Semaphore | None = None
        self._idle: dict[Origin, list[_Connection]] = {}
        self._idle_count = 0
        self._open = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        loop = _asyncio_loop()
        scheme = request.url.scheme
        if loop is None or request.method == "HEAD" or scheme not in _DEFAULT_PORTS:
            return await self._fallback_transport().handle_async_request(request)
        if loop is not self._loop:
            self._adopt(loop)
        assert self._slots is not None
        message = await _message(request)
        timeouts: dict[str, Any] = request.extensions.get("timeout", {})
        await self._take_slot(self._slots, timeouts.get("pool"))
        try:
            # The host as it goes on the wire (IDNA-encoded), as httpcore connects to it.
            origin = (scheme, request.url.raw_host.decode("ascii"), request.url.port or _DEFAULT_PORTS[scheme])
            conn = self._idle_connection(origin, loop) or await self._connect(origin, loop, timeouts.get("connect"))
            try:
                await conn.exchange(message, timeouts)
            except BaseException:
                self._discard(conn)
                raise
            response = httpx.Response(
                conn.status,
                headers=conn.headers,
                stream=httpx.ByteStream(b"".join(conn.body)),
                extensions={"http_version": b"HTTP/1.1", "reason_phrase": conn.reason},
            )
            self._put_back(conn)
            return response
        finally:
            self._slots.release()

    async def aclose(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()
        self._idle_count = 0
        if self._fallback is not None:
            await self._fallback.aclose()

    # -- the pool --------------------------------------------------------------------------------
    def _adopt(self, loop: asyncio.AbstractEventLoop) -> None:
        """A new event loop (a CLI command's ``anyio.run`` after another): connections of the old one are
        of no use here, and closing them belongs to that loop."""
        self._loop = loop
        self._slots = asyncio.Semaphore(self._max_connections)
        self._idle.clear()
        self._idle_count = self._open = 0

    @staticmethod
    async def _take_slot(slots: asyncio.Semaphore, timeout: float | None) -> None:
        if not slots.locked():
            await slots.acquire()  # returns at once
            return
        try:
            async with asyncio.timeout(timeout):
                await slots.acquire()
        except TimeoutError:
            raise httpx.PoolTimeout("every connection to the back end was busy for the whole pool timeout") from None

    def _idle_connection(self, origin: Origin, loop: asyncio.AbstractEventLoop) -> _Connection | None:
        idle = self._idle.get(origin)
        while idle:
            conn = idle.pop()  # the most recently used: the one least likely to have timed out
            self._idle_count -= 1
            expired = self._expiry is not None and loop.time() - conn.idle_since > self._expiry
            if not expired and conn.reusable_now():
                return conn
            self._discard(conn)
        return None

    async def _connect(self, origin: Origin, loop: asyncio.AbstractEventLoop, timeout: float | None) -> _Connection:
        if self._open >= self._max_connections:
            self._close_oldest_idle()
        scheme, host, port = origin
        tls = self._tls() if scheme == "https" else None
        try:
            async with asyncio.timeout(timeout):
                _, conn = await loop.create_connection(
                    lambda: _Connection(loop, origin), host, port, ssl=tls, server_hostname=host if tls else None
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(f"no connection to {host}:{port} within the connect timeout") from None
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(f"could not connect to {host}:{port}: {exc}") from None
        self._open += 1
        return conn

    def _put_back(self, conn: _Connection) -> None:
        if not conn.keep_alive or conn.closed or self._idle_count >= self._max_idle:
            self._discard(conn)
            return
        conn.idle_since = conn.loop.time()
        self._idle.setdefault(conn.origin, []).append(conn)
        self._idle_count += 1

    def _close_oldest_idle(self) -> None:
        oldest: _Connection | None = None
        for conns in self._idle.values():
            if conns and (oldest is None or conns[0].idle_since < oldest.idle_since):
                oldest = conns[0]
        if oldest is not None:
            self._idle[oldest.origin].remove(oldest)
            self._idle_count -= 1
            self._discard(oldest)

    def _discard(self, conn: _Connection) -> None:
        conn.close()
        if conn.counted:
            conn.counted = False
            self._open -= 1

    def _fallback_transport(self) -> httpx.AsyncBaseTransport:
        if self._fallback is None:
            self._fallback = self._make_fallback()
        return self._fallback


def _asyncio_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # another event loop (trio): httpx's own transport serves it
        return None


async def _message(request: httpx.Request) -> bytes:
    """The request's head and body as they go on the wire; the body is buffered, so it has a length."""
    body = await request.aread()
    head = [request.method.encode("ascii"), b" ", request.url.raw_path, b" HTTP/1.1\r\n"]
    for name, value in request.headers.raw:
        if any(c in name or c in value for c in _FORBIDDEN_IN_HEADERS) or b":" in name or not name:
            raise httpx.LocalProtocolError(f"header {name[:40]!r} has a character HTTP does not allow")
        lowered = name.lower()
        if lowered in (b"content-length", b"transfer-encoding"):
            continue  # written below, from the buffered body
        head += (name, b": ", value, b"\r\n")
    if body or request.method not in ("GET", "DELETE", "OPTIONS"):
        head += (b"Content-Length: ", str(len(body)).encode("ascii"), b"\r\n")
    head.append(b"\r\n")
    return b"".join(head) + body
