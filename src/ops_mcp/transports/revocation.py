"""When a credential stops being valid, what it holds open is closed — on every replica.

A revoked or replaced agent token disappears from ``agent_tokens.json`` in the shared state dir; every
replica polls that file (a ``stat`` every ``revocation_poll_seconds``, a re-read only when it changed) and
closes the sessions, streams and in-flight requests of exactly the tokens that went away. An agent removed
from the configuration at run time (``Policies.on_change``) loses everything it holds. The next request of
a revoked credential is refused by the verifier itself, which reads the same file.

The watcher only decides *who*; closing is ``close(agent, credential)``, i.e.
``AgentConnections.close_agent`` — the same hook a fan-out between replicas (Redis pub/sub) can call.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from .agent_auth import AgentTokenStore
from .limits import agent_token_credential

log = logging.getLogger("ops_mcp.auth")

Close = Callable[..., Awaitable[int]]  # close(agent, credential=None) -> how many things were closed


class RevocationWatcher:
    def __init__(self, store: AgentTokenStore | None, close: Close, *, policies: Any = None,
                 interval: float = 1.0) -> None:
        self.store = store
        self.close = close
        self.policies = policies
        self.interval = interval
        self._known = self._issued()
        self._departed: set[str] = set()
        if policies is not None:
            policies.on_change(self._policy_changed)

    def _issued(self) -> dict[str, str]:
        """agent → the id of its current token."""
        if self.store is None:
            return {}
        return {agent: entry.token_id for agent, entry in self.store.tokens().items()}

    def _policy_changed(self, agent: str) -> None:
        # May be called from any thread (a console, a reload): only note it; the poll loop acts on it.
        if agent not in self.policies:
            self._departed.add(agent)

    async def check(self) -> list[str]:
        """Close what revoked or replaced tokens and departed agents hold; returns the agents concerned."""
        try:
            issued = self._issued()
        except Exception:  # an unreadable file fails closed in the verifier; try again next time
            log.exception("cannot read the agent token store")
            issued = self._known
        affected: list[str] = []
        for agent, token_id in self._known.items():
            if issued.get(agent) != token_id:
                affected.append(agent)
                await self.close(agent, credential=agent_token_credential(token_id))
        self._known = issued
        departed = set()
        while self._departed:  # set.pop is atomic: an agent noted meanwhile by another thread is not lost
            departed.add(self._departed.pop())
        for agent in sorted(departed):
            affected.append(agent)
            await self.close(agent)
        return affected

    async def run(self) -> None:
        while True:
            await anyio.sleep(self.interval)
            await self.check()
