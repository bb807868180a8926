"""Signing in and out, the stylesheet, and the start page."""

from __future__ import annotations

import hmac
import logging
import secrets
from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ..text import neutralise
from .people import password_matches
from .web import PRE_COOKIE, PREFIX, TEMPLATES, Signed, safe_next

log = logging.getLogger("ops_mcp.console")

SIGNIN_SECONDS = 15 * 60
MAX_PASSWORD = 1024  # longer is no password this console issued; refused at the same cost
# Checked when the name is unknown too, so the time taken does not tell which names have accounts.
_DUMMY = "scrypt$16384$8$1$00000000000000000000000000000000$" + "0" * 64


def routes(console: Any) -> list[Route]:
    web = console.web

    async def form(request: Request) -> Response:
        token = secrets.token_urlsafe(32)
        page = web.render(
            request,
            "signin.html",
            None,
            next=safe_next(request.query_params.get("next")),
            signin_token=token,
            problem="",
        )
        web.set_cookie(page, PRE_COOKIE, token, SIGNIN_SECONDS)
        return page

    @web.change(None)
    async def signout(request: Request, _who: Signed, _form: FormData) -> Response:
        response = RedirectResponse(f"{PREFIX}/signin", status_code=303)
        web.end_session(request, response)
        return response

    async def home(request: Request) -> Response:
        who = web.require(request)
        runtime = console.runtime
        return web.render(
            request, "home.html", who, agents=runtime.policies.names(), waiting=len(console.desk.waiting())
        )

    async def stylesheet(request: Request) -> Response:
        return Response(
            (TEMPLATES.parent / "static" / "console.css").read_bytes(),
            media_type="text/css",
            headers={"cache-control": "max-age=300"},
        )

    return [
        Route("/", home, methods=["GET"]),
        Route("/signin", form, methods=["GET"]),
        Route("/signin", _submit(web), methods=["POST"]),
        Route("/signout", signout, methods=["POST"]),
        Route("/static/console.css", stylesheet, methods=["GET"]),
    ]


def _submit(web: Any) -> Any:
    """The sign-in form's POST: its own CSRF token, the throttle, then the password (or a dummy's)."""

    async def submit(request: Request) -> Response:
        data = await request.form(max_fields=10)
        bound = request.cookies.get(PRE_COOKIE, "")
        token = data.get("csrf")
        if not bound or not isinstance(token, str) or not hmac.compare_digest(token, bound):
            raise HTTPException(
                403,
                "This sign-in form has expired or did not come from the console. "
                "Reload the page and try again.",
            )
        name, password = str(data.get("name", "")), str(data.get("password", ""))
        address = request.client.host if request.client is not None else "unknown"
        wait = web.throttle.wait(name, address)
        if wait:
            # Refused before the password is looked at: a locked name is no oracle for a right guess.
            page = again(request, data, bound, 429, f"Too many failed sign-ins. Try again in {wait} seconds.")
            page.headers["retry-after"] = str(wait)
            return page
        account = web.store.account(name) if 0 < len(name) <= 64 else None
        # Unknown names are checked against a dummy hash: the same answer at the same cost.
        checked = password if len(password) <= MAX_PASSWORD else ""
        ok = password_matches(checked, account.password_hash if account else _DUMMY) and bool(checked)
        if not ok or account is None:
            locked = web.throttle.failed(name, address)
            if locked:  # the operator sees a guessing run in the log; the name is the guesser's text
                log.warning("console sign-in locked for %ss: name %s from %s", locked, neutralise(name, 80), address)
            return again(request, data, bound, 401, "Wrong name or password.")
        web.throttle.succeeded(name)
        response = RedirectResponse(safe_next(str(data.get("next", ""))), status_code=303)
        web.start_session(response, account, replacing=request)
        return response

    def again(request: Request, data: Any, bound: str, status: int, problem: str) -> Response:
        return web.render(
            request,
            "signin.html",
            None,
            status=status,
            next=safe_next(str(data.get("next", ""))),
            signin_token=bound,
            problem=problem,
        )

    return submit
