"""``ops-mcp serve --transport stdio --agent NAME``: one agent per process, fixed at launch."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import anyio

from ..eventloop import anyio_backend_options
from ..runtime import Runtime
from ..server.governed import GovernedServer
from ..warmup import start_warm_up


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
            await serve_stdio(server, after_listing=lambda: start_warm_up(runtime))
        finally:
            await runtime.aclose()

    anyio.run(main, backend_options=anyio_backend_options())
    return 0


async def serve_stdio(server: GovernedServer, after_listing: Callable[[], object] | None = None) -> None:
    """On the process's stdin/stdout: through the event loop's own pipes where they are pipes or
    terminals (no thread hop per message, see ``stdio_pipes``), else through the SDK's transport."""
    from .. import startup_gc
    from .stdio_pipes import pipe_stdio, pipes_usable

    # Collection resumes when the first tools/list is answered (start_warm_up), or soon in any case.
    asyncio.get_running_loop().call_later(startup_gc.RESUME_AFTER_S, startup_gc.resume)
    if not pipes_usable():
        startup_gc.resume()  # the SDK's transport says nothing of the first listing
        await server.run_stdio_async()
        return
    # What ``MCPServer.run_stdio_async`` does, over the other streams.
    lowlevel = server._lowlevel_server
    async with pipe_stdio(after_listing) as (read_stream, write_stream):
        await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())
