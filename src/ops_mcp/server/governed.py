"""The governed MCP server: ``MCPServer`` keeps the SDK's stdio/SSE/HTTP/auth plumbing, and the tool
list and tool calls come from the catalogue through the caller's policy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import mcp_types as t
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver import server as _sdk_server

from .. import __version__
from ..calls.executor import CallContext, ToolExecutor
from ..catalogue.tools import tool_definition
from ..runtime import Runtime
from .providers import ResourceProvider, ToolProvider, ToolView

# ops-mcp configures logging itself (stderr, see server/cli.py). MCPServer's default installs a Rich
# console handler, which costs ~40 ms of imports at start-up and formats every log line on the hot path.
_sdk_server.configure_logging = lambda *args, **kwargs: None

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
        providers: list[ToolProvider] | None = None,
        resources: list[ResourceProvider] | None = None,
        view: ToolView | None = None,
        **kwargs: Any,
    ) -> None:
        if "request_state_security" not in kwargs:
            from ..governance.sealing import request_state_security

            # One key for every worker and restart: a 2026 retry may land on another replica.
            kwargs["request_state_security"] = request_state_security(runtime.state_dir)
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
        self.providers: list[ToolProvider] = list(providers or [])
        self.resource_providers: list[ResourceProvider] = list(resources or [])
        self.view: ToolView | None = view if view is not None else self._make_view()

    def _make_confirmer(self):
        try:
            from ..governance.confirmation import Confirmations
        except ImportError:  # confirmation lands separately; without it confirm-listed writes are refused
            return None
        return Confirmations(self.runtime)

    def _make_view(self):
        try:
            from .discovery import DiscoveryView
        except ImportError:  # discovery mode lands separately; until then agents see catalogue tools
            return None
        return DiscoveryView(self.runtime, self.executor, self._tools)

    def current_agent(self) -> str | None:
        agent = self._resolve_agent()
        return agent if agent in self.runtime.policies else None

    async def list_tools(self) -> list[t.Tool]:
        agent = self.current_agent()
        if agent is None:
            return []
        policy = self.runtime.policy(agent)
        if self.view is not None and self.view.replaces_catalogue(policy):
            tools = self.view.tools(policy)
        else:
            tools = [self._tools[e.tool] for e in policy.visible()]
        for provider in self.providers:
            tools.extend(provider.tools(policy))
        return tools

    async def list_resources(self) -> list[t.Resource]:
        agent = self.current_agent()
        if agent is None:
            return []
        policy = self.runtime.policy(agent)
        found: list[t.Resource] = []
        for provider in self.resource_providers:
            found.extend(await provider.list_resources(policy))
        return found

    async def read_resource(self, uri: Any, context: Any = None) -> Any:
        from mcp.server.mcpserver.exceptions import ResourceNotFoundError

        agent = self.current_agent()
        if agent is not None:
            policy = self.runtime.policy(agent)
            for provider in self.resource_providers:
                contents = await provider.read_resource(policy, str(uri))
                if contents is not None:
                    return contents
        raise ResourceNotFoundError(f"Unknown resource: {uri}")

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        call = CallContext(
            agent=self.current_agent(),
            transport=self.transport_name,
            session_id=_session_id(context),
            progress=_progress(context),
            mcp_context=context,
        )
        try:
            if call.agent is not None:
                policy = self.runtime.policy(call.agent)
                handlers = [self.view] if self.view is not None and self.view.replaces_catalogue(policy) else []
                for handler in [*handlers, *self.providers]:
                    result = await handler.call(call, name, arguments or {})
                    if result is not None:
                        return result
            return await self.executor.call(call, name, arguments)
        except Exception:  # never let an exception's text (which may hold secrets) reach the client
            import logging

            logging.getLogger("ops_mcp.server").exception("tool %s failed unexpectedly", name)
            from ..calls.results import error_result

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
