"""The governed MCP server: ``MCPServer`` keeps the SDK's stdio/SSE/HTTP/auth plumbing, and the tool
list and tool calls come from the catalogue through the caller's policy.

One instance per process serves every transport and session; the services it uses (executor, view,
providers) are built once by the runtime and passed in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import mcp_types as t
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver import server as _sdk_server
from mcp.server.mcpserver.exceptions import ResourceNotFoundError

from .. import __version__
from ..calls.context import CallContext
from ..calls.executor import ToolExecutor
from ..calls.results import error_result
from ..policy import AgentPolicy, Policies
from ..telemetry import Tracing
from .prompts import PromptLibrary
from .providers import ResourceProvider, ToolProvider, ToolView
from .witness import CallWitness

log = logging.getLogger("ops_mcp.server")

# ops-mcp configures logging itself (stderr, see cli/common.py). MCPServer's default installs a Rich
# console handler, which costs ~40 ms of imports at start-up and formats every log line on the hot path.
_sdk_server.configure_logging = lambda *args, **kwargs: None


class GovernedServer(MCPServer):
    def __init__(
        self,
        *,
        tools: dict[str, t.Tool],
        policies: Policies,
        executor: ToolExecutor,
        view: ToolView | None,
        providers: list[ToolProvider],
        resources: list[ResourceProvider],
        resolve_agent: Callable[[], str | None],
        transport: str,
        instructions: str,
        prompts: PromptLibrary | None = None,
        tracing: Tracing | None = None,
        **sdk_options: Any,
    ) -> None:
        super().__init__(name="ops-mcp", version=__version__, instructions=instructions, **sdk_options)
        self._tools = tools
        self.policies = policies
        self.executor = executor
        self.view = view
        self.providers = providers
        self.resource_providers = resources
        self.transport_name = transport
        self._resolve_agent = resolve_agent
        self.prompts = prompts or PromptLibrary(())
        self.tracing = tracing
        if tracing is None:
            # No tracer configured: no tracing middleware at all (the SDK installs one by default).
            self.middleware[:] = [m for m in self.middleware if type(m).__name__ != "OpenTelemetryMiddleware"]
        # Outermost: every tools/call is seen before the SDK can refuse it (request state, params).
        self.middleware.insert(0, CallWitness(executor.recorder, self.current_agent,
                                              lambda ctx: self._transport_of(ctx, direct=True)))

    def current_policy(self) -> AgentPolicy | None:
        return self.policies.get(self._resolve_agent())

    def current_agent(self) -> str | None:
        policy = self.current_policy()
        return policy.name if policy is not None else None

    async def list_tools(self) -> list[t.Tool]:
        policy = self.current_policy()
        if policy is None:
            return []
        if self.view is not None and self.view.replaces_catalogue(policy):
            tools = self.view.tools(policy)
        else:
            tools = [self._tools[e.tool] for e in policy.visible()]
        for provider in self.providers:
            tools.extend(provider.tools(policy))
        return tools

    async def list_prompts(self) -> list[t.Prompt]:
        return self.prompts.listed(self.current_policy())

    async def get_prompt(self, name: str, arguments: dict[str, Any] | None = None, context: Any = None) -> Any:
        # Unknown, unlisted and badly called prompts are -32602 (MCPError), never an internal error.
        return self.prompts.render(self.current_policy(), name, arguments)

    async def list_resources(self) -> list[t.Resource]:
        policy = self.current_policy()
        if policy is None:
            return []
        found: list[t.Resource] = []
        for provider in self.resource_providers:
            found.extend(await provider.list_resources(policy))
        return found

    async def read_resource(self, uri: Any, context: Any = None) -> Any:
        policy = self.current_policy()
        if policy is not None:
            for provider in self.resource_providers:
                contents = await provider.read_resource(policy, str(uri))
                if contents is not None:
                    return contents
        raise ResourceNotFoundError(f"Unknown resource: {uri}")

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        policy = self.current_policy()
        call = CallContext(
            agent=policy.name if policy is not None else None,
            transport=self._transport_of(context),
            session_id=_session_id(context),
            progress=_progress(context),
            mcp_context=context,
        )
        if self.tracing is not None:
            self.tracing.annotate_request(agent=call.agent, session_id=call.session_id, transport=call.transport)
        try:
            if policy is not None:
                # Providers first: their tools are listed in every mode; then the view, which in discovery
                # mode answers every other name itself (see discovery.py).
                handlers: list[ToolView | ToolProvider] = list(self.providers)
                if self.view is not None and self.view.replaces_catalogue(policy):
                    handlers.append(self.view)
                for handler in handlers:
                    result = await handler.call(call, name, arguments or {})
                    if result is not None:
                        return result
            return await self.executor.call(call, name, arguments)
        except Exception:  # never let an exception's text (which may hold secrets) reach the client
            log.exception("tool %s failed unexpectedly", name)
            return error_result("ops-mcp hit an internal error running this tool; the operator can see it in the logs.")

    def _transport_of(self, context: Any, direct: bool = False) -> str:
        """One server answers on /mcp and on the legacy SSE routes: the request path tells which."""
        request = getattr(context, "request", None) if direct else _request(context)
        if request is not None and request.url.path.startswith(("/messages", "/sse")):
            return "sse"
        return self.transport_name


def _request(context: Any) -> Any:
    try:
        return context.request_context.request
    except Exception:  # no request context: an in-process call
        return None


def _progress(context: Any) -> Any:
    if context is None:
        return None

    async def report(done: float, total: float | None, message: str) -> None:
        try:
            await context.report_progress(done, total, message)
        except Exception:  # progress is best effort; a closed stream must not fail the call
            return

    return report


def _session_id(context: Any) -> str | None:
    request = _request(context)
    if request is None:
        return None
    session: str | None = request.headers.get("mcp-session-id")
    return session
