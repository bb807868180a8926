"""What agents see of back-end events: the ``ops_list_events`` tool, one resource per (tenant, area) feed,
and change notifications — legacy ``notifications/resources/updated`` to sessions that subscribed, and
2026 ``subscriptions/listen`` streams via the SDK's bus.

Every path applies the agent's policy: an agent sees, reads and may subscribe to feeds only of areas it
can read, of the tenant it is bound to. Notifications are driven by the event store (polled), not by
the receiver, so an event received by one replica reaches listeners connected to any replica.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from typing import Any

import anyio
import mcp_types as t
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.shared.exceptions import MCPError
from mcp.shared.subscriptions import ResourceUpdated

from ..audit import parse_since
from ..calls.executor import CallContext
from ..calls.results import error_result, json_result
from ..policy import AgentPolicy
from .store import EventAreas, EventStore

log = logging.getLogger("ops_mcp.events")

TOOL_NAME = "ops_list_events"
URI_PREFIX = "ops-mcp://events/"
MAX_LIMIT = 200

# The advertised schema is compact (it is paid for on every turn); arguments are checked in
# ``_parse_arguments``, which enforces the length and count limits.
TOOL = t.Tool(
    name=TOOL_NAME,
    title="List Events",
    description=(
        "Recent webhook events (e.g. timeoff.approved) in areas you can read, newest first; "
        "fetch objects by their ids with the read tools."
    ),
    input_schema={
        "type": "object",
        "properties": {
            "types": {"type": "array", "items": {"type": "string"}, "description": "exact or 'prefix.*'"},
            "since": {"type": "string", "description": "15m, 2h, 3d or ISO time"},
            "limit": {"type": "integer", "maximum": MAX_LIMIT},
        },
    },
    output_schema={"type": "object", "properties": {"events": {"type": "array"}, "count": {"type": "integer"}}},
    annotations=t.ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                                  open_world_hint=False),
)


class EventFeed:
    """The agent-facing view of the event store: a ``ToolProvider`` and a ``ResourceProvider`` at once."""

    def __init__(self, runtime: Any, store: EventStore) -> None:
        self.runtime = runtime
        self.store = store
        self.areas = EventAreas(runtime.catalogue)
        self.executor: Any = None  # set by the app once the server exists, to audit calls

    # -- scopes ----------------------------------------------------------------------------------

    def scopes(self, policy: AgentPolicy) -> list[tuple[str, str | None]]:
        """(area, tenant) pairs this agent may see events of."""
        readable = policy.readable_areas()
        bindings = self.runtime.bindings.get(policy.name, {})
        found = []
        for backend in self.runtime.catalogue:
            if backend not in bindings:
                continue
            for area in self.areas.areas_with_events(backend):
                if area in readable:
                    found.append((area, bindings[backend]))
        return found

    def uris(self, policy: AgentPolicy) -> set[str]:
        return {feed_uri(area, tenant) for area, tenant in self.scopes(policy)}

    # -- ToolProvider ----------------------------------------------------------------------------

    def tools(self, policy: AgentPolicy) -> list[t.Tool]:
        return [TOOL] if self.scopes(policy) else []

    async def call(self, call: CallContext, name: str, arguments: dict[str, Any]) -> t.CallToolResult | None:
        if name != TOOL_NAME or call.agent is None:
            return None
        scopes = self.scopes(self.runtime.policy(call.agent))
        if not scopes:
            return None  # not this agent's tool: the executor answers "unknown tool" and audits it
        started = time.perf_counter()
        problem, query = _parse_arguments(arguments)
        if problem is not None:
            result, decision, error = error_result(f"Invalid arguments for {TOOL_NAME}: {problem}"), "invalid", problem
        else:
            events = self.store.query(scopes, **query)
            result = json_result({"events": [e.public() for e in events], "count": len(events)})
            decision, error = "allowed", None
        if self.executor is None:
            return result
        return self.executor.audit_local(call, tool=TOOL_NAME, title=TOOL.title, area=None, access="read",
                                         decision=decision, arguments=arguments, started=started,
                                         result=result, error=error)

    # -- ResourceProvider ------------------------------------------------------------------------

    async def list_resources(self, policy: AgentPolicy) -> list[t.Resource]:
        resources = []
        for area, tenant in self.scopes(policy):
            title = f"{self._area_title(area)} events ({tenant})"
            resources.append(t.Resource(
                uri=feed_uri(area, tenant), name=f"events-{tenant}-{area}", title=title,
                description=f"The latest webhook events of {area} for {tenant}, newest first (JSON).",
                mime_type="application/json",
            ))
        return resources

    async def read_resource(self, policy: AgentPolicy, uri: str) -> list[Any] | None:
        if not uri.startswith(URI_PREFIX):
            return None
        wanted = next(((a, tn) for a, tn in self.scopes(policy) if feed_uri(a, tn) == uri), None)
        if wanted is None:
            return None  # not found, whether it exists for someone else or not at all
        events = self.store.query([wanted], limit=50)
        body = json.dumps({"events": [e.public() for e in events], "count": len(events)}, default=str)
        return [ReadResourceContents(content=body, mime_type="application/json")]

    def _area_title(self, area: str) -> str:
        backend = area.split(".", 1)[0]
        manifest = self.runtime.catalogue.get(backend)
        found = manifest.areas.get(area) if manifest is not None else None
        return found.title if found is not None else area


def feed_uri(area: str, tenant: str | None) -> str:
    return f"{URI_PREFIX}{tenant or '-'}/{area}"


def _parse_arguments(arguments: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    unknown = sorted(set(arguments) - {"types", "since", "limit"})
    if unknown:
        return f"unknown argument(s) {', '.join(map(repr, unknown))}; allowed: types, since, limit", {}
    query: dict[str, Any] = {"limit": 50}
    types = arguments.get("types")
    if types is not None:
        if isinstance(types, str):
            types = [types]
        if not isinstance(types, list) or not all(isinstance(x, str) and 0 < len(x) <= 100 for x in types):
            return "types must be a list of event type strings such as 'timeoff.approved' or 'work_order.*'", {}
        if len(types) > 20:
            return "types: at most 20 entries", {}
        query["types"] = types
    since = arguments.get("since")
    if since is not None:
        if not isinstance(since, str) or len(since) > 40:
            return "since must be a duration like 15m, 2h, 3d or an ISO date/time", {}
        try:
            query["since"] = parse_since(since)
        except ValueError as exc:
            return str(exc), {}
    limit = arguments.get("limit")
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            return f"limit must be an integer from 1 to {MAX_LIMIT}", {}
        query["limit"] = limit
    return None, query


class EventNotifier:
    """Tells subscribed clients about new events: polls the store, publishes per-feed updates.

    2026 listen streams get ``ResourceUpdated`` through the SDK bus; the
    ``subscriptions/listen`` middleware below strips feeds the caller may not see, so the bus's
    broadcast only ever reaches permitted listeners. Legacy sessions subscribe with
    ``resources/subscribe`` (checked against the policy) and get ``notifications/resources/updated``.
    """

    def __init__(self, feed: EventFeed, bus: Any, resolve_agent: Any, interval: float = 0.5) -> None:
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

    def _allowed_uris(self) -> set[str]:
        agent = self.resolve_agent()
        if agent is None or agent not in self.feed.runtime.policies:
            return set()
        return self.feed.uris(self.feed.runtime.policy(agent))

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
