"""What each agent's tool list looks like: the catalogue tools, or three meta-tools (discovery mode).

An agent allowed a lot would pay thousands of tokens per turn for tool definitions it mostly never
uses. In ``discovery`` mode, and in ``auto`` mode once the agent's visible tools cost more than its
``token_budget``, the agent sees ``ops_search_tools`` (ranked lexical search), ``ops_describe_tool``
(one tool's full schema) and ``ops_call_tool`` (run one tool by name) instead. The meta-tools see only
what the agent's policy allows, and ``ops_call_tool`` goes through the same executor as a direct call,
so policy, validation, confirmation and audit are identical.

In discovery mode the meta-tools are the whole list: a direct ``tools/call`` of any other name — a
catalogue tool the agent may use, one it may not, or no tool at all — is refused with the same
"Unknown tool" answer and a pointer to ``ops_call_tool``, and audited as denied. An agent never runs a
tool it was not listed (a client could not validate its result against a schema it never saw), and
the answer says nothing about which names exist.

The view also owns a per-agent detail of the catalogue list: tools whose writes need a person's
approval for *this* agent get an optional ``approval_id`` argument (see ``confirmation.py``), so the
agent can re-call after a pending approval. Nothing changes for other agents or other tools.
"""

from __future__ import annotations

import json
import time
import weakref
from typing import Any

import mcp_types as t

from ..calls.context import CallContext
from ..calls.executor import ToolExecutor
from ..calls.recorder import CallRecorder, printable
from ..calls.results import error_result, json_result
from ..catalogue.models import Endpoint, Manifest
from ..catalogue.tools import tool_definition
from ..governance.confirmation import APPROVAL_ARG, APPROVAL_SCHEMA
from ..policy import AgentPolicy, Policies
from .search_index import SearchIndex

SEARCH, DESCRIBE, CALL = "ops_search_tools", "ops_describe_tool", "ops_call_tool"
MAX_RESULTS = 10
DEFAULT_RESULTS = 5


def _meta_tools() -> dict[str, t.Tool]:
    read_only = t.ToolAnnotations(
        read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
    )
    name_arg = {"type": "string", "description": "Exact tool name from ops_search_tools"}
    return {
        SEARCH: t.Tool(
            name=SEARCH,
            title="Search Tools",
            description=(
                "Find the tools for a task, best first (e.g. 'who is off sick next week', 'invoice a "
                "finished job'). Then ops_describe_tool for its arguments and ops_call_tool to run it."
            ),
            input_schema={
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "The task in plain words"},
                    "limit": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_RESULTS,
                        "default": DEFAULT_RESULTS,
                    },
                },
                "required": ["query"],
            },
            output_schema={"type": "object", "properties": {"results": {"type": "array"}}},
            annotations=read_only,
        ),
        DESCRIBE: t.Tool(
            name=DESCRIBE,
            title="Describe Tool",
            description="Full definition of one tool: description, input schema, output schema, annotations.",
            input_schema={"type": "object", "properties": {"name": name_arg}, "required": ["name"]},
            output_schema={
                "type": "object",
                "properties": {"name": {"type": "string"}, "inputSchema": {"type": "object"}},
            },
            annotations=read_only,
        ),
        CALL: t.Tool(
            name=CALL,
            title="Call Tool",
            description=(
                "Run one tool by name with its arguments (as ops_describe_tool shows them). Same rules "
                "as a direct call; some writes wait for a person's approval."
            ),
            input_schema={
                "type": "object",
                "properties": {
                    "name": name_arg,
                    "arguments": {"type": "object", "description": "The tool's arguments"},
                },
                "required": ["name"],
            },
            output_schema={"type": "object"},
            annotations=t.ToolAnnotations(
                read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True
            ),
        ),
    }


META_TOOLS = _meta_tools()


def definition_tokens(definition: dict[str, Any]) -> int:
    from ..catalogue.tokens import count_tokens

    return count_tokens(json.dumps(definition, separators=(",", ":"), ensure_ascii=False))


def wire(tool: t.Tool) -> dict[str, Any]:
    return tool.model_dump(by_alias=True, exclude_none=True, mode="json")


class DiscoveryView:
    def __init__(self, *, catalogue: dict[str, Manifest], policies: Policies, executor: ToolExecutor,
                 recorder: CallRecorder, tools_by_name: dict[str, t.Tool]) -> None:
        self.policies = policies
        self.executor = executor
        self.recorder = recorder
        self.tools_by_name = tools_by_name
        # Per policy object: an edited policy is a new object, so nothing stale is ever served.
        self._modes: weakref.WeakKeyDictionary[AgentPolicy, bool] = weakref.WeakKeyDictionary()
        self._replaces: weakref.WeakKeyDictionary[AgentPolicy, bool] = weakref.WeakKeyDictionary()
        self._indexes: dict[frozenset[str], SearchIndex] = {}
        self._area_titles = {a: area.title for m in catalogue.values() for a, area in m.areas.items()}
        self._area_descriptions = {a: area.description for m in catalogue.values() for a, area in m.areas.items()}

    # -- ToolView ------------------------------------------------------------------------------

    def replaces_catalogue(self, policy: AgentPolicy) -> bool:
        # Also True when only the approval argument must be added: the view then lists catalogue tools.
        # Computed once per policy object (it is on the call path).
        cached = self._replaces.get(policy)
        if cached is None:
            cached = self.discovery_on(policy) or any(policy.needs_confirmation(e) for e in policy.visible())
            self._replaces[policy] = cached
        return cached

    def tools(self, policy: AgentPolicy) -> list[t.Tool]:
        if self.discovery_on(policy):
            return list(META_TOOLS.values())
        return [self.tool_for(policy, e) for e in policy.visible()]

    async def call(self, call: CallContext, name: str, arguments: dict[str, Any]) -> Any:
        policy = self.policies.get(call.agent)
        if policy is None or not self.discovery_on(policy):
            return None  # catalogue tools are listed: the executor answers (meta-tools are unknown there)
        if name not in META_TOOLS:
            return self._unlisted(call, policy, name)
        if name == CALL:
            return await self._call(call, arguments)
        started = time.perf_counter()
        if name == SEARCH:
            result, decision, error = self._search(policy, arguments)
        else:
            result, decision, error = self._describe(policy, arguments)
        title = META_TOOLS[name].title or name
        self.recorder.local(call, tool=name, title=title, access="read", decision=decision,
                            arguments=arguments, started=started, error=error)
        return result

    # -- per-agent decisions -------------------------------------------------------------------

    def discovery_on(self, policy: AgentPolicy) -> bool:
        on = self._modes.get(policy)
        if on is None:
            if policy.tool_mode == "auto":
                on = self.catalogue_tokens(policy) > policy.token_budget
            else:
                on = policy.tool_mode == "discovery"
            self._modes[policy] = on
        return on

    def catalogue_tokens(self, policy: AgentPolicy) -> int:
        """What the agent's catalogue tool list costs, counted as compact JSON per definition."""
        return sum(definition_tokens(tool_definition(e)) for e in policy.visible())

    def tool_for(self, policy: AgentPolicy, endpoint: Endpoint) -> t.Tool:
        tool = self.tools_by_name[endpoint.tool]
        if not policy.needs_confirmation(endpoint):
            return tool
        schema = dict(tool.input_schema)
        schema["properties"] = {**schema.get("properties", {}), APPROVAL_ARG: APPROVAL_SCHEMA}
        return tool.model_copy(update={"input_schema": schema})

    def index(self, policy: AgentPolicy) -> SearchIndex:
        visible = policy.visible()
        key = frozenset(e.tool for e in visible)
        if key not in self._indexes:
            # Built from the visible tools only, so even the ranking statistics know nothing else.
            self._indexes[key] = SearchIndex(visible, self._area_titles, self._area_descriptions)
        return self._indexes[key]

    # -- the meta-tools ------------------------------------------------------------------------

    def _search(self, policy: AgentPolicy, arguments: dict[str, Any]):
        query, limit = arguments.get("query"), arguments.get("limit", DEFAULT_RESULTS)
        if not isinstance(query, str) or not query.strip():
            return error_result("query: required, the task in plain words"), "invalid", "query missing"
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_RESULTS:
            return error_result(f"limit: an integer from 1 to {MAX_RESULTS}"), "invalid", "bad limit"
        endpoints = {e.tool: e for e in policy.visible()}
        results = []
        for hit in self.index(policy).search(query[:500], limit):
            endpoint = endpoints[hit.name]
            row: dict[str, Any] = {
                "name": endpoint.tool,
                "title": endpoint.title,
                "summary": endpoint.summary,
                "access": endpoint.access,
            }
            if policy.needs_confirmation(endpoint):
                row["needs_approval"] = True
            results.append(row)
        data: dict[str, Any] = {"results": results}
        if not results:
            data["hint"] = (
                "No tool matches; try other words (a noun such as 'invoice', 'time off', 'work order')."
            )
        return json_result(data), "allowed", None

    def _describe(self, policy: AgentPolicy, arguments: dict[str, Any]):
        name = arguments.get("name")
        decision = policy.decide(name) if isinstance(name, str) else None
        if decision is None or not decision.allowed or decision.endpoint is None:
            # Hidden and unknown tools get the same answer, as on a direct call.
            shown = name if isinstance(name, str) else repr(name)
            return error_result(f"Unknown tool: {shown[:128]}"), "denied", "unknown tool"
        return json_result(wire(self.tool_for(policy, decision.endpoint))), "allowed", None

    def _unlisted(self, call: CallContext, policy: AgentPolicy, name: Any) -> t.CallToolResult:
        """A direct call of a tool this discovery-mode agent was not listed: refused the same way whatever
        the name, so it reveals nothing, and audited like the executor's denials."""
        started = time.perf_counter()
        record = self.recorder.start(call, name)
        decision = policy.decide(name) if isinstance(name, str) else None
        if decision is not None and decision.endpoint is not None:
            self.recorder.describe(record, policy, decision.endpoint)
        reason = "not listed (discovery mode): " + (decision.reason if decision is not None else "unknown tool")
        self.recorder.finish(record, started, "denied", error=reason)
        return error_result(f"Unknown tool: {printable(name)}. In this session tools are found with {SEARCH} "
                            f"and run with {CALL}.")

    async def _call(self, call: CallContext, arguments: dict[str, Any]) -> Any:
        name = arguments.get("name")
        inner = arguments.get("arguments", {})
        problem = None
        if not isinstance(name, str):
            problem = "name: required, the exact tool name from ops_search_tools"
        elif inner is not None and not isinstance(inner, dict):
            problem = "arguments: must be an object of the tool's arguments"
        if problem is not None:
            self.recorder.local(call, tool=CALL, title="Call Tool", access="write", decision="invalid",
                                arguments=arguments, started=time.perf_counter(), error=problem)
            return error_result(problem)
        # The executor audits the inner call (the one that matters) and enforces everything else.
        assert isinstance(name, str)  # checked above
        return await self.executor.call(call, name, inner)
