"""Operation registry: each API operation declares method, path, scope, token kind and handler once.

The wrapper does what every authenticated Remote call shares, in the real order: bearer token
(401), rate limit (429, counted per company or per partner client), token kind and scope (403),
then the handler; rate-limit headers go on every authenticated response, errors included.

Company scoping lives here too: a company token sees only its own company (`Ctx.company_ids`,
`Ctx.get`, `Ctx.own_company`), so another company's ids answer 404 by every path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ops_mcp.sandbox.remote.auth import COMPANY, TOKEN_KINDS, Principal, principal_for
from ops_mcp.sandbox.remote.errors import ApiError, not_found
from ops_mcp.sandbox.remote.events import emit
from ops_mcp.sandbox.remote.store import RemoteState


@dataclass
class Ctx:
    request: Request
    state: RemoteState
    principal: Principal

    def param(self, name: str) -> str:
        return self.request.path_params[name]

    @property
    def company_id(self) -> str:
        """The caller's company (operations of kind `company` only run for company tokens)."""
        company_id = self.principal.company_id
        assert company_id is not None, "company operation reached by a partner-level token"
        return company_id

    @property
    def company_ids(self) -> tuple[str, ...]:
        """Companies visible to the caller, narrowed by a `company_id` query parameter.

        A company the token cannot see narrows to nothing (an empty list), as a filter does.
        """
        wanted = self.request.query_params.get("company_id")
        if wanted:
            return (wanted,) if wanted in self.principal.company_ids else ()
        return self.principal.company_ids

    def own_company(self, company_id: Any) -> dict[str, Any]:
        """The caller's company when `company_id` names it; any other company is not found."""
        if not isinstance(company_id, str) or company_id not in self.principal.company_ids:
            raise not_found("Company")
        return self.state.data["companies"][company_id]

    def acting_company(self, body: dict[str, Any] | None = None) -> str:
        """The company a create acts for: the token's; a `company_id` naming another is not found."""
        wanted = (body or {}).get("company_id") or self.request.query_params.get("company_id")
        if wanted:
            return self.own_company(wanted)["id"]
        return self.company_id

    def get(self, collection: str, record_id: str, resource: str) -> dict[str, Any]:
        record = self.state.get(collection, record_id, self.principal.company_ids)
        if record is None:
            raise not_found(resource)
        return record

    async def emit(self, event_type: str, company_id: str, **ids: str) -> None:
        await emit(self.state, event_type, company_id, ids)


Handler = Callable[[Ctx], Awaitable[Response]]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    scope: str | None
    handler: Handler
    token: str = COMPANY  # "company" | "client_credentials" | "any" (the document's x-token-kind)


class Router:
    def __init__(self) -> None:
        self.operations: list[Operation] = []

    def op(self, method: str, path: str, scope: str | None, token: str = COMPANY) -> Callable[[Handler], Handler]:
        if token not in TOKEN_KINDS:
            raise ValueError(f"unknown token kind {token!r}")

        def register(handler: Handler) -> Handler:
            for one in method.split("|"):
                self.operations.append(Operation(one, path, scope, handler, token))
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
            principal.require(operation.scope, operation.token)
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
