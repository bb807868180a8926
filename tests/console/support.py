"""What the console tests do in the browser and over MCP."""

from __future__ import annotations

import re
import threading
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import anyio
import httpx
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.support.loopback import mcp_http_client


def sign_in(page: Any, base: str, name: str, password: str, *, at: str = "/admin/") -> None:
    """Sign in on the sign-in page (whoever was signed in before), then land on ``at``."""
    page.goto(f"{base}/admin/signin?next={quote(at, safe='')}")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def in_thread(job: Callable[[], Awaitable[Any]]) -> Any:
    """Run an async MCP client job on an event loop of its own (Playwright's sync API owns this thread's)."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = anyio.run(job)
        except BaseException as exc:  # handed back to the test
            result["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(120)
    if "error" in result:
        raise result["error"]
    return result["value"]


def mcp_client(base: str, token: str, **options: Any) -> Client:
    http = mcp_http_client(token)
    return Client(streamable_http_client(f"{base}/mcp", http_client=http), mode="legacy", **options)


async def tool_names(base: str, token: str) -> set[str]:
    async with mcp_client(base, token) as client:
        return {tool.name for tool in (await client.list_tools()).tools}


class HttpSession:
    """A person signed in with a plain HTTP client (for what a browser would never send: a POST without
    the CSRF token, a role's forbidden form)."""

    def __init__(self, base: str, name: str, password: str) -> None:
        self.http = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
        form = self.http.get("/admin/signin")
        token = csrf_of(form.text)
        done = self.http.post("/admin/signin", data={"csrf": token, "name": name, "password": password})
        assert done.status_code == 303, done.text
        self.csrf = csrf_of(self.http.get("/admin/").text)

    def post(self, path: str, data: dict[str, str], *, csrf: bool = True) -> httpx.Response:
        return self.http.post(path, data={**data, **({"csrf": self.csrf} if csrf else {})})


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


class ListChangedWatch:
    """An agent's open handshake-era session, in a thread of its own, that records its tool list, waits
    for ``notifications/tools/list_changed`` after ``go()``, and records its tool list again."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token
        self.ready, self.saved = threading.Event(), threading.Event()
        self.before: set[str] = set()
        self.after: set[str] | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run)

    def __enter__(self) -> ListChangedWatch:
        self.thread.start()
        assert self.ready.wait(60), self.error
        return self

    def go(self) -> None:
        self.saved.set()

    def __exit__(self, *exc: object) -> None:
        self.saved.set()
        self.thread.join(90)

    def _run(self) -> None:
        try:
            in_thread(self._session)
        except BaseException as error:  # seen by the test as `after is None` and `error`
            self.error = error
            self.ready.set()

    async def _session(self) -> None:
        changed = anyio.Event()

        async def on_message(message: Any) -> None:
            if (
                getattr(getattr(message, "root", message), "method", None)
                == "notifications/tools/list_changed"
            ):
                changed.set()

        async with mcp_client(self.base, self.token, message_handler=on_message) as client:
            self.before = {t.name for t in (await client.list_tools()).tools}
            self.ready.set()
            await anyio.to_thread.run_sync(self.saved.wait, 60)
            with anyio.fail_after(30):  # a bound on a hang, not a speed expectation
                await changed.wait()
            self.after = {t.name for t in (await client.list_tools()).tools}
