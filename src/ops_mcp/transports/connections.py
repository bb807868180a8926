"""TCP connections a slow or greedy peer cannot hoard: header deadlines, a connection cap, body deadlines.

uvicorn waits for a request's headers forever, and a keep-alive connection whose peer sends one byte just
before the keep-alive timeout stays open for good; 300 such connections exhaust a process with 256 file
descriptors. ``guarded_protocol`` is uvicorn's own HTTP protocol (httptools, whose llhttp parser is C) with
three additions:

- **header deadline**: whenever a connection is waiting for a request (just opened, or its last response
  finished), the request's line and headers must be complete within ``header_timeout_seconds``, however the
  bytes trickle in; otherwise ``408`` (if anything was sent) and the connection is closed;
- **connection cap**: at most ``max_connections`` (lowered to fit the file-descriptor limit). A connection
  over the cap closes the connection that has waited longest for its request — always a slow or idle one,
  since a real client sends its headers at once — and only if every connection is busy serving is the
  newcomer turned away (``503``);
- **header size**: at most ``max_header_bytes`` of request line and headers (``400`` beyond).

``BodyDeadline`` is the ASGI half: a request body must arrive within ``body_timeout_seconds`` of the
request starting, or the request is answered ``408`` and its connection closed.
"""

from __future__ import annotations

import logging
import resource
from typing import Any

import anyio
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ..config import ServerLimits

log = logging.getLogger("ops_mcp.http")

FD_RESERVE = 64  # descriptors kept for the listening socket, databases, upstream connections, logs
_408 = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
_503 = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\nretry-after: 1\r\n\r\n"


def connection_cap(wanted: int) -> int:
    """``wanted``, lowered so that the cap plus a reserve fits the process's open-file limit."""
    try:
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError):
        return wanted
    if soft == resource.RLIM_INFINITY:
        return wanted
    fits = max(8, soft - FD_RESERVE)
    if fits < wanted:
        log.warning("max_connections %d does not fit the open-file limit (%d); using %d", wanted, soft, fits)
    return min(wanted, fits)


class _Guards:
    """Header deadlines and the connection cap, for either of uvicorn's HTTP protocols (mixed in before it).

    The limits are class attributes: ``guarded_protocol(limits)`` makes the subclass a server runs with.
    """

    cap = 1000
    header_timeout = 10.0
    max_header_bytes = 16384
    _waiting_since: float | None = None
    _header_timer: Any = None
    # uvicorn's protocol provides these:
    transport: Any
    cycle: Any
    connections: set[Any]
    loop: Any

    def _started(self) -> bool:
        """Whether part of the next request has arrived (a 408 is owed) rather than nothing at all."""
        raise NotImplementedError

    def _guard_new_connection(self) -> None:
        self._update_wait()
        if len(self.connections) > self.cap:
            self._make_room()

    # -- waiting for a request -------------------------------------------------------------------

    def _waiting(self) -> bool:
        return not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete)

    def _update_wait(self) -> None:
        if not self._waiting():
            self._stop_waiting()
        elif self._waiting_since is None:
            # The deadline runs from when waiting began, not from the last byte: trickling does not help.
            self._waiting_since = self.loop.time()
            self._header_timer = self.loop.call_later(self.header_timeout, self._header_deadline)

    def _stop_waiting(self) -> None:
        self._waiting_since = None
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_deadline(self) -> None:
        self._header_timer = None
        if self._waiting():
            self._drop(_408 if self._started() else b"")

    def _drop(self, answer: bytes) -> None:
        self._stop_waiting()
        if not self.transport.is_closing():
            if answer:
                self.transport.write(answer)
            self.transport.close()

    # -- the cap ---------------------------------------------------------------------------------

    def _make_room(self) -> None:
        waiting = [c for c in self.connections if c is not self and isinstance(c, _Guards) and c._waiting_since is not None]
        if waiting:
            oldest = min(waiting, key=lambda c: c._waiting_since or 0.0)
            oldest._drop(_408 if oldest._started() else b"")
            self.connections.discard(oldest)  # it is closing; do not count it against the cap
        else:
            self._drop(_503)


class HeadersTooLarge(Exception):
    """Raised in a parser callback: httptools reports it as a parse error, which uvicorn answers 400."""


class GuardedHttpToolsProtocol(_Guards, HttpToolsProtocol):
    """uvicorn's httptools (llhttp, in C) protocol with the same guards: ~2× less server CPU per request
    than h11's pure-Python parsing (benchmarks/PROFILE.md).

    llhttp buffers a header line until it ends and bounds nothing, so the header size is counted twice:
    exactly, as the request line and each header are parsed, and in raw bytes read while a request's
    headers stay incomplete — a header line trickled in forever is cut off at the bound too (held: the
    bound plus one read).
    """

    _in_headers = False  # a request has begun and its headers are not complete yet
    _header_bytes = 0  # of the request line and the headers parsed so far
    _unparsed_bytes = 0  # read while the same request's headers were incomplete before and after the read

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._guard_new_connection()

    def data_received(self, data: bytes) -> None:
        was_in_headers = self._in_headers
        super().data_received(data)
        if was_in_headers and self._in_headers and not self.transport.is_closing():
            # Every byte of this read went to headers that are still incomplete (a line llhttp is buffering).
            self._unparsed_bytes += len(data)
            if self._unparsed_bytes > self.max_header_bytes:
                self.send_400_response("Request header fields too large.")
        self._update_wait()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_headers, self._header_bytes, self._unparsed_bytes = True, 0, 0

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_headers = False
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._update_wait()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        super().connection_lost(exc)

    def _started(self) -> bool:
        return self._in_headers

    def _count(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > self.max_header_bytes:
            raise HeadersTooLarge("request header fields too large")


def guarded_protocol(limits: ServerLimits) -> type[Any]:
    """The protocol class to pass to uvicorn as ``http=``, with ``limits`` in it."""
    return type("GuardedHttpToolsProtocol", (GuardedHttpToolsProtocol,), {
        "cap": connection_cap(limits.max_connections), "header_timeout": limits.header_timeout_seconds,
        "max_header_bytes": limits.max_header_bytes,
    })


def uvicorn_config(app: Any, limits: ServerLimits, *, host: str, port: int, **options: Any) -> Any:
    """The uvicorn configuration ops-mcp runs with: guarded connections, bounded headers, short keep-alive."""
    import uvicorn

    from ..eventloop import uvicorn_loop

    options.setdefault("log_level", "info")
    options.setdefault("loop", uvicorn_loop())
    return uvicorn.Config(
        app, host=host, port=port, http=guarded_protocol(limits), access_log=False, lifespan="on",
        timeout_keep_alive=limits.keep_alive_seconds,
        **options,
    )


class BodyDeadline:
    """ASGI middleware: the whole request body within ``seconds`` of the request starting, or ``408``."""

    def __init__(self, app: Any, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = anyio.current_time() + self.seconds
        state = {"body_done": False, "started": False, "timed_out": False}

        async def timed_receive() -> Any:
            if state["body_done"] or state["timed_out"]:
                return await receive()  # after the body: only a disconnect can come, wait for it as usual
            with anyio.move_on_after(max(0.0, deadline - anyio.current_time())):
                message = await receive()
                if message["type"] != "http.request" or not message.get("more_body", False):
                    state["body_done"] = True
                return message
            state["timed_out"] = True
            if not state["started"]:
                state["started"] = True
                await send({"type": "http.response.start", "status": 408,
                            "headers": [(b"content-length", b"0"), (b"connection", b"close")]})
                await send({"type": "http.response.body", "body": b""})
            return {"type": "http.disconnect"}  # the app stops reading; its answer is dropped below

        async def guarded_send(message: Any) -> None:
            if state["timed_out"]:
                return
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        await self.app(scope, timed_receive, guarded_send)
