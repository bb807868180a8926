"""Tells subscribed clients about new events: legacy ``notifications/resources/updated`` to sessions that
subscribed, and 2026 ``subscriptions/listen`` streams via the SDK's bus.

Notifications are driven by the event store (polled), not by the receiver, so an event received by one
replica reaches listeners connected to any replica.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

import anyio
import mcp_types as t
from mcp.shared.exceptions import MCPError
from mcp.shared.subscriptions import ResourceUpdated

from .feed import EventFeed, feed_uri

log = logging.getLogger("ops_mcp.events")


class EventNotifier:
    """Tells subscribed clients about new events: polls the store, publishes per-feed updates.

    2026 listen streams get ``ResourceUpdated`` through the SDK bus; the
    ``subscriptions/listen`` middleware below strips feeds the caller may not see, so the bus's
    broadcast only ever reaches permitted listeners. Legacy sessions subscribe with
    ``resources/subscribe`` (checked against the policy) and get ``notifications/resources/updated``.
    """

    def __init__(self, feed: EventFeed, bus: Any, resolve_agent: Callable[[], str | None],
                 interval: float = 0.5) -> None:
        self.feed = feed
        self.bus = bus
        self.resolve_agent = resolve_agent
        self.interval = interval
        self._legacy: dict[int, tuple[Any, set[str]]] = {}  # id(session) -> (session, uris)
        self._kick = anyio.Event()

    def kick(self) -> None:
        """Wake the poller now (the local receiver just stored something)."""
        self._kick.set()

    # -- wiring into the server ------------------------------------------------------------------

    def install(self, server: Any) -> None:
        server.middleware.append(self._listen_filter)
        # resources/subscribe is a legacy-only spec method with no MCPServer-level seam; registering it on
        # the low-level server is how MCPServer itself registers its handlers.
        server._lowlevel_server.add_request_handler("resources/subscribe", t.SubscribeRequestParams, self._subscribe)
        server._lowlevel_server.add_request_handler("resources/unsubscribe", t.UnsubscribeRequestParams,
                                                    self._unsubscribe)

    def admits(self, agent: str | None, event: Any) -> bool:
        """Whether ``agent``'s listen stream may hear ``event`` now (``AgentScopedBus.admits``).

        The listen filter above is applied once, when the stream opens; access edited in the console
        afterwards must not leave an open stream hearing of a feed its agent may no longer read.
        """
        if not isinstance(event, ResourceUpdated):
            return True
        policy = self.feed.policies.get(agent) if agent is not None else None
        return policy is not None and event.uri in self.feed.uris(policy)

    def _allowed_uris(self) -> set[str]:
        policy = self.feed.policies.get(self.resolve_agent())
        return self.feed.uris(policy) if policy is not None else set()

    async def _listen_filter(self, ctx: Any, call_next: Any) -> Any:
        if ctx.method == "subscriptions/listen" and isinstance(ctx.params, dict):
            notifications = dict(ctx.params.get("notifications") or {})
            wanted = notifications.get("resourceSubscriptions")
            if wanted:
                allowed = self._allowed_uris()
                notifications["resourceSubscriptions"] = [u for u in wanted if u in allowed]
                ctx = dataclasses.replace(ctx, params={**ctx.params, "notifications": notifications})
        return await call_next(ctx)

    async def _subscribe(self, ctx: Any, params: t.SubscribeRequestParams) -> t.EmptyResult:
        uri = str(params.uri)
        if uri not in self._allowed_uris():
            raise MCPError(code=t.INVALID_PARAMS, message=f"Unknown resource: {uri}")
        entry = self._legacy.setdefault(id(ctx.session), (ctx.session, set()))
        entry[1].add(uri)
        return t.EmptyResult()

    async def _unsubscribe(self, ctx: Any, params: t.UnsubscribeRequestParams) -> t.EmptyResult:
        entry = self._legacy.get(id(ctx.session))
        if entry is not None:
            entry[1].discard(str(params.uri))
        return t.EmptyResult()

    # -- the poller ------------------------------------------------------------------------------

    async def run(self) -> None:
        seen = self.feed.store.last_seq()
        while True:
            with anyio.move_on_after(self.interval):
                await self._kick.wait()
            self._kick = anyio.Event()
            try:
                events = self.feed.store.after(seen)
            except Exception:  # a locked or vanished database must not kill notifications for good
                log.exception("event notifier could not read the event store")
                continue
            if not events:
                continue
            seen = events[-1].seq
            uris = list(dict.fromkeys(feed_uri(e.area, e.tenant) for e in events if e.area))
            await self._publish(uris)

    async def _publish(self, uris: list[str]) -> None:
        # The feed list itself is fixed by the policy, so there is no list_changed to announce.
        for uri in uris:
            await self.bus.publish(ResourceUpdated(uri=uri))
        for key, (session, subscribed) in list(self._legacy.items()):
            for uri in uris:
                if uri not in subscribed:
                    continue
                try:
                    await session.send_resource_updated(uri)
                except Exception:  # the session is gone: forget it
                    self._legacy.pop(key, None)
                    break
