"""`create_remote_app`: the Remote emulator as a Starlette app (mounted under `/remote`)."""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ops_mcp.sandbox.common import FaultInjector, RequestLogMiddleware, sandbox_routes
from ops_mcp.sandbox.remote import (
    billing,
    companies,
    contracts,
    cost_calculator,
    countries,
    custom_fields,
    departments,
    documents,
    employments,
    employments_v2,
    expenses,
    incentives,
    invoices,
    leave,
    managers,
    offboarding,
    onboarding,
    payroll,
    payroll_calendars,
    probation,
    timeoff,
    timesheets,
    travel,
    webhooks,
)
from ops_mcp.sandbox.remote.errors import ApiError, handle_api_error
from ops_mcp.sandbox.remote.oauth import authorize, oauth_token
from ops_mcp.sandbox.remote.ratelimit import RateLimiter
from ops_mcp.sandbox.remote.routing import build_routes
from ops_mcp.sandbox.remote.settings import RemoteSandboxSettings
from ops_mcp.sandbox.remote.store import RemoteState

ROUTERS = [employments.router, employments_v2.router, onboarding.router, contracts.router, timeoff.router,
           leave.router, timesheets.router, payroll_calendars.router, payroll.router, companies.router,
           managers.router, departments.router, countries.router, invoices.router, billing.router, expenses.router,
           incentives.router, offboarding.router, probation.router, documents.router, custom_fields.router,
           travel.router, cost_calculator.router, webhooks.router]


def _fault_body(status: int) -> tuple[bytes, str]:
    # Remote's gateway answers 5xx with a `message` body like its other errors.
    message = "Service unavailable" if status == 503 else "Internal server error"
    return json.dumps({"message": message}).encode(), "application/json"


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, exc.detail)
    return JSONResponse({"message": message}, status_code=exc.status_code, headers=exc.headers)


def _control_routes(state: RemoteState) -> list[Route]:
    """Sandbox-only controls next to the shared /_sandbox/requests and /_sandbox/faults."""

    async def reset(_request: Request) -> Response:
        state.reset()
        return JSONResponse({"status": "reset"})

    async def deliveries(_request: Request) -> Response:
        deliverer = state.deliverer
        return JSONResponse({
            "events": state.events,
            "attempts": [vars(a) for a in deliverer.attempts] if deliverer else [],
            "dead_letters": [vars(d) for d in deliverer.dead_letters] if deliverer else [],
            "counters": dict(state.counters),
        })

    return [Route("/_sandbox/reset", reset, methods=["POST"]),
            Route("/_sandbox/webhooks", deliveries, methods=["GET"])]


def create_remote_app(settings: RemoteSandboxSettings | None = None) -> Starlette:
    settings = settings or RemoteSandboxSettings()
    state = RemoteState.create(settings)
    state.rate_limiter = RateLimiter(settings)
    routes = [
        Route("/auth/oauth2/token", oauth_token, methods=["POST"]),
        Route("/auth/oauth2/authorize", authorize, methods=["GET", "POST"]),
        *build_routes(ROUTERS),
        *sandbox_routes(state),
        *_control_routes(state),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(FaultInjector, settings_getter=lambda: state.faults, on_fault=state.fault_log.append,
                       error_body=_fault_body),
            Middleware(RequestLogMiddleware, state=state),
        ],
        exception_handlers={ApiError: handle_api_error, HTTPException: _http_error},
    )
    app.state.sandbox = state
    return app
