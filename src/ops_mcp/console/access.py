"""The access matrix as rows a person reads, and a submitted form turned back into an agent table.

A row per area: its plain title (qualified with the back end's title when two back ends use the same
one, so every radio group's name "<agent> <area title>" is unique), its kind, the level, and the area's
tools with their per-tool exceptions (deny; confirm for writes). ``table_from_form`` only ever produces
an ``[agents.NAME]`` table, which ``policy_store.policy_from_table`` validates exactly like the TOML.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..catalogue.models import Manifest
from ..policy import AgentPolicy
from ..policy_store import agent_table

LEVELS = ("off", "read", "full")
LEVEL_NAMES = {"off": "Off", "read": "Read", "full": "Full"}
TOOL_MODES = ("auto", "static", "discovery")
CONFIRM_VIA = ("person", "client")


@dataclass
class ToolRow:
    tool: str
    title: str
    access: str
    denied: bool
    confirm: bool


@dataclass
class AreaRow:
    area: str
    title: str
    kind: str
    backend: str
    backend_title: str
    level: str
    confirm_area: bool
    has_writes: bool
    tools: list[ToolRow] = field(default_factory=list)


def area_titles(catalogue: dict[str, Manifest]) -> dict[str, str]:
    """area → the title people read; a title two back ends share gets the back end's title added."""
    plain = {area: info.title for m in catalogue.values() for area, info in m.areas.items()}
    counts = Counter(plain.values())
    backend_title = {area: m.backend.title for m in catalogue.values() for area in m.areas}
    return {
        area: (f"{title} ({backend_title[area]})" if counts[title] > 1 else title)
        for area, title in plain.items()
    }


def area_kind(reads: int, writes: int) -> str:
    """Bollard's words: an area you can read is a Resource; one you can only act on is an Action."""
    noun = "Resource" if reads else "Action"
    parts = [f"{reads} read" if reads else "", f"{writes} write" if writes else ""]
    return f"{noun} ({', '.join(p for p in parts if p)} tools)"


def rows(policy: AgentPolicy, catalogue: dict[str, Manifest]) -> list[AreaRow]:
    titles = area_titles(catalogue)
    out = []
    for manifest in catalogue.values():
        for area in manifest.areas:
            endpoints = [e for e in manifest.endpoints if e.area == area]
            reads = sum(1 for e in endpoints if e.access == "read")
            writes = len(endpoints) - reads
            out.append(
                AreaRow(
                    area=area,
                    title=titles[area],
                    kind=area_kind(reads, writes),
                    backend=manifest.backend.name,
                    backend_title=manifest.backend.title,
                    level=policy.level(area),
                    confirm_area=area in policy.confirm_areas,
                    has_writes=writes > 0,
                    tools=[
                        ToolRow(
                            e.tool,
                            e.title,
                            e.access,
                            e.tool in policy.denied_tools,
                            e.tool in policy.confirm_tools,
                        )
                        for e in endpoints
                    ],
                )
            )
    return out


class FormProblem(ValueError):
    """A field of the submitted form is not one of the choices offered; the message names it."""


def _choice(form: Any, key: str, allowed: tuple[str, ...], current: str) -> str:
    value = form.get(key)
    if value is None:
        return current
    if value not in allowed:
        raise FormProblem(f"{key}: one of {', '.join(allowed)} (got {str(value)[:40]!r})")
    return str(value)


def levels_from_form(policy: AgentPolicy, form: Any, prefix: str = "") -> dict[str, str]:
    """Every area's level from ``{prefix}level:{area}`` fields (an absent field keeps the level)."""
    return {
        area: _choice(form, f"{prefix}level:{area}", LEVELS, level) for area, level in policy.levels.items()
    }


def table_from_form(
    policy: AgentPolicy, form: Any, catalogue: dict[str, Manifest], tenants: Any, description: str = ""
) -> dict[str, Any]:
    """The agent's whole page submitted: levels, exceptions, connections, confirm_via, tool mode."""
    table = agent_table(policy, description)
    table["areas"] = {a: lvl for a, lvl in sorted(levels_from_form(policy, form).items()) if lvl != "off"}
    tools = {e.tool: e for m in catalogue.values() for e in m.endpoints}
    table["deny_tools"] = sorted(t for t in tools if form.get(f"deny:{t}") == "on")
    confirm_areas = sorted(a for a in policy.levels if form.get(f"confirm-area:{a}") == "on")
    confirm_tools = sorted(
        t for t, e in tools.items() if e.access == "write" and form.get(f"confirm:{t}") == "on"
    )
    table["confirm"] = confirm_areas + confirm_tools
    connections = dict(table.get("connections", {}))
    for backend in catalogue:
        names = tuple(tenants.names(backend))
        if not names:
            continue
        # "" (not bound) is offered only while the agent has no access there; binding checks the rest.
        chosen = _choice(form, f"connection:{backend}", ("", *names), connections.get(backend, ""))
        if chosen:
            connections[backend] = chosen
        else:
            connections.pop(backend, None)
    table["connections"] = connections
    table["tool_mode"] = _choice(form, "tool_mode", TOOL_MODES, policy.tool_mode)
    table["confirm_via"] = _choice(form, "confirm_via", CONFIRM_VIA, policy.confirm_via)
    return {k: v for k, v in table.items() if v not in ([], {}) or k == "areas"}


def changes(old: AgentPolicy, new: AgentPolicy) -> list[tuple[str, str | None]]:
    """What changed, as (clause, area) pairs: "set people-ops remote.timeoff to full"."""
    name = new.name
    out: list[tuple[str, str | None]] = []
    for area in sorted(new.levels):
        if old.level(area) != new.level(area):
            out.append((f"set {name} {area} to {new.level(area)} (was {old.level(area)})", area))
    for tool in sorted(new.denied_tools - old.denied_tools):
        out.append((f"denied {name} the tool {tool}", _area_of(new, tool)))
    for tool in sorted(old.denied_tools - new.denied_tools):
        out.append((f"lifted the denial of {tool} for {name}", _area_of(new, tool)))
    for area in sorted(new.confirm_areas ^ old.confirm_areas):
        verb = "required a person's yes for" if area in new.confirm_areas else "dropped the person's yes for"
        out.append((f"{verb} {name}'s writes in {area}", area))
    for tool in sorted(new.confirm_tools ^ old.confirm_tools):
        verb = "required a person's yes for" if tool in new.confirm_tools else "dropped the person's yes for"
        out.append((f"{verb} {name}'s {tool}", _area_of(new, tool)))
    for backend in sorted(set(new.bindings) | set(old.bindings)):
        if new.bindings.get(backend) != old.bindings.get(backend):
            out.append((f"bound {name} on {backend} to the connection {new.bindings.get(backend)}", None))
    if new.tool_mode != old.tool_mode:
        out.append((f"set {name}'s tool mode to {new.tool_mode}", None))
    if new.confirm_via != old.confirm_via:
        out.append((f"set {name}'s confirm_via to {new.confirm_via}", None))
    return out


def _area_of(policy: AgentPolicy, tool: str) -> str | None:
    endpoint = policy.endpoints.get(tool)
    return endpoint.area if endpoint is not None else None
