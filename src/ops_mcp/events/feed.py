"""What agents see of back-end events: the ``ops_list_events`` tool and one resource per (tenant, area)
feed (change notifications are ``notifier.py``).

Every path applies the agent's policy: an agent sees and reads feeds only of areas it can read, of the
tenant it is bound to.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import mcp_types as t
from mcp.server.lowlevel.helper_types import ReadResourceContents

from ..audit import parse_since
from ..calls.context import CallContext
from ..calls.recorder import CallRecorder
from ..calls.results import error_result, json_result
from ..catalogue.models import Manifest
from ..policy import AgentPolicy, Policies
from .areas import EventAreas
from .store import EventStore

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

    def __init__(self, *, catalogue: dict[str, Manifest], policies: Policies, store: EventStore,
                 recorder: CallRecorder) -> None:
        self.policies = policies
        self.store = store
        self.recorder = recorder
        self.areas = EventAreas(catalogue)
        self._backends = list(catalogue)
        self._area_titles = {a: area.title for m in catalogue.values() for a, area in m.areas.items()}

    # -- scopes ----------------------------------------------------------------------------------

    def scopes(self, policy: AgentPolicy) -> list[tuple[str, str | None]]:
        """(area, tenant) pairs this agent may see events of."""
        readable = policy.readable_areas()
        bindings = policy.bindings
        found: list[tuple[str, str | None]] = []
        for backend in self._backends:
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
        policy = self.policies.get(call.agent)
        if name != TOOL_NAME or policy is None:
            return None
        scopes = self.scopes(policy)
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
        self.recorder.local(call, tool=TOOL_NAME, title=TOOL.title or TOOL_NAME, access="read",
                            decision=decision, arguments=arguments, started=started, error=error)
        return result

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
        return self._area_titles.get(area, area)


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
