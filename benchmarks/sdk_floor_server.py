"""The SDK import floor: a bare low-level mcp-SDK server listing one tool over stdio.

Cold start of any mcp-SDK server is dominated by importing the SDK (SDK notes §8); this server does
nothing else, so ops-mcp's distance from it is what ops-mcp itself costs at start.
"""

from __future__ import annotations

import anyio
import mcp_types as t
from mcp.server import Server
from mcp.server.stdio import stdio_server

ECHO = t.Tool(name="echo", description="Echo x.", input_schema={"type": "object", "properties": {"x": {}}})


async def list_tools(ctx, params) -> t.ListToolsResult:
    return t.ListToolsResult(tools=[ECHO])


async def call_tool(ctx, params) -> t.CallToolResult:
    return t.CallToolResult(content=[t.TextContent(type="text", text=str((params.arguments or {}).get("x")))])


async def main() -> None:
    server = Server("sdk-floor", version="1", on_list_tools=list_tools, on_call_tool=call_tool)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main)
