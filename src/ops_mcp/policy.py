"""Who may see and do what: access per agent and area (off < read < full), deny by default.

The policy filters the tool list and is enforced again on every call. A name is matched exactly: a
tool outside the policy is simply unknown to the agent, whatever its spelling.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from .catalogue.models import Endpoint, Manifest
from .config import AgentConfig, ConfigError, ConfirmVia, ToolMode
from .records import Frozen, Record, set_fields

LEVELS = {"off": 0, "read": 1, "full": 2}
NEEDED = {"read": "read", "write": "full"}


class Decision(Frozen):
    __slots__ = ("allowed", "endpoint", "reason", "needs_confirmation")
    allowed: bool
    endpoint: Endpoint | None
    reason: str
    needs_confirmation: bool

    def __init__(self, allowed: bool, endpoint: Endpoint | None, reason: str,
                 needs_confirmation: bool = False) -> None:
        set_fields(self, allowed=allowed, endpoint=endpoint, reason=reason,
                   needs_confirmation=needs_confirmation)


class AgentPolicy(Record):
    # "__weakref__": views cache per policy in a WeakKeyDictionary (server/discovery.py); not a field.
    __slots__ = ("name", "levels", "confirm_areas", "confirm_tools", "denied_tools", "endpoints", "bindings",
                 "tool_mode", "token_budget", "confirm_via", "__weakref__")
    name: str
    levels: dict[str, str]  # area -> level, every area of the catalogue present
    confirm_areas: frozenset[str]
    confirm_tools: frozenset[str]
    denied_tools: frozenset[str]
    endpoints: dict[str, Endpoint]  # every tool of the catalogue
    bindings: dict[str, str]  # back end -> connection (tenant) name
    tool_mode: ToolMode
    token_budget: int
    confirm_via: ConfirmVia

    def __init__(
        self, name: str, levels: dict[str, str], confirm_areas: frozenset[str] = frozenset(),
        confirm_tools: frozenset[str] = frozenset(), denied_tools: frozenset[str] = frozenset(),
        endpoints: dict[str, Endpoint] | None = None, bindings: dict[str, str] | None = None,
        tool_mode: ToolMode = "auto", token_budget: int = 6000, confirm_via: ConfirmVia = "person",
    ) -> None:
        self.name = name
        self.levels = levels
        self.confirm_areas = confirm_areas
        self.confirm_tools = confirm_tools
        self.denied_tools = denied_tools
        self.endpoints = {} if endpoints is None else endpoints
        self.bindings = {} if bindings is None else bindings
        self.tool_mode = tool_mode
        self.token_budget = token_budget
        self.confirm_via = confirm_via

    # A policy is identified by the object (hashable), so views can cache per policy and a replaced
    # policy (edited at run time) is simply a new key.
    __eq__ = object.__eq__
    __hash__ = object.__hash__  # type: ignore[assignment]

    def level(self, area: str) -> str:
        return self.levels.get(area, "off")

    def permits(self, endpoint: Endpoint) -> bool:
        if endpoint.tool in self.denied_tools:
            return False
        return LEVELS[self.level(endpoint.area)] >= LEVELS[NEEDED[endpoint.access]]

    def visible(self) -> list[Endpoint]:
        return [e for e in self.endpoints.values() if self.permits(e)]

    def readable_areas(self) -> set[str]:
        return {area for area, level in self.levels.items() if LEVELS[level] >= LEVELS["read"]}

    def needs_confirmation(self, endpoint: Endpoint) -> bool:
        if endpoint.access != "write":
            return False
        return endpoint.area in self.confirm_areas or endpoint.tool in self.confirm_tools

    def decide(self, tool_name: str) -> Decision:
        endpoint = self.endpoints.get(tool_name)
        if endpoint is None:
            return Decision(False, None, "unknown tool")
        if not self.permits(endpoint):
            # The endpoint is kept for the audit record; the agent is only told "unknown tool".
            return Decision(False, endpoint, f"{endpoint.area} is {self.level(endpoint.area)} for {self.name}")
        return Decision(True, endpoint, "allowed", self.needs_confirmation(endpoint))


class Policies:
    """Every agent's policy, by name: what the executor, the tool list and the console read.

    Policies can be replaced at run time (the operator console); listeners hear which agent changed so
    open sessions can be told their tool list changed.
    """

    def __init__(self, policies: dict[str, AgentPolicy]) -> None:
        self._policies = dict(policies)
        self._listeners: list[Callable[[str], None]] = []

    def get(self, agent: str | None) -> AgentPolicy | None:
        return self._policies.get(agent) if agent is not None else None

    def __getitem__(self, agent: str) -> AgentPolicy:
        return self._policies[agent]

    def __contains__(self, agent: object) -> bool:
        return agent in self._policies

    def __iter__(self) -> Iterator[str]:
        return iter(self._policies)

    def __len__(self) -> int:
        return len(self._policies)

    def names(self) -> list[str]:
        return sorted(self._policies)

    def put(self, policy: AgentPolicy) -> None:
        self._policies[policy.name] = policy
        self._changed(policy.name)

    def remove(self, agent: str) -> None:
        if self._policies.pop(agent, None) is not None:
            self._changed(agent)

    def on_change(self, listener: Callable[[str], None]) -> None:
        self._listeners.append(listener)

    def _changed(self, agent: str) -> None:
        for listener in self._listeners:
            listener(agent)


def all_areas(catalogue: dict[str, Manifest]) -> dict[str, str]:
    """Area → back-end name."""
    return {area: name for name, manifest in catalogue.items() for area in manifest.areas}


def build_policy(name: str, agent: AgentConfig, catalogue: dict[str, Manifest]) -> AgentPolicy:
    """Resolve wildcards, and fail closed on any unknown area or tool name."""
    areas = all_areas(catalogue)
    endpoints = {e.tool: e for m in catalogue.values() for e in m.endpoints}
    levels = dict.fromkeys(areas, "off")
    where = f"agents.{name}"

    # Back-end wildcards first, so a named area can refine them whatever the order in the file.
    for key, level in sorted(agent.areas.items(), key=lambda item: not item[0].endswith(".*")):
        for area in _expand_area(key, areas, f"{where}.areas"):
            levels[area] = level

    confirm_areas: set[str] = set()
    confirm_tools: set[str] = set()
    for item in agent.confirm:
        if item in endpoints:
            confirm_tools.add(item)
        else:
            confirm_areas.update(_expand_area(item, areas, f"{where}.confirm"))
    for tool in agent.deny_tools:
        if tool not in endpoints:
            raise ConfigError(f"{where}.deny_tools: unknown tool {tool!r}")
    return AgentPolicy(
        name=name,
        levels=levels,
        confirm_areas=frozenset(confirm_areas),
        confirm_tools=frozenset(confirm_tools),
        denied_tools=frozenset(agent.deny_tools),
        endpoints=endpoints,
        tool_mode=agent.tool_mode,
        token_budget=agent.token_budget,
        confirm_via=agent.confirm_via,
    )


def _expand_area(key: str, areas: dict[str, str], where: str) -> list[str]:
    if key.endswith(".*"):
        backend = key[:-2]
        matched = [a for a, b in areas.items() if b == backend]
        if not matched:
            raise ConfigError(f"{where}: unknown back end {backend!r} in {key!r}; known: {_known(set(areas.values()))}")
        return matched
    if key not in areas:
        raise ConfigError(f"{where}: unknown area {key!r}; known areas: {_known(areas)}")
    return [key]


def _known(names) -> str:
    return ", ".join(sorted(names))
