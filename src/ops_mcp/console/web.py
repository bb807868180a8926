"""What every console page shares: who is signed in, their powers, CSRF, rendering, security headers.

Sessions live in a cookie holding 256 random bits (only its SHA-256 is stored), HttpOnly,
SameSite=Strict, Secure when the console is reached over HTTPS, scoped to ``/admin``. Every POST carries
the session's CSRF token in a hidden field (the sign-in form, before there is a session, a token bound to
a short-lived cookie of its own). Pages are rendered by Jinja2 with autoescaping on; agent-supplied text
also goes through ``neutralise`` (the ``n`` filter). No script is served at all: the
Content-Security-Policy allows only the console's own stylesheet.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ..text import neutralise
from .people import SESSION_SECONDS, Account, ConsoleStore, Session, session_digest
from .throttle import SigninThrottle

COOKIE = "ops_console"
PRE_COOKIE = "ops_console_signin"  # binds the sign-in form's CSRF token before there is a session
PREFIX = "/admin"
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
TEMPLATES = Path(__file__).with_name("templates")
POWER_ATTRIBUTE = "console_power"  # on every state-changing endpoint: the power it needs (None: any role)
MAX_FORM_FIELDS = 4000  # the matrix of every agent posts ~one field per area and agent


ChangeHandler = Callable[["Request", "Signed", FormData], Awaitable[Response]]


@dataclass
class Signed:
    """The person behind a request."""

    account: Account
    session: Session

    @property
    def name(self) -> str:
        return self.account.name

    def may(self, power: str) -> bool:
        return self.account.may(power)


@dataclass
class Web:
    store: ConsoleStore
    secure: bool  # the console's public URL is https: cookies are Secure
    clock: Callable[[], float] = time.time
    templates: Any = field(default=None)
    throttle: SigninThrottle = field(default_factory=SigninThrottle)

    def __post_init__(self) -> None:
        import jinja2
        from starlette.templating import Jinja2Templates

        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
        )
        env.filters["n"] = lambda value, limit=None: neutralise(value, limit) if value is not None else ""
        env.filters["when"] = when
        self.templates = Jinja2Templates(env=env)

    # -- who is signed in -----------------------------------------------------------------------

    def signed(self, request: Request) -> Signed | None:
        cookie = request.cookies.get(COOKIE)
        if not cookie or len(cookie) > 200:
            return None
        session = self.store.session(session_digest(cookie), self.clock())
        if session is None:
            return None
        account = self.store.account(session.name)
        return Signed(account, session) if account is not None else None

    def require(self, request: Request, power: str | None = None) -> Signed:
        """The signed-in person (else to the sign-in page, then back here), holding ``power`` (else 403)."""
        who = self.signed(request)
        if who is None:
            back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise HTTPException(303, headers={"location": f"{PREFIX}/signin?next={quote(back, safe='')}"})
        if power is not None and not who.may(power):
            raise HTTPException(403, f"Your role ({who.account.role}) may not do this.")
        return who

    async def posted(self, request: Request, power: str | None) -> tuple[Signed, FormData]:
        """A state change: signed in, holding ``power``, and carrying this session's CSRF token."""
        who = self.require(request, None)
        form = await request.form(max_fields=MAX_FORM_FIELDS)
        token = form.get("csrf")
        if not isinstance(token, str) or not hmac.compare_digest(token, who.session.csrf):
            raise HTTPException(
                403,
                "This form has expired or did not come from the console (CSRF token missing "
                "or wrong). Reload the page and try again.",
            )
        if power is not None and not who.may(power):
            raise HTTPException(403, f"Your role ({who.account.role}) may not do this.")
        return who, form

    def change(self, power: str | None) -> Callable[[ChangeHandler], Callable[[Request], Awaitable[Response]]]:
        """Make ``handler(request, who, form)`` a state-changing endpoint: it runs only for a signed-in
        person holding ``power`` (``None``: anyone signed in) whose form carries the session's CSRF token.

        The endpoint carries ``power`` as ``console_power``: the hostile-side tests read it from the route
        table, so every POST route — including one added later — is tried without a session, without the
        token, and by every role that lacks the power.
        """

        def wrap(handler: ChangeHandler) -> Callable[[Request], Awaitable[Response]]:
            async def endpoint(request: Request) -> Response:
                who, form = await self.posted(request, power)
                return await handler(request, who, form)

            endpoint.__name__ = handler.__name__
            setattr(endpoint, POWER_ATTRIBUTE, power)
            return endpoint

        return wrap

    # -- sessions -------------------------------------------------------------------------------

    def start_session(self, response: Response, account: Account, *, replacing: Request | None = None) -> None:
        """A new session id at every sign-in; the one ``replacing`` carried in (stale, or planted by
        someone hoping to share it: session fixation) ends here."""
        carried = replacing.cookies.get(COOKIE) if replacing is not None else None
        if carried:
            self.store.close_session(session_digest(carried))
        cookie = secrets.token_urlsafe(32)
        session = Session(
            session_digest(cookie), account.name, secrets.token_urlsafe(32), self.clock() + SESSION_SECONDS
        )
        self.store.open_session(session)
        self.set_cookie(response, COOKIE, cookie, int(SESSION_SECONDS))
        response.delete_cookie(PRE_COOKIE, path=PREFIX)

    def end_session(self, request: Request, response: Response) -> None:
        cookie = request.cookies.get(COOKIE)
        if cookie:
            self.store.close_session(session_digest(cookie))
        response.delete_cookie(COOKIE, path=PREFIX)

    def set_cookie(self, response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(
            name, value, max_age=max_age, path=PREFIX, secure=self.secure, httponly=True, samesite="strict"
        )

    # -- pages ----------------------------------------------------------------------------------

    def render(
        self, request: Request, name: str, who: Signed | None, status: int = 200, **context: Any
    ) -> Response:
        context.setdefault("message", _confirmation(request, who))
        page: Response = self.templates.TemplateResponse(
            request,
            name,
            {"who": who, "csrf": who.session.csrf if who else "", **context},
            status_code=status,
        )
        return page


def back_to(who: Signed, target: str, message: str = "") -> RedirectResponse:
    """To ``target`` after a change, which then says ``message`` ("Saved: ...").

    The message rides in the URL with a MAC keyed by the session's CSRF token, so only the console can
    make a page say something: a link someone else crafted (``?done=Your session expired, sign in again at
    evil.example``) shows nothing, however official the box it would appear in.
    """
    if not message:
        return RedirectResponse(target, status_code=303)
    query = urlencode({"done": message, "mac": _mac(who.session.csrf, message)})
    return RedirectResponse(f"{target}?{query}", status_code=303)


def _mac(key: str, message: str) -> str:
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


def _confirmation(request: Request, who: Signed | None) -> str:
    done = request.query_params.get("done", "")
    mac = request.query_params.get("mac", "")
    if not done or who is None or not hmac.compare_digest(mac, _mac(who.session.csrf, done)):
        return ""
    return done


def safe_next(value: str | None) -> str:
    """Only a path inside the console (no scheme, no host, no ``//``): never an open redirect."""
    if not value or not value.startswith(PREFIX + "/") or "//" in value or "\\" in value or "\n" in value:
        return PREFIX + "/"
    return value


def when(moment: float | None) -> str:
    if moment is None:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(moment))


class SecurityHeaders:
    """Adds the console's security headers (CSP, no framing, no caching) to every response."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k.encode(), v.encode()) for k, v in HEADERS.items() if k.encode() not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


def error_page(web: Web) -> Callable[[Request, Exception], Any]:
    async def handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if 300 <= exc.status_code < 400:
            return RedirectResponse(
                exc.headers.get("location", PREFIX + "/") if exc.headers else PREFIX + "/",
                status_code=exc.status_code,
            )
        return web.render(
            request, "error.html", web.signed(request), status=exc.status_code, problem=exc.detail
        )

    return handler
