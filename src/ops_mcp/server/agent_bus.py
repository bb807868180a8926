"""The subscription bus of 2026 ``subscriptions/listen`` streams, which knows whose stream is whose.

The SDK's in-memory bus fans every event out to every stream. That suits resource updates (the listen
filter already dropped feeds a caller may not see), but "your tool list changed" is about one agent: sent
to all, it would tell every agent that somebody's access was just edited, and when. So each listener is
remembered with the agent whose verified credential opened the stream (``subscribe`` runs inside the
``subscriptions/listen`` handler, where the request's credential is current), and ``publish_to`` reaches
only that agent's streams. ``publish`` keeps the SDK's meaning — every stream — but asks ``admits`` first
(the event notifier's: may this agent still read that feed?), so a stream opened before its agent's access
was narrowed stops hearing of feeds it lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import anyio
from mcp.shared.subscriptions import ServerEvent

log = logging.getLogger("ops_mcp.server")


class AgentScopedBus:
    def __init__(
        self,
        resolve_agent: Callable[[], str | None],
        admits: Callable[[str | None, ServerEvent], bool] | None = None,
    ) -> None:
        self.resolve_agent = resolve_agent
        self.admits = admits
        # Keyed by a token per subscription, as the SDK's bus: one callable may be registered twice.
        self._listeners: dict[object, tuple[str | None, Callable[[ServerEvent], None]]] = {}

    async def publish(self, event: ServerEvent) -> None:
        """Deliver ``event`` to every open stream whose agent may hear it now."""
        admits = self.admits
        await self._deliver(event, lambda agent: admits is None or admits(agent, event))

    async def publish_to(self, agent: str, event: ServerEvent) -> None:
        """Deliver ``event`` only to the streams ``agent`` opened."""
        await self._deliver(event, lambda owner: owner == agent)

    def subscribe(self, listener: Callable[[ServerEvent], None]) -> Callable[[], None]:
        token = object()
        self._listeners[token] = (self.resolve_agent(), listener)

        def unsubscribe() -> None:
            self._listeners.pop(token, None)

        return unsubscribe

    def listeners_of(self, agent: str | None) -> int:
        return sum(1 for owner, _ in self._listeners.values() if owner == agent)

    async def _deliver(self, event: ServerEvent, to: Callable[[str | None], bool]) -> None:
        for owner, listener in list(self._listeners.values()):
            try:
                if to(owner):
                    listener(event)
            except Exception:  # one bad listener (or check) must not starve the others, as the SDK's bus
                log.exception("subscription listener raised; continuing")
        await anyio.lowlevel.checkpoint()  # let the streams drain between bursts, as the SDK's bus does
