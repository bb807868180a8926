"""Real uvicorn servers on 127.0.0.1 (a free port each, in a thread), a temp state dir and config per test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from ops_mcp.config import load_settings
from ops_mcp.runtime import build_runtime
from ops_mcp.transports.agent_auth import AgentTokenStore
from ops_mcp.transports.http import create_app
from tests.support.loopback import mcp_http_client, serving

# hr reads and approves time off; dispatch has RemoteOps areas only (so no Remote events); both on the
# embedded sandbox. No confirmation rules: these tests are about transport, identity and events.
BASE_CONFIG = """
[storage]
dir = "state"

[backends.remote.connections.acme]
label = "Acme GmbH"

[backends.remoteops.connections.northwind]
label = "Northwind Elevators"

[sandbox]
webhook_time_scale = 0.001

[agents.hr]
areas = {{ "remote.timeoff" = "full", "remote.employments" = "read" }}

[agents.dispatch]
areas = {{ "remoteops.work_orders" = "full", "remoteops.customers" = "read" }}

{extra}
"""


def write_config(directory: Path, extra: str = "") -> Path:
    path = directory / "ops-mcp.toml"
    path.write_text(BASE_CONFIG.format(extra=extra))
    return path


def issue_token(config: Path, agent: str) -> str:
    return AgentTokenStore(load_settings(config).state_dir()).issue(agent)


@dataclass
class Served:
    base: str
    app: Any
    server: Any

    @property
    def state(self) -> Any:
        return self.app.state.ops


@contextmanager
def serve(config: Path, *, register_webhooks: bool = False, wrap_sandbox: Any = None,
          **options: Any) -> Iterator[Served]:
    """One ops-mcp HTTP server (its own runtime and embedded sandbox) on a free loopback port, run with the
    uvicorn configuration ``ops-mcp serve`` uses (header deadlines, connection cap).

    ``register_webhooks``: register the embedded sandbox's webhooks to this server's receiver at start,
    as ``ops-mcp run`` does (the sandbox then delivers over loopback HTTP to the real port).
    ``wrap_sandbox``: a function of the embedded sandbox app returning the app upstream calls reach.
    """
    settings = load_settings(config)
    sandbox = None
    if wrap_sandbox is not None:
        from ops_mcp.sandbox.embedded import embedded_sandbox_app

        sandbox = wrap_sandbox(embedded_sandbox_app(settings.sandbox))
    runtime = build_runtime(settings, sandbox_app=sandbox)

    def app_for(port: int) -> Any:
        if register_webhooks:
            options["register_webhooks_at"] = f"http://127.0.0.1:{port}"
        return create_app(runtime, host="127.0.0.1", port=port, **options)

    # The production uvicorn settings (guarded connections, deadlines), as `ops-mcp serve` runs them.
    with serving(make_app=app_for, limits=settings.server.limits) as served:
        yield Served(served.url, served.app, served.server)


def mcp_client(base: str, token: str | None, *, transport: str = "http", mode: str = "legacy",
               http_client: httpx2.AsyncClient | None = None, **options: Any) -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if transport == "sse":
        return Client(sse_client(f"{base}/sse", headers=headers), mode=mode, **options)
    client = http_client or mcp_http_client(headers=headers)
    return Client(streamable_http_client(f"{base}/mcp", http_client=client), mode=mode, **options)


@asynccontextmanager
async def connected(base: str, token: str, *, transport: str = "http", mode: str = "legacy"):
    async with mcp_client(base, token, transport=transport, mode=mode) as client:
        yield client


ERAS = ["legacy", "2026-07-28"]
TRANSPORTS = ["http", "sse"]
