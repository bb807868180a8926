"""What the console tests do in the browser and over MCP."""

from __future__ import annotations

import re
import threading
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import anyio
import httpx
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client


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
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)
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
