"""``ops-mcp policy export | reset``: access as code.

``export`` prints the policy in force — the TOML's agents with the console's saved edits applied (those
win, see ``policy_store.py``) — as ``[agents.NAME]`` tables to paste into ops-mcp.toml. ``reset AGENT``
drops an agent's saved edits, so its TOML table applies again: running servers pick it up when they poll
the state store, and with Redis every replica hears it at once.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from .common import add_config, config_of, load_runtime, tell_replicas

if TYPE_CHECKING:
    from ..policy_store import PolicyOverrides
    from ..runtime import Runtime


def register(sub: Any) -> None:
    policy = sub.add_parser("policy", help="export the access in force as TOML; drop console edits")
    policy_sub = policy.add_subparsers(dest="policy_command", required=True)
    export = policy_sub.add_parser("export", help="print every agent's access in force as TOML")
    export.add_argument("--agent", action="append", help="only this agent (repeatable)")
    reset = policy_sub.add_parser(
        "reset", help="drop an agent's console edits (its TOML table applies again)"
    )
    reset.add_argument("agent")
    for parser in (export, reset):
        add_config(parser)
    policy.set_defaults(handler=cmd_policy)


def cmd_policy(args: argparse.Namespace) -> int:
    from ..policy_store import agent_table
    from ..policy_toml import agents_toml

    runtime = load_runtime(config_of(args))
    overrides = runtime.overrides or runtime.store.policy_overrides()
    if args.policy_command == "reset":
        if not reset_access(runtime, overrides, args.agent):
            print(f"ops-mcp: {args.agent!r} has no saved console edits", file=sys.stderr)
            return 1
        print(f"dropped the console edits of {args.agent}; its TOML table applies again", file=sys.stderr)
        return 0
    names = args.agent or runtime.policies.names()
    unknown = [n for n in names if n not in runtime.policies]
    if unknown:
        print(
            f"ops-mcp: unknown agent {unknown[0]!r}; agents: {', '.join(runtime.policies.names())}",
            file=sys.stderr,
        )
        return 2
    saved = overrides.load()
    tables = {}
    for name in names:
        configured = runtime.settings.agents.get(name)
        description = saved.get(name, {}).get("description") or (configured.description if configured else "")
        tables[name] = agent_table(runtime.policies[name], description)
    header = (
        "The access in force: the TOML with the console's saved edits applied (those win).\n"
        "Paste these tables into ops-mcp.toml, then `ops-mcp policy reset AGENT` to drop an edit."
    )
    sys.stdout.write(agents_toml(tables, header))
    return 0


def reset_access(runtime: Runtime, overrides: PolicyOverrides, agent: str) -> bool:
    """Drop ``agent``'s console edits (False: it had none). With Redis, every replica applies the TOML access
    at once, and sessions there hear that their tool list changed; an agent the console created is removed."""
    from ..coordination.policies import policy_news
    from ..policy_store import toml_policy

    if not overrides.forget(agent):
        return False
    configured = runtime.settings.agents.get(agent)
    news = policy_news(toml_policy(agent, configured, runtime.catalogue, runtime.tenants)) if configured else None
    tell_replicas(runtime.settings, lambda coordination: coordination.publish_policy(agent, news))
    return True
