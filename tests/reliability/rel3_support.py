"""Shared harness for items 1, 3 and 4: a runtime whose embedded sandbox counts every request it receives,
a long-lived in-process SDK client driven from synchronous Hypothesis tests, and a real uvicorn server.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from anyio.from_thread import start_blocking_portal
from mcp import Client

from ops_mcp.runtime import Runtime, build_runtime
from ops_mcp.sandbox.embedded import embedded_sandbox_app
from ops_mcp.transports.http import create_app
from tests.support.loopback import mcp_http_client, serving
from tests.support.runtime import TWO_TENANTS, settings_for

CALL_TIMEOUT_S = 60  # a bound on a hang, not an expectation of speed



@dataclass
class Seen:
    method: str
    path: str
    authorization: str | None


class CountingSandbox:
    """ASGI wrapper in front of the whole embedded sandbox: every request that reaches the upstream, faulted,
    refused or served, OAuth token requests included, with the credential it carried."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.state = app.state  # runtime.sandbox_app.state.<backend> keeps working
        self.seen: list[Seen] = []

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers", []))
            auth = headers.get(b"authorization")
            self.seen.append(
                Seen(
                    scope.get("method", ""),
                    scope.get("path", ""),
                    auth.decode("latin-1") if auth is not None else None,
                )
            )
        await self.app(scope, receive, send)

    @property
    def count(self) -> int:
        return len(self.seen)

    def backend(self, name: str) -> Any:
        """The emulator's own state (stores, request log, faults)."""
        return getattr(self.state, name).state.sandbox


def make_runtime(
    state_dir: Path, agents: dict[str, dict], *, backends: dict | None = None, retry_sleep: Any = None,
    **extra: Any
) -> tuple[Runtime, CountingSandbox]:
    # Two tenants per back end, as in the server tests: Acme/Globex (Remote), Northwind/Contoso (RemoteOps).
    settings = settings_for(state_dir, agents, backends=backends or TWO_TENANTS, **extra)
    sandbox = CountingSandbox(embedded_sandbox_app(settings.sandbox))
    return build_runtime(settings, sandbox_app=sandbox, retry_sleep=retry_sleep), sandbox


class Driver:
    """An SDK ``Client`` on a GovernedServer, kept open in a background event loop, called synchronously —
    so Hypothesis (which is synchronous) can drive thousands of calls through one real MCP session."""

    def __init__(self, portal: Any, client: Client) -> None:
        self.portal = portal
        self.client = client

    def call(self, name: str, arguments: Any) -> Any:
        async def bounded() -> Any:
            with anyio.fail_after(CALL_TIMEOUT_S):
                return await self.client.call_tool(name, arguments)

        return self.portal.call(bounded)

    def list_tools(self) -> list[Any]:
        async def bounded() -> Any:
            with anyio.fail_after(CALL_TIMEOUT_S):
                return (await self.client.list_tools()).tools

        return self.portal.call(bounded)


@contextmanager
def driven(server: Any, mode: str) -> Iterator[Driver]:
    with (
        start_blocking_portal(backend="asyncio") as portal,
        portal.wrap_async_context_manager(Client(server, mode=mode)) as client,
    ):
        yield Driver(portal, client)


def text_of(result: Any) -> str:
    return "\n".join(getattr(c, "text", "") for c in result.content)


# -- a real HTTP server --------------------------------------------------------------------------------


@dataclass
class Served:
    base: str
    app: Any
    port: int


@contextmanager
def serve(runtime: Runtime, **options: Any) -> Iterator[Served]:
    """ops-mcp's HTTP app (``create_app``) under uvicorn on a free loopback port, in a thread."""
    register = options.pop("register_webhooks", False)

    def app_for(port: int) -> Any:
        if register:
            options["register_webhooks_at"] = f"http://127.0.0.1:{port}"
        return create_app(runtime, host="127.0.0.1", port=port, **options)

    with serving(make_app=app_for) as served:
        yield Served(served.url, served.app, served.port)


def http_client(base: str, token: str | None, *, transport: str = "http", mode: str = "legacy") -> Client:
    from mcp.client.sse import sse_client
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if transport == "sse":
        return Client(sse_client(f"{base}/sse", headers=headers), mode=mode)
    return Client(
        streamable_http_client(f"{base}/mcp", http_client=mcp_http_client(headers=headers)),
        mode=mode,
    )
