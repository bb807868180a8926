"""Access edited at run time (the operator console), kept in the state dir so it survives a restart.

Which wins: the TOML file seeds every agent; once a person saves an agent's access in the console, the
saved table (``policies.json`` in the state dir) is that agent's policy from then on, on every replica
and after every restart, until someone removes it (``ops-mcp policy reset AGENT``) — the TOML table of
that agent is then used again. ``ops-mcp policy export`` prints the policy in force (TOML plus saved
edits) as TOML, so access managed as code can take the console's edits back.

A saved table has the shape of an ``[agents.NAME]`` table of the config (``AgentConfig``), with every
area named explicitly, so it means the same whatever wildcards the TOML used. ``PolicyOverrides`` is the
small interface a shared store (PostgreSQL) can implement too; ``JsonPolicyOverrides`` is the file one.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any, Protocol

from .catalogue.models import Manifest
from .config import AgentConfig, ConfigError
from .policy import AgentPolicy, Policies, build_policy
from .statefiles import write_atomic
from .tenants import Tenants, bind_agent

log = logging.getLogger("ops_mcp.policy")

POLICIES_FILE = "policies.json"


class PolicyOverrides(Protocol):
    def load(self) -> dict[str, dict[str, Any]]:
        """agent → its saved ``[agents.NAME]`` table."""
        ...

    def save(self, agent: str, table: dict[str, Any], *, by: str) -> None: ...

    def forget(self, agent: str) -> bool: ...

    def stamp(self) -> object:
        """Changes whenever what ``load`` returns may have changed (replicas poll it)."""
        ...


class JsonPolicyOverrides:
    """``policies.json`` in the state dir, rewritten atomically (0600), re-read by every replica."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / POLICIES_FILE

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {"format": 1, "agents": {}}
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{self.path}: cannot read the saved access ({exc})") from None
        return data if isinstance(data, dict) and isinstance(data.get("agents"), dict) else {"agents": {}}

    def load(self) -> dict[str, dict[str, Any]]:
        return {
            name: entry["table"]
            for name, entry in self._read()["agents"].items()
            if isinstance(entry, dict) and isinstance(entry.get("table"), dict)
        }

    def save(self, agent: str, table: dict[str, Any], *, by: str) -> None:
        data = self._read()
        data["agents"][agent] = {
            "table": table,
            "saved_by": by,
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        data["format"] = 1
        write_atomic(self.path, json.dumps(data, indent=1, sort_keys=True), prefix=".policies.")

    def forget(self, agent: str) -> bool:
        data = self._read()
        if data["agents"].pop(agent, None) is None:
            return False
        write_atomic(self.path, json.dumps(data, indent=1, sort_keys=True), prefix=".policies.")
        return True

    def stamp(self) -> object:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)


def agent_table(policy: AgentPolicy, description: str = "") -> dict[str, Any]:
    """The policy as an ``[agents.NAME]`` table: every area that is not off, named explicitly."""
    table: dict[str, Any] = {}
    if description:
        table["description"] = description
    table["areas"] = {area: level for area, level in sorted(policy.levels.items()) if level != "off"}
    confirm = sorted(policy.confirm_areas) + sorted(policy.confirm_tools)
    if confirm:
        table["confirm"] = confirm
    if policy.denied_tools:
        table["deny_tools"] = sorted(policy.denied_tools)
    if policy.bindings:
        table["connections"] = dict(sorted(policy.bindings.items()))
    table["tool_mode"] = policy.tool_mode
    table["confirm_via"] = policy.confirm_via
    table["token_budget"] = policy.token_budget
    return table


def policy_from_table(
    name: str, table: dict[str, Any], catalogue: dict[str, Manifest], tenants: Tenants
) -> AgentPolicy:
    """Validate a table like the config loader does (every error names its key) and build the policy."""
    try:
        config = AgentConfig.model_validate(table)
    except ValueError as exc:
        raise ConfigError(f"agents.{name}: {exc}") from None
    policy = build_policy(name, config, catalogue)
    used = {area.split(".", 1)[0] for area, level in policy.levels.items() if level != "off"}
    policy.bindings = bind_agent(name, config.connections, tenants, catalogue, used)
    return policy


def apply_saved(
    policies: Policies,
    saved: dict[str, dict[str, Any]],
    catalogue: dict[str, Manifest],
    tenants: Tenants,
    *,
    only_changed: bool = False,
) -> list[str]:
    """Put every saved table into ``policies``; returns the agents whose policy was replaced.

    A table that no longer fits the catalogue or the connections (a back end removed since) is logged and
    skipped: the agent keeps the policy it has, and the operator sees why.
    """
    replaced = []
    for name, table in sorted(saved.items()):
        try:
            policy = policy_from_table(name, table, catalogue, tenants)
        except ConfigError as exc:
            log.error("saved access of %s is not applied: %s", name, exc)
            continue
        current = policies.get(name)
        if only_changed and current is not None and agent_table(current) == agent_table(policy):
            continue
        policies.put(policy)
        replaced.append(name)
    return replaced


def toml_policy(name: str, config: AgentConfig, catalogue: dict[str, Manifest], tenants: Tenants) -> AgentPolicy:
    """An agent's policy as its ``[agents.NAME]`` table in the TOML says it (no saved edit applied)."""
    policy = build_policy(name, config, catalogue)
    used = {area.split(".", 1)[0] for area, level in policy.levels.items() if level != "off"}
    policy.bindings = bind_agent(name, config.connections, tenants, catalogue, used)
    return policy


class PolicySync:
    """Brings edits saved (or reset) by another replica or ``ops-mcp policy reset`` into this one's
    ``Policies`` (polled by the HTTP app). ``toml`` is the configured agents: an agent whose saved table
    is gone gets its TOML policy back, or is removed when the console created it."""

    def __init__(
        self, overrides: PolicyOverrides, policies: Policies, catalogue: dict[str, Manifest], tenants: Tenants,
        toml: dict[str, AgentConfig] | None = None,
    ) -> None:
        self.overrides = overrides
        self.policies = policies
        self.catalogue = catalogue
        self.tenants = tenants
        self.toml = toml
        self._stamp = overrides.stamp()
        self._saved = set(overrides.load()) if toml is not None else set()

    def check(self) -> list[str]:
        stamp = self.overrides.stamp()
        if stamp == self._stamp:
            return []
        self._stamp = stamp
        saved = self.overrides.load()
        changed = apply_saved(self.policies, saved, self.catalogue, self.tenants, only_changed=True)
        if self.toml is not None:
            changed += self._restore(self._saved - set(saved))
            self._saved = set(saved)
        return changed

    def _restore(self, reset: set[str]) -> list[str]:
        for name in sorted(reset):
            config = self.toml.get(name) if self.toml is not None else None
            if config is None:
                self.policies.remove(name)
                continue
            try:
                self.policies.put(toml_policy(name, config, self.catalogue, self.tenants))
            except ConfigError as exc:  # cannot happen for a TOML the runtime started with; say so anyway
                log.error("the TOML access of %s is not applied again: %s", name, exc)
        return sorted(reset)

    def saved_here(self) -> None:
        """This process wrote the file itself: nothing to bring in."""
        self._stamp = self.overrides.stamp()
        if self.toml is not None:
            self._saved = set(self.overrides.load())
