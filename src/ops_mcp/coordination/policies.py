"""Policy changes fanned out to every replica.

When a policy changes on one replica (the operator console edits it at run time), ``PolicyFanOut`` hears
it through ``Policies.on_change`` and publishes the new policy; every other replica puts it into its own
``Policies``, whose listeners then tell that agent's open sessions their tool list changed. A change
applied from another replica is not published again.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ..policy import AgentPolicy, Policies
from .base import Coordination

log = logging.getLogger("ops_mcp.coordination")

_QUEUE = 256


def policy_news(policy: AgentPolicy) -> dict[str, Any]:
    """What another replica needs to rebuild ``policy`` (the catalogue it has itself)."""
    return {
        "levels": dict(policy.levels),
        "confirm_areas": sorted(policy.confirm_areas),
        "confirm_tools": sorted(policy.confirm_tools),
        "denied_tools": sorted(policy.denied_tools),
        "bindings": dict(policy.bindings),
        "tool_mode": policy.tool_mode,
        "token_budget": policy.token_budget,
        "confirm_via": policy.confirm_via,
    }


def policy_from_news(agent: str, news: dict[str, Any], endpoints: dict[str, Any]) -> AgentPolicy:
    return AgentPolicy(
        name=agent,
        levels={str(k): str(v) for k, v in news["levels"].items()},
        confirm_areas=frozenset(news.get("confirm_areas", ())),
        confirm_tools=frozenset(news.get("confirm_tools", ())),
        denied_tools=frozenset(news.get("denied_tools", ())),
        endpoints=endpoints,
        bindings={str(k): str(v) for k, v in news.get("bindings", {}).items()},
        tool_mode=news.get("tool_mode", "auto"),
        token_budget=int(news.get("token_budget", 6000)),
        confirm_via=news.get("confirm_via", "person"),
    )


class PolicyFanOut:
    def __init__(self, policies: Policies, coordination: Coordination) -> None:
        self.policies = policies
        self.coordination = coordination
        self._applying: str | None = None
        self._send: MemoryObjectSendStream[str]
        self._receive: MemoryObjectReceiveStream[str]
        self._send, self._receive = anyio.create_memory_object_stream[str](_QUEUE)
        policies.on_change(self._changed_here)

    def _changed_here(self, agent: str) -> None:
        if agent == self._applying:
            return
        try:
            self._send.send_nowait(agent)
        except anyio.WouldBlock:
            log.warning("policy change of %r not fanned out: too many changes at once", agent)

    def apply(self, agent: str, news: dict[str, Any] | None) -> None:
        """A change made on another replica."""
        self._applying = agent
        try:
            if news is None:
                self.policies.remove(agent)
                return
            current = self.policies.get(agent)
            endpoints = current.endpoints if current is not None else self._endpoints()
            self.policies.put(policy_from_news(agent, news, endpoints))
        finally:
            self._applying = None

    def _endpoints(self) -> dict[str, Any]:
        for name in self.policies.names():
            return self.policies[name].endpoints
        return {}

    async def run(self) -> None:
        async for agent in self._receive:
            policy = self.policies.get(agent)
            await self.coordination.publish_policy(agent, policy_news(policy) if policy is not None else None)
