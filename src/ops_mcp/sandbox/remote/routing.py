"""Operation registry: each API operation declares method, path, scope and handler once.

The wrapper does what every authenticated Remote call shares, in the real order: bearer token
(401), rate limit (429, counted per company), scope (403), then the handler; rate-limit headers go
on every authenticated response, errors included.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ops_mcp.sandbox.remote.auth import Principal, principal_for
from ops_mcp.sandbox.remote.errors import ApiError, invalid_field, not_found
from ops_mcp.sandbox.remote.store import RemoteState


@dataclass
class Ctx:
    request: Request
    state: RemoteState
    principal: Principal

    def param(self, name: str) -> str:
        return self.request.path_params[name]

    @property
    def company_ids(self) -> tuple[str, ...]:
        """Companies visible to the caller, narrowed by a `company_id` query parameter.

        A company the token cannot see narrows to nothing (an empty list), as a filter does.
        """
        wanted = self.request.query_params.get("company_id")
        if wanted:
            return (wanted,) if wanted in self.principal.company_ids else ()
        return self.principal.company_ids

    def acting_company(self, body: dict[str, Any] | None = None) -> str:
        """The one company a create acts for; tokens spanning companies must name it."""
        wanted = (body or {}).get("company_id") or self.request.query_params.get("company_id")
        if wanted:
            if wanted not in self.principal.company_ids:
                raise not_found("Company")
            return wanted
        if self.principal.single_company is None:
            raise invalid_field("company_id", "is required when the token acts for several companies")
        return self.principal.single_company

    def get(self, collection: str, record_id: str, resource: str) -> dict[str, Any]:
        record = self.state.get(collection, record_id, self.principal.company_ids)
        if record is None:
            raise not_found(resource)
        return record

    async def emit(self, event_type: str, company_id: str, **ids: str) -> None:
        from ops_mcp.sandbox.remote.webhooks import emit

        await emit(self.state, event_type, company_id, ids)


Handler = Callable[[Ctx], Awaitable[Response]]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    scope: str | None
    handler: Handler


class Router:
    def __init__(self) -> None:
        self.operations: list[Operation] = []

    def op(self, method: str, path: str, scope: str | None) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            for one in method.split("|"):
                self.operations.append(Operation(one, path, scope, handler))
            return handler

        return register


def _endpoint(operation: Operation) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        state: RemoteState = request.app.state.sandbox
        try:
            principal = principal_for(request, state)
        except ApiError as exc:
            return exc.response()
        allowed, headers = state.rate_limiter.hit(principal.rate_key)
        if not allowed:
            return JSONResponse({"message": "Too many requests"}, status_code=429, headers=headers)
        try:
            principal.require(operation.scope)
            response = await operation.handler(Ctx(request, state, principal))
        except ApiError as exc:
            response = exc.response()
        response.headers.update(headers)
        if request.method != "GET" and response.status_code < 300:
            state.save()
        return response

    endpoint.__name__ = operation.handler.__name__
    return endpoint


def build_routes(routers: list[Router]) -> list[Route]:
    return [
        Route(op.path, _endpoint(op), methods=[op.method], name=f"{op.method.lower()}:{op.path}")
        for router in routers
        for op in router.operations
    ]
