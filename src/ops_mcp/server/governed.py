"""The governed MCP server: ``MCPServer`` keeps the SDK's stdio/SSE/HTTP/auth plumbing, and the tool
list and tool calls come from the catalogue through the caller's policy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import mcp_types as t
from mcp.server.mcpserver import MCPServer

from .. import __version__
from ..runtime import Runtime
from ..tools import tool_definition
from .executor import CallContext, ToolExecutor

INSTRUCTIONS = (
    "ops-mcp gives you governed access to Remote (HR) and RemoteOps (field service). You only see the tools "
    "your policy allows. Never guess ids: list or search first. Lists are paginated; pass the returned "
    "page/cursor to continue, or max_items to walk pages. Some writes need a person's approval."
)


class GovernedServer(MCPServer):
    def __init__(
        self,
        runtime: Runtime,
        *,
        resolve_agent: Callable[[], str | None],
        transport: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(name="ops-mcp", version=__version__, instructions=INSTRUCTIONS, **kwargs)
        self.runtime = runtime
        self.transport_name = transport
        self._resolve_agent = resolve_agent
        self._tools = {
            e.tool: t.Tool.model_validate(tool_definition(e))
            for manifest in runtime.catalogue.values()
            for e in manifest.endpoints
        }
        self.executor = ToolExecutor(runtime, confirmer=self._make_confirmer())

    def _make_confirmer(self):
        try:
            from .confirmation import Confirmations
        except ImportError:  # confirmation lands separately; without it confirm-listed writes are refused
            return None
        return Confirmations(self.runtime)

    def current_agent(self) -> str | None:
        agent = self._resolve_agent()
        return agent if agent in self.runtime.policies else None

    async def list_tools(self) -> list[t.Tool]:
        agent = self.current_agent()
        if agent is None:
            return []
        return [self._tools[e.tool] for e in self.runtime.policy(agent).visible()]

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        call = CallContext(
            agent=self.current_agent(),
            transport=self.transport_name,
            session_id=_session_id(context),
            progress=_progress(context),
            mcp_context=context,
        )
        try:
            return await self.executor.call(call, name, arguments)
        except Exception:  # never let an exception's text (which may hold secrets) reach the client
            import logging

            logging.getLogger("ops_mcp.server").exception("tool %s failed unexpectedly", name)
            from .results import error_result

            return error_result("ops-mcp hit an internal error running this tool; the operator can see it in the logs.")


def _progress(context: Any):
    if context is None:
        return None

    async def report(done: float, total: float | None, message: str) -> None:
        try:
            await context.report_progress(done, total, message)
        except Exception:  # progress is best effort; a closed stream must not fail the call
            return

    return report


def _session_id(context: Any) -> str | None:
    try:
        request = context.request_context.request
    except Exception:
        return None
    if request is None:
        return None
    return request.headers.get("mcp-session-id")
