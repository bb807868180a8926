"""When a credential stops being valid, what it holds open is closed — on every replica.

Every ``revocation_poll_seconds`` the watcher looks at who holds sessions or open requests in this process and
closes those whose credential is no longer good:

- an agent token that is no longer its agent's current token (revoked with ``ops-mcp agents revoke``, or
  replaced with ``--rotate``, on this replica or any other sharing the state dir: ``agent_tokens.json`` is
  re-read when it changed);
- a JWT past its ``exp`` (a stream opened with it would otherwise outlive it);
- any credential of an agent no longer in the configuration.

The next request of such a credential is refused by the verifier itself, which reads the same file. The watcher
only decides *who*; closing is ``AgentConnections.close_agent(agent, credential=...)`` — the same hook a fan-out
between replicas (Redis pub/sub of revocations) can call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Container
from typing import Any

import anyio

from .agent_auth import AgentTokenStore

log = logging.getLogger("ops_mcp.auth")


class RevocationWatcher:
    def __init__(self, store: AgentTokenStore | None, connections: Any, *, agents: Container[str],
                 interval: float = 1.0, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.connections = connections  # AgentConnections: holders() and close_agent()
        self.agents = agents
        self.interval = interval
        self.clock = clock

    def _issued(self) -> dict[str, str] | None:
        """agent → the id of its current token (None: the store could not be read; close nothing on a guess)."""
        if self.store is None:
            return {}
        try:
            return {agent: entry.token_id for agent, entry in self.store.tokens().items()}
        except Exception:
            log.exception("cannot read the agent token store")
            return None

    async def check(self) -> list[str]:
        """Close what no longer valid credentials hold open; returns the agents concerned."""
        issued = self._issued()
        now = self.clock()
        affected: list[str] = []
        for principal in self.connections.holders():
            revoked = (principal.token_id is not None and issued is not None
                       and issued.get(principal.agent) != principal.token_id)
            expired = principal.expires_at is not None and principal.expires_at < now
            if revoked or expired or principal.agent not in self.agents:
                affected.append(principal.agent)
                await self.connections.close_agent(principal.agent, credential=principal.credential)
        return affected

    async def run(self) -> None:
        while True:
            await anyio.sleep(self.interval)
            try:
                await self.check()
            except Exception:  # one failed round must not end revocation for good (nor the server)
                log.exception("checking for revoked credentials failed")
