"""TCP connections a slow or greedy peer cannot hoard: header deadlines, a connection cap, body deadlines.

uvicorn (h11) waits for a request's headers forever, and a keep-alive connection whose peer sends one byte
just before the keep-alive timeout stays open for good; 300 such connections exhaust a process with 256 file
descriptors. ``guarded_protocol`` is uvicorn's own HTTP protocol with three additions:

- **header deadline**: whenever a connection is waiting for a request (just opened, or its last response
  finished), the request's line and headers must be complete within ``header_timeout_seconds``, however the
  bytes trickle in; otherwise ``408`` (if anything was sent) and the connection is closed;
- **connection cap**: at most ``max_connections`` (lowered to fit the file-descriptor limit). A connection
  over the cap closes the connection that has waited longest for its request — always a slow or idle one,
  since a real client sends its headers at once — and only if every connection is busy serving is the
  newcomer turned away (``503``);
- **header size**: at most ``max_header_bytes`` of request line and headers (h11 answers 400 beyond).

``BodyDeadline`` is the ASGI half: a request body must arrive within ``body_timeout_seconds`` of the
request starting, or the request is answered ``408`` and its connection closed.
"""

from __future__ import annotations

import logging
import resource
from typing import Any

import anyio
import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

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


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with header deadlines, a header size bound and a connection cap.

    The limits are class attributes: ``guarded_protocol(limits)`` makes the subclass a server runs with.
    """

    cap = 1000
    header_timeout = 10.0
    max_header_bytes = 16384
    _waiting_since: float | None = None
    _header_timer: Any = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._bound_headers()
        self._update_wait()
        if len(self.connections) > self.cap:
            self._make_room()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._update_wait()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._update_wait()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        super().connection_lost(exc)

    def _bound_headers(self) -> None:
        # h11 bounds only the part of a request it is still waiting for: headers that arrive in one read are
        # parsed whatever their size. Every parsed request is measured here as well (uvicorn answers the
        # protocol error with 400 and closes the connection).
        parse, limit = self.conn.next_event, self.max_header_bytes

        def next_event() -> Any:
            event = parse()
            if isinstance(event, h11.Request) and _header_bytes(event) > limit:
                raise h11.RemoteProtocolError("request header fields too large", error_status_hint=431)
            return event

        self.conn.next_event = next_event  # type: ignore[method-assign]

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
            started = bool(self.conn.trailing_data[0]) or self.conn.their_state is not h11.IDLE
            self._drop(_408 if started else b"")

    def _drop(self, answer: bytes) -> None:
        self._stop_waiting()
        if not self.transport.is_closing():
            if answer:
                self.transport.write(answer)
            self.transport.close()

    # -- the cap ---------------------------------------------------------------------------------

    def _make_room(self) -> None:
        waiting = [
            c for c in self.connections
            if c is not self and isinstance(c, GuardedH11Protocol) and c._waiting_since is not None
        ]
        if waiting:
            oldest = min(waiting, key=lambda c: c._waiting_since or 0.0)
            oldest._drop(_408 if oldest.conn.trailing_data[0] else b"")
            self.connections.discard(oldest)  # it is closing; do not count it against the cap
        else:
            self._drop(_503)


def guarded_protocol(limits: ServerLimits) -> type[H11Protocol]:
    """The protocol class to pass to uvicorn as ``http=``, with ``limits`` in it."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {
        "cap": connection_cap(limits.max_connections), "header_timeout": limits.header_timeout_seconds,
        "max_header_bytes": limits.max_header_bytes,
    })


def _header_bytes(request: h11.Request) -> int:
    return len(request.method) + len(request.target) + sum(len(k) + len(v) + 4 for k, v in request.headers)


def uvicorn_config(app: Any, limits: ServerLimits, *, host: str, port: int, **options: Any) -> Any:
    """The uvicorn configuration ops-mcp runs with: guarded connections, bounded headers, short keep-alive."""
    import uvicorn

    from ..eventloop import uvicorn_loop

    options.setdefault("log_level", "info")
    options.setdefault("loop", uvicorn_loop())
    return uvicorn.Config(
        app, host=host, port=port, http=guarded_protocol(limits), access_log=False, lifespan="on",
        timeout_keep_alive=limits.keep_alive_seconds, h11_max_incomplete_event_size=limits.max_header_bytes,
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
