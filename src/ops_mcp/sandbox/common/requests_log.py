"""Request log middleware and the ``/_sandbox/*`` control routes shared by both emulators.

Tests use the log to prove exactly-once behaviour: every request that reached the back end is
recorded as ``(method, path, status, idempotency_key)`` (path relative to the app's mount).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ops_mcp.sandbox.common.faults import (
    ASGIApp,
    FaultRecord,
    FaultSettings,
    Message,
    Receive,
    Scope,
    Send,
    _is_sandbox_route,
    _route_path,
)


class RequestRecord(NamedTuple):
    method: str
    path: str
    status: int
    idempotency_key: str | None


@dataclass
class SandboxState:
    """The attributes the shared middleware and routes rely on; back ends extend it."""

    faults: FaultSettings = field(default_factory=FaultSettings)
    requests: list[RequestRecord] = field(default_factory=list)
    fault_log: list[FaultRecord] = field(default_factory=list)

    def reset_requests(self) -> None:
        self.requests.clear()
        self.fault_log.clear()

    def fault_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for record in self.fault_log:
            counts[record.kind] = counts.get(record.kind, 0) + 1
        return counts


class RequestLogMiddleware:
    def __init__(self, app: ASGIApp, state: Any) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = _route_path(scope)
        if _is_sandbox_route(path):
            await self.app(scope, receive, send)
            return
        key = None
        for name, value in scope.get("headers", []):
            if name.lower() == b"idempotency-key":
                key = value.decode("latin-1")
        status = 500
        recorded = False

        def record() -> None:
            nonlocal recorded
            if not recorded:
                recorded = True
                self.state.requests.append(RequestRecord(scope.get("method", ""), path, status, key))

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                # Before the last byte leaves: a client that has its answer finds the request in the log
                # (over a real socket it could otherwise read the log before this task appended to it).
                record()
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            record()  # no complete answer (a dropped connection, an error): recorded all the same


def sandbox_routes(state: Any) -> list[Route]:
    """``GET/DELETE /_sandbox/requests`` and ``GET/PUT /_sandbox/faults`` for ``state``."""

    async def requests_endpoint(request: Request) -> Response:
        if request.method == "DELETE":
            state.reset_requests()
            return Response(status_code=204)
        rows = [r._asdict() for r in state.requests]
        return JSONResponse({"requests": rows, "count": len(rows)})

    async def faults_endpoint(request: Request) -> Response:
        if request.method == "PUT":
            try:
                changes = await request.json()
                if not isinstance(changes, dict):
                    raise ValueError("body must be a JSON object")
                state.faults = state.faults.updated(changes)
            except ValueError as exc:
                return JSONResponse({"error": str(exc)}, status_code=422)
        counts = state.fault_counts() if hasattr(state, "fault_counts") else {}
        return JSONResponse({"faults": state.faults.to_dict(), "applied": counts})

    return [
        Route("/_sandbox/requests", requests_endpoint, methods=["GET", "DELETE"]),
        Route("/_sandbox/faults", faults_endpoint, methods=["GET", "PUT"]),
    ]
