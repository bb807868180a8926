"""``ops-mcp approvals list | approve ID | deny ID``: a person deciding on pending writes.

Reads the approvals database in the configured state dir, so it works while the server runs (SQLite
WAL) and needs no network. The decision records who made it: the OS user running the command.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
from typing import Any

from .common import add_config, config_of, load_settings_or_exit


def register(sub: Any) -> None:
    approvals = sub.add_parser("approvals", help="list, approve or deny writes waiting for a person")
    add_config(approvals)
    commands = approvals.add_subparsers(dest="approvals_command", required=True)
    listing = commands.add_parser("list", help="approvals waiting for a decision")
    listing.add_argument("--all", action="store_true", help="include decided, used and expired ones")
    listing.add_argument("--json", action="store_true")
    approve = commands.add_parser("approve", help="let the agent's next identical call through, once")
    approve.add_argument("id")
    deny = commands.add_parser("deny", help="refuse it; the agent's retry is refused")
    deny.add_argument("id")
    for parser in (listing, approve, deny):
        add_config(parser)
    approvals.set_defaults(handler=cmd_approvals)


def _store(config: str | None) -> Any:
    from ..governance.approvals import ApprovalStore
    from ..runtime import APPROVALS_FILE

    settings = load_settings_or_exit(config)
    return ApprovalStore(settings.state_dir() / APPROVALS_FILE)


def cmd_approvals(args: argparse.Namespace) -> int:
    store = _store(config_of(args))
    try:
        if args.approvals_command == "list":
            print(render_list(store.list(include_done=args.all), as_json=args.json))
            return 0
        approve = args.approvals_command == "approve"
        try:
            approval = store.decide(args.id, approve=approve, by=getpass.getuser())
        except ValueError as exc:
            print(f"ops-mcp: {exc}", file=sys.stderr)
            return 1
        verb = "approved" if approve else "denied"
        print(f"{approval.id} {verb}: {approval.summary}")
        if approve:
            print(
                f"{approval.agent} may now retry {approval.tool} with the same arguments once, "
                f"until {_when(approval.expires_at)}."
            )
        return 0
    finally:
        store.close()


def render_list(approvals: list, *, as_json: bool = False) -> str:
    if as_json:
        return json.dumps([a.__dict__ for a in approvals], indent=2, ensure_ascii=False)
    if not approvals:
        return "no approvals waiting"
    now = time.time()
    lines = []
    for a in approvals:
        status = "expired" if a.status == "pending" and a.expired(now) else a.status
        lines.append(f"{a.id}  {status:<8}  {a.agent:<16}  {a.tool}")
        lines.append(f"    {a.summary}")
        arguments = a.arguments if len(a.arguments) <= 300 else a.arguments[:299] + "…"
        lines.append(f"    arguments: {arguments}")
        by = f" by {a.decided_by}" if a.decided_by else ""
        lines.append(f"    asked {_when(a.created_at)}{by}; expires {_when(a.expires_at)}")
    return "\n".join(lines)


def _when(moment: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(moment))
