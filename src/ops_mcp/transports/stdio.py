"""``ops-mcp serve --transport stdio --agent NAME``: one agent per process, fixed at launch."""

from __future__ import annotations

import anyio

from ..runtime import Runtime
from ..server.governed import GovernedServer


def build_stdio_server(runtime: Runtime, agent: str) -> GovernedServer:
    """The agent's server; webhook events (received by an HTTP process sharing the state dir) are offered
    through the runtime's feed, as over HTTP."""
    return runtime.mcp_server(resolve_agent=lambda: agent, transport="stdio")


def run_stdio(runtime: Runtime, agent: str) -> int:
    from . import logsafe

    logsafe.install()  # tool names and arguments are the agent's text; stderr may be a terminal
    server = build_stdio_server(runtime, agent)

    async def main() -> None:
        try:
            await server.run_stdio_async()
        finally:
            await runtime.aclose()

    anyio.run(main)
    return 0
