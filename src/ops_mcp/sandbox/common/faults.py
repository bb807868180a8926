"""Fault injection for reliability tests: a pure ASGI middleware.

Which faults run the request matters for exactly-once tests:

- ``error_rate``: a 500/503 is returned *before* the request runs (no side effect).
- ``timeout_rate``: sleeps ``timeout_seconds`` first, then runs the request (a client with a
  shorter timeout gives up while the side effect still happens later).
- ``drop_rate``: runs the request, sends the headers with the real Content-Length and part of the
  body, then breaks the connection (the side effect happened; the client sees a protocol error).
- ``truncate_rate``: runs the request, then sends a cut-off JSON body whose Content-Length matches
  what is sent (the client sees a complete response that is not valid JSON).
- ``non_json_rate``: runs the request, then answers an HTML 502 page as a proxy would.

``latency_ms`` is added to every request on top. ``/_sandbox/*`` routes are never faulted.

A ``seed`` makes the draws reproducible: one sequence, in the order requests arrive. With ``per_request``
as well, which fault a request gets is a function of the seed, the request itself (method, path, query,
body) and how many times that same request arrived before: a retry draws afresh, and concurrent requests get
the same faults whatever order they arrive in.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

import anyio
import httpx

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

FAULT_KINDS = ("error", "drop", "truncate", "non_json", "timeout")


@dataclass
class FaultSettings:
    latency_ms: float = 0
    error_rate: float = 0
    drop_rate: float = 0
    truncate_rate: float = 0
    non_json_rate: float = 0
    timeout_rate: float = 0
    timeout_seconds: float = 30
    seed: int | None = None
    per_request: bool = False  # with a seed: draw per request and its arrival count (see the module doc)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def updated(self, changes: dict[str, Any]) -> FaultSettings:
        """A copy with ``changes`` applied; unknown keys or bad values raise ValueError."""
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(sorted(unknown))}")
        values = self.to_dict() | changes
        for name, value in values.items():
            if name == "seed":
                if value is not None and not isinstance(value, int):
                    raise ValueError("seed must be an integer or null")
                continue
            if name == "per_request":
                if not isinstance(value, bool):
                    raise ValueError("per_request must be true or false")
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name} must be a non-negative number")
            if name.endswith("_rate") and value > 1:
                raise ValueError(f"{name} must be between 0 and 1")
        return FaultSettings(**values)


@dataclass(frozen=True)
class FaultRecord:
    kind: str  # one of FAULT_KINDS, or "latency"
    method: str
    path: str
    request: str = ""  # per_request: a digest of the request (method, path, query, body)
    attempt: int = 0  # per_request: how many times that same request arrived before this one


class SimulatedDisconnect(httpx.RemoteProtocolError):
    """Raised after a partial body so the connection breaks.

    Under uvicorn the server closes the socket mid-body (the client sees an incomplete read);
    in-process, httpx's ASGITransport re-raises it, so the client sees the same
    ``httpx.RemoteProtocolError`` it would see on a real network.
    """


def _route_path(scope: Scope) -> str:
    path = scope.get("path", "")
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return path or "/"


def _is_sandbox_route(path: str) -> bool:
    return path == "/_sandbox" or path.startswith("/_sandbox/") or "/_sandbox/" in path


def _default_error_body(status: int) -> tuple[bytes, str]:
    body = {
        "type": "about:blank",
        "title": "Service Unavailable" if status == 503 else "Internal Server Error",
        "status": status,
        "detail": "Injected fault: the sandbox simulated a server error. Retry later.",
        "code": "server-error",
        "message": "Injected fault: simulated server error",
    }
    return json.dumps(body).encode(), "application/problem+json"


_HTML_502 = (
    b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1>"
    b"</center><hr><center>nginx</center></body></html>\n"
)


class FaultInjector:
    """ASGI middleware applying ``settings_getter()`` to each request.

    ``on_fault`` receives a :class:`FaultRecord` for every fault applied (latency included), so
    tests can count them; ``error_body(status)`` lets a back end shape its injected 5xx bodies.
    """

    def __init__(
        self,
        app: ASGIApp,
        settings_getter: Callable[[], FaultSettings],
        on_fault: Callable[[FaultRecord], None] | None = None,
        error_body: Callable[[int], tuple[bytes, str]] | None = None,
    ) -> None:
        self.app = app
        self.settings_getter = settings_getter
        self.on_fault = on_fault
        self.error_body = error_body or _default_error_body
        self.applied: list[FaultRecord] = []
        self._rng = random.Random()
        self._seed_seen: object = object()
        self._arrivals: dict[str, int] = {}

    def _rng_for(self, settings: FaultSettings) -> random.Random:
        # Start afresh whenever the configured seed changes so a run with a seed is reproducible.
        if settings.seed != self._seed_seen:
            self._seed_seen = settings.seed
            self._rng = random.Random(settings.seed)
            self._arrivals = {}
        return self._rng

    def _draws_for(self, settings: FaultSettings, request: str) -> tuple[random.Random, int]:
        """Per request: the draws of this arrival of ``request`` (its own stream, whatever else is running)."""
        self._rng_for(settings)
        attempt = self._arrivals.get(request, 0)
        self._arrivals[request] = attempt + 1
        return random.Random(f"{settings.seed}/{request}/{attempt}"), attempt

    @staticmethod
    def _pick(settings: FaultSettings, draw: float) -> str | None:
        edge = 0.0
        for kind in FAULT_KINDS:
            edge += float(getattr(settings, f"{kind}_rate"))
            if draw < edge:
                return kind
        return None

    def _record(self, kind: str, scope: Scope, path: str, request: str = "", attempt: int = 0) -> None:
        record = FaultRecord(kind, scope.get("method", ""), path, request, attempt)
        self.applied.append(record)
        if self.on_fault is not None:
            self.on_fault(record)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = _route_path(scope)
        settings = self.settings_getter()
        if _is_sandbox_route(path) or settings is None:
            await self.app(scope, receive, send)
            return

        if settings.latency_ms > 0:
            self._record("latency", scope, path)
            await anyio.sleep(settings.latency_ms / 1000)

        rng, request, attempt = self._rng_for(settings), "", 0
        if settings.seed is not None and settings.per_request:
            receive, body = await _buffered(receive)
            request = _digest(scope, path, body)
            rng, attempt = self._draws_for(settings, request)
        kind = self._pick(settings, rng.random())
        if kind is None:
            await self.app(scope, receive, send)
            return
        self._record(kind, scope, path, request, attempt)

        if kind == "error":
            status = rng.choice((500, 503))
            body, content_type = self.error_body(status)
            headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
            if status == 503:
                headers.append((b"retry-after", b"1"))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        if kind == "timeout":
            # The request is read in full first, as a server would: the client gives up during the sleep,
            # and the request still runs (and takes effect) after it.
            receive, _ = await _buffered(receive)
            await anyio.sleep(settings.timeout_seconds)
            await self.app(scope, receive, send)
            return

        status, headers, body = await _run_and_capture(self.app, scope, receive)
        if kind == "drop":
            headers = _with_length(headers, len(body))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
            raise SimulatedDisconnect("Injected fault: connection dropped before the response body completed")
        if kind == "truncate":
            cut = body[: max(1, len(body) // 2)] if body else b'{"'
            headers = _with_length(headers, len(cut))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": cut})
            return
        # non_json
        html_headers = [
            (b"content-type", b"text/html"),
            (b"content-length", str(len(_HTML_502)).encode()),
        ]
        await send({"type": "http.response.start", "status": 502, "headers": html_headers})
        await send({"type": "http.response.body", "body": _HTML_502})


async def _buffered(receive: Receive) -> tuple[Receive, bytes]:
    """Read the whole request body now; replay it to the app later (then the live channel)."""
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            break

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return replay, b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")


def _digest(scope: Scope, path: str, body: bytes) -> str:
    """What makes two requests "the same request" for seeded draws."""
    parts = (scope.get("method", ""), path, scope.get("query_string", b"").decode("latin-1"))
    return hashlib.sha256("\n".join(parts).encode() + b"\n" + body).hexdigest()[:16]


def _with_length(headers: list[tuple[bytes, bytes]], length: int) -> list[tuple[bytes, bytes]]:
    kept = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    return [*kept, (b"content-length", str(length).encode())]


async def _run_and_capture(app: ASGIApp, scope: Scope, receive: Receive) -> tuple[int, list, bytes]:
    """Run the request to completion, keeping its response instead of sending it."""
    status = 500
    headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []

    async def capture(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, capture)
    return status, headers, b"".join(chunks)
