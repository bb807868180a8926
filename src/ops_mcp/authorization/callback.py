"""The HTTP server's consent callback, ``GET /oauth/callback/{backend}``, for ``ops-mcp connect --via server``.

The command records the consent it started (a digest of its ``state``, the connection, the redirect
URI, an expiry) in the state dir; this route claims that record once, exchanges the code, checks the
company and stores the refresh token, then writes the outcome back for the waiting command. It needs
no agent credential (a browser lands here), and an unknown, reused or expired ``state`` changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from ..secretbox import SecretKeyError
from .flow import AuthorizationRequest, ConnectError, callback_path, complete
from .pages import connected_page, failed_page
from .stores import PendingAuthorizations

if TYPE_CHECKING:
    from ..runtime import Runtime

_HEADERS = {"cache-control": "no-store", "x-frame-options": "DENY", "referrer-policy": "no-referrer"}


def authorization_routes(runtime: Runtime) -> list[Route]:
    async def callback(request: Request) -> HTMLResponse:
        backend = request.path_params["backend"]
        state = request.query_params.get("state") or ""
        pending_store = runtime.store.pending_authorizations()  # any replica may get the callback
        try:
            return await _finish(runtime, pending_store, backend, state, request)
        finally:
            pending_store.close()

    return [Route(callback_path("{backend}"), callback, methods=["GET"])]


async def _finish(runtime: Runtime, pending_store: PendingAuthorizations, backend: str, state: str,
                  request: Request) -> HTMLResponse:
    pending = pending_store.take(state, backend) if state else None
    if pending is None:
        return _page(400, failed_page("No authorization is waiting for this answer (unknown or expired). "
                                      f"Run `ops-mcp connect {backend} --connection NAME --via server` again."))
    tenant = runtime.tenants.get(backend, pending.connection)
    error = request.query_params.get("error")
    code = request.query_params.get("code")
    if tenant is None or error or not code:
        why = (f"the company admin did not approve ({error})" if error else
               "the answer carries no authorization code" if tenant is not None else
               f"connection {pending.connection} is no longer configured")
        pending_store.finish(state, "failed", f"{why}; nothing was stored")
        return _page(400, failed_page(f"Not connected: {why}."))
    try:
        grants = runtime.store.grants()
    except SecretKeyError as exc:
        pending_store.finish(state, "failed", str(exc))
        return _page(500, failed_page("Not connected: the server has no secret key to store the token with."))
    try:
        done = await complete(AuthorizationRequest(tenant, pending.redirect_uri, state, ""), code, grants)
    except ConnectError as exc:
        pending_store.finish(state, "failed", str(exc))
        return _page(400, failed_page(f"Not connected: {exc}."))
    finally:
        grants.close()
    pending_store.finish(state, "connected", f"company {done.company_id}")
    return _page(200, connected_page(done.backend, done.connection, done.company_id))


def _page(status: int, body: str) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=_HEADERS)
