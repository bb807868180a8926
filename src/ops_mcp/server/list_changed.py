"""``notifications/tools/list_changed`` to an agent's open sessions when its policy changes at run time.

The console (or another replica's edit picked up from the state dir) replaces a policy in ``Policies``;
this listener then tells that agent's handshake-era sessions that their tool list changed, and publishes
``ToolsListChanged`` on the subscription bus for 2026 ``subscriptions/listen`` streams. Sessions are
remembered weakly, from the requests they send, so a closed session is simply forgotten.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Callable
from typing import Any

from mcp.shared.subscriptions import ToolsListChanged
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from ..policy import Policies

log = logging.getLogger("ops_mcp.server")


class ToolListAnnouncer:
    def __init__(self, policies: Policies, resolve_agent: Callable[[], str | None], bus: Any = None) -> None:
        self.resolve_agent = resolve_agent
        self.bus = bus
        self._sessions: dict[str, weakref.WeakSet[Any]] = {}
        self._tasks: set[asyncio.Task[int]] = set()
        policies.on_change(self.changed)

    def install(self, server: Any) -> None:
        server.middleware.append(self)

    async def __call__(self, ctx: Any, call_next: Any) -> Any:
        agent = self.resolve_agent()
        session = getattr(ctx, "session", None)
        modern = getattr(ctx, "protocol_version", None) in MODERN_PROTOCOL_VERSIONS
        if agent is not None and session is not None and not modern:
            # A session object that cannot be weakly referenced is simply not remembered.
            with contextlib.suppress(TypeError):
                self._sessions.setdefault(agent, weakref.WeakSet()).add(session)
        return await call_next(ctx)

    def changed(self, agent: str) -> None:
        """``Policies`` listener; runs in the event loop of whoever changed the policy."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # changed outside the server's loop (start-up, a CLI): no session to tell
            return
        task = loop.create_task(self.announce(agent))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def announce(self, agent: str) -> int:
        """Tell ``agent``'s sessions; returns how many handshake-era sessions were told."""
        told = 0
        sessions = self._sessions.get(agent)
        for session in list(sessions or ()):
            try:
                await session.send_tool_list_changed()
                told += 1
            except Exception:  # the session is gone
                if sessions is not None:
                    sessions.discard(session)
        if self.bus is not None:
            try:
                await self.bus.publish(ToolsListChanged())
            except Exception:
                log.exception("publishing tools/list_changed failed")
        return told
