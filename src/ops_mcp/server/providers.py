"""Extension seams of the governed server.

A ``ToolProvider`` adds tools that are not catalogue endpoints (e.g. the webhook events feed); a
``ToolView`` may replace the catalogue tools an agent sees (discovery mode's meta-tools). Both get the
agent's policy and must apply it: a provider never shows or runs anything the policy does not allow.
"""

from __future__ import annotations

from typing import Any, Protocol

import mcp_types as t

from ..calls.context import CallContext
from ..policy import AgentPolicy


class ToolProvider(Protocol):
    def tools(self, policy: AgentPolicy) -> list[t.Tool]:
        """Extra tools this agent may see."""
        ...

    async def call(self, call: CallContext, name: str, arguments: dict[str, Any]) -> t.CallToolResult | None:
        """Run ``name`` if it is one of this provider's tools for this agent, else return None."""
        ...


class ResourceProvider(Protocol):
    async def list_resources(self, policy: AgentPolicy) -> list[t.Resource]: ...

    async def read_resource(self, policy: AgentPolicy, uri: str) -> list[Any] | None:
        """``ReadResourceContents`` items, or None when the URI is not this provider's."""
        ...


class ToolView(Protocol):
    def replaces_catalogue(self, policy: AgentPolicy) -> bool:
        """True when this agent sees the view's tools instead of the catalogue tools."""
        ...

    def tools(self, policy: AgentPolicy) -> list[t.Tool]: ...

    async def call(self, call: CallContext, name: str, arguments: dict[str, Any]) -> t.CallToolResult | None: ...
