"""`create_remoteops_app`: the RemoteOps v1 emulator as a Starlette app (routes relative to /v1)."""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ops_mcp.sandbox.common.faults import FaultInjector
from ops_mcp.sandbox.common.requests_log import RequestLogMiddleware, sandbox_routes
from ops_mcp.sandbox.remoteops import calls, contracts, customers, inventory, invoices, webhooks, work_orders
from ops_mcp.sandbox.remoteops.http import Operation, make_endpoint
from ops_mcp.sandbox.remoteops.middleware import ApiHeadersMiddleware
from ops_mcp.sandbox.remoteops.problems import injected_error_body, instance_of, problem_body
from ops_mcp.sandbox.remoteops.seed import seed_tenants
from ops_mcp.sandbox.remoteops.settings import RemoteOpsSandboxSettings
from ops_mcp.sandbox.remoteops.store import RemoteOpsState

OPERATIONS: list[Operation] = [
    *work_orders.OPERATIONS, *customers.OPERATIONS, *contracts.OPERATIONS, *invoices.OPERATIONS,
    *calls.OPERATIONS, *inventory.OPERATIONS, *webhooks.OPERATIONS,
]


def _routes(state: RemoteOpsState) -> list[Route]:
    by_path: dict[str, list[Operation]] = {}
    for op in OPERATIONS:
        by_path.setdefault(op.path, []).append(op)
    routes = []
    for path, ops in by_path.items():
        for op in ops:
            routes.append(Route(path, make_endpoint(op, state), methods=[op.method], name=op.operation_id))
    return routes


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    code = {404: "not-found", 405: "method-not-allowed"}.get(status, "bad-request")
    detail = {404: "No such endpoint; see the RemoteOps v1 OpenAPI document.",
              405: "This endpoint does not support that method."}.get(status, "Bad request.")
    request_id = getattr(request.state, "request_id", "req_unknown")
    body = problem_body(status, code, detail, instance_of(request.url.path), request_id)
    headers = dict(exc.headers or {}) if isinstance(exc, HTTPException) else {}
    return Response(json.dumps(body), status_code=status, headers=headers, media_type="application/problem+json")


def create_remoteops_app(settings: RemoteOpsSandboxSettings | None = None) -> Starlette:
    settings = settings or RemoteOpsSandboxSettings()
    state = RemoteOpsState(settings, seed=seed_tenants)  # loaded or seeded at first use
    app = Starlette(
        routes=[*_routes(state), *sandbox_routes(state)],
        middleware=[
            Middleware(FaultInjector, settings_getter=lambda: state.faults, on_fault=state.fault_log.append,
                       error_body=injected_error_body),
            Middleware(RequestLogMiddleware, state=state),
            Middleware(ApiHeadersMiddleware),
        ],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.sandbox = state
    return app
