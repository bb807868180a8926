"""``ops-mcp agents add | list | revoke``: bearer tokens of hosted (HTTP) agents.

A token is printed on stdout exactly once; only a salted hash is stored. Everything else goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .common import add_config, config_of, load_settings_or_exit, open_state_or_exit, tell_replicas


def register(sub: Any) -> None:
    agents = sub.add_parser("agents", help="bearer tokens of hosted (HTTP) agents")
    agents_sub = agents.add_subparsers(dest="agents_command", required=True)
    add = agents_sub.add_parser("add", help="issue a token for a configured agent (shown once)")
    add.add_argument("name")
    add.add_argument("--rotate", action="store_true", help="replace the agent's existing token")
    listing = agents_sub.add_parser("list", help="agents and whether each has a token")
    listing.add_argument("--json", action="store_true")
    revoke = agents_sub.add_parser("revoke", help="revoke an agent's token (effective immediately)")
    revoke.add_argument("name")
    for parser in (add, listing, revoke):
        add_config(parser)
    agents.set_defaults(handler=cmd_agents)


def cmd_agents(args: argparse.Namespace) -> int:
    settings = load_settings_or_exit(config_of(args))
    where = open_state_or_exit(settings)
    store = where.agent_tokens()
    # Agents created in the operator console are saved in the state store, not the TOML.
    known = set(settings.agents) | set(where.policy_overrides().load())
    configured = sorted(known)
    if args.agents_command == "list":
        tokens = store.tokens()
        rows = [{"agent": name, "token": name in tokens,
                 "created_at": tokens[name].created_at if name in tokens else None,
                 "hint": tokens[name].hint + "…" if name in tokens else None} for name in configured]
        orphans = [{"agent": name, "token": True, "created_at": t.created_at, "hint": t.hint + "…",
                    "note": "not in the config: this token is refused"}
                   for name, t in sorted(tokens.items()) if name not in known]
        if args.json:
            print(json.dumps(rows + orphans, indent=2))
            return 0
        for row in rows + orphans:
            state = f"token {row['hint']} issued {row['created_at']}" if row["token"] else "no token"
            note = f"  ({row['note']})" if row.get("note") else ""
            print(f"{row['agent']:<24} {state}{note}")
        return 0
    name = args.name
    if args.agents_command == "revoke":
        if not store.revoke(name):
            print(f"ops-mcp: {name!r} has no token", file=sys.stderr)
            return 1
        print(f"revoked the token of {name}", file=sys.stderr)
        _tell_replicas(settings, name)
        return 0
    if name not in known:
        print(f"ops-mcp: unknown agent {name!r}; configured agents: {', '.join(configured) or 'none'}",
              file=sys.stderr)
        return 2
    if name in store.tokens() and not args.rotate:
        print(f"ops-mcp: {name} already has a token; pass --rotate to replace it (the old one stops working)",
              file=sys.stderr)
        return 1
    token = store.issue(name)
    if args.rotate:
        _tell_replicas(settings, name)  # the old token's sessions close on every replica now
    print(f"Token for {name} (shown once; only its hash is stored in {store.path}):", file=sys.stderr)
    print(token)
    return 0


def _tell_replicas(settings: Any, agent: str) -> None:
    """With Redis, every replica closes what the old token holds open at once (they also find out at their next
    poll of the token store, within ``revocation_poll_seconds``)."""
    tell_replicas(settings, lambda coordination: coordination.publish_revoked(agent))
