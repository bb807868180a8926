"""``notifications/tools/list_changed`` to an agent's open sessions when its policy changes at run time.

The console (or another replica's edit picked up from the state dir) replaces a policy in ``Policies``;
this listener then tells that agent's handshake-era sessions that their tool list changed, and publishes
``ToolsListChanged`` to that agent's 2026 ``subscriptions/listen`` streams only (``AgentScopedBus``:
another agent's stream hears nothing of it). Sessions are
remembered from the requests they send, by their ``Mcp-Session-Id`` (the SDK hands middleware a session
object per request, so the latest one of each session is kept); a session whose send fails is forgotten,
and at most ``MAX_SESSIONS_PER_AGENT`` are kept per agent (the oldest go first).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from mcp.shared.subscriptions import ToolsListChanged
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from ..policy import Policies
from .agent_bus import AgentScopedBus

log = logging.getLogger("ops_mcp.server")

MAX_SESSIONS_PER_AGENT = 1000


class ToolListAnnouncer:
    def __init__(self, policies: Policies, resolve_agent: Callable[[], str | None],
                 bus: AgentScopedBus | None = None) -> None:
        self.resolve_agent = resolve_agent
        self.bus = bus
        self._sessions: dict[str, OrderedDict[object, Any]] = {}
        self._tasks: set[asyncio.Task[int]] = set()
        policies.on_change(self.changed)

    def install(self, server: Any) -> None:
        server.middleware.append(self)

    async def __call__(self, ctx: Any, call_next: Any) -> Any:
        agent = self.resolve_agent()
        session = getattr(ctx, "session", None)
        modern = getattr(ctx, "protocol_version", None) in MODERN_PROTOCOL_VERSIONS
        # initialize has no session id yet; the session is remembered from its next message.
        if agent is not None and session is not None and not modern and ctx.method != "initialize":
            known = self._sessions.setdefault(agent, OrderedDict())
            key = _session_key(ctx, session)
            known[key] = session
            known.move_to_end(key)
            while len(known) > MAX_SESSIONS_PER_AGENT:
                known.popitem(last=False)
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
        for key, session in list((sessions or {}).items()):
            try:
                await session.send_tool_list_changed()
                told += 1
            except Exception:  # the session is gone
                if sessions is not None:
                    sessions.pop(key, None)
        if self.bus is not None:
            try:
                await self.bus.publish_to(agent, ToolsListChanged())
            except Exception:
                log.exception("publishing tools/list_changed failed")
        return told


def _session_key(ctx: Any, session: Any) -> object:
    request = getattr(ctx, "request", None)
    headers = getattr(request, "headers", None)
    session_id = headers.get("mcp-session-id") if headers is not None else None
    if session_id is None and request is not None:
        session_id = getattr(request, "query_params", {}).get("session_id")  # the legacy SSE transport
    return session_id if session_id is not None else id(session)
