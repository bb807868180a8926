"""Shared harness for items 1, 3 and 4: a runtime whose embedded sandbox counts every request it receives,
a long-lived in-process SDK client driven from synchronous Hypothesis tests, and a real uvicorn server.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import uvicorn
from anyio.from_thread import start_blocking_portal
from mcp import Client

from ops_mcp.config import Settings
from ops_mcp.runtime import Runtime, build_runtime
from ops_mcp.sandbox.embedded import embedded_sandbox_app
from ops_mcp.transports.http import create_app, free_port

CALL_TIMEOUT_S = 20

# Two tenants per back end, as in the server tests: Acme/Globex (Remote), Northwind/Contoso (RemoteOps).
BACKENDS: dict[str, Any] = {
    "remote": {"connections": {"acme": {"label": "Acme GmbH"}, "globex": {"label": "Globex Ltd"}}},
    "remoteops": {
        "connections": {"northwind": {"label": "Northwind Elevators"}, "contoso": {"label": "Contoso"}}
    },
}
ACME = {"remote": "acme", "remoteops": "northwind"}


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
    state_dir: Path, agents: dict[str, dict], *, backends: dict | None = None, **extra: Any
) -> tuple[Runtime, CountingSandbox]:
    settings = Settings(
        storage={"dir": str(state_dir)}, backends=backends or BACKENDS, agents=agents, **extra
    )
    sandbox = CountingSandbox(embedded_sandbox_app(settings.sandbox))
    return build_runtime(settings, sandbox_app=sandbox), sandbox


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
    server: uvicorn.Server
    port: int
    extra: dict = field(default_factory=dict)


@contextmanager
def serve(runtime: Runtime, **options: Any) -> Iterator[Served]:
    """ops-mcp's HTTP app (``create_app``) under uvicorn on a free loopback port, in a thread."""
    port = free_port()
    if options.pop("register_webhooks", False):
        options["register_webhooks_at"] = f"http://127.0.0.1:{port}"
    app = create_app(runtime, host="127.0.0.1", port=port, **options)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
            lifespan="on",
        )
    )
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield Served(f"http://127.0.0.1:{port}", app, server, port)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def http_client(base: str, token: str | None, *, transport: str = "http", mode: str = "legacy") -> Client:
    import httpx2
    from mcp.client.sse import sse_client
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if transport == "sse":
        return Client(sse_client(f"{base}/sse", headers=headers), mode=mode)
    return Client(
        streamable_http_client(f"{base}/mcp", http_client=httpx2.AsyncClient(headers=headers, timeout=30)),
        mode=mode,
    )
