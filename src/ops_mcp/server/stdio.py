"""``ops-mcp serve --transport stdio --agent NAME``: one agent per process, fixed at launch."""

from __future__ import annotations

import anyio

from ..runtime import Runtime
from .governed import GovernedServer


def build_stdio_server(runtime: Runtime, agent: str) -> GovernedServer:
    return GovernedServer(runtime, resolve_agent=lambda: agent, transport="stdio")


def run_stdio(runtime: Runtime, agent: str) -> int:
    server = build_stdio_server(runtime, agent)

    async def main() -> None:
        try:
            await server.run_stdio_async()
        finally:
            await runtime.aclose()

    anyio.run(main)
    return 0
