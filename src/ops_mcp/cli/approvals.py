"""``ops-mcp approvals list | show ID | approve ID | deny ID``: a person deciding on pending writes.

Reads the approvals database in the configured state dir, so it works while the server runs (SQLite
WAL) and needs no network. A decision names the person making it from their own credential: the OS
user running the command. ``show`` prints every field the write sets, before → after, in full; ``list``
previews long values and says how much it left out. Every agent-supplied text is neutralised.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
from typing import Any

from ..text import neutralise
from .common import add_config, config_of, load_settings_or_exit, open_state_or_exit

LIST_VALUE_LIMIT = 120


def register(sub: Any) -> None:
    approvals = sub.add_parser("approvals", help="list, show, approve or deny writes waiting for a person")
    add_config(approvals)
    commands = approvals.add_subparsers(dest="approvals_command", required=True)
    listing = commands.add_parser("list", help="approvals waiting for a decision")
    listing.add_argument("--all", action="store_true", help="include decided, used and expired ones")
    listing.add_argument("--json", action="store_true")
    show = commands.add_parser("show", help="everything the write would change, in full")
    show.add_argument("id")
    show.add_argument("--json", action="store_true")
    approve = commands.add_parser("approve", help="let the agent's next identical call through, once")
    approve.add_argument("id")
    deny = commands.add_parser("deny", help="refuse it; the agent's retry is refused")
    deny.add_argument("id")
    for parser in (listing, show, approve, deny):
        add_config(parser)
    approvals.set_defaults(handler=cmd_approvals)


def _store(config: str | None) -> Any:
    settings = load_settings_or_exit(config)
    return open_state_or_exit(settings).approvals()


def cmd_approvals(args: argparse.Namespace) -> int:
    from ..governance.desk import ApprovalDesk, Person

    store = _store(config_of(args))
    desk = ApprovalDesk(store)
    try:
        command = args.approvals_command
        if command == "list":
            found = desk.everything() if args.all else desk.waiting()
            print(render_list(found, as_json=args.json))
            return 0
        if command == "show":
            approval = desk.show(args.id)
            if approval is None:
                print(f"ops-mcp: no approval {neutralise(args.id, 64)!r}", file=sys.stderr)
                return 1
            print(json.dumps(approval.as_dict(), indent=2, ensure_ascii=False) if getattr(args, "json", False)
                  else render_one(approval))
            return 0
        person = Person(getpass.getuser(), "cli")
        try:
            approval = desk.approve(args.id, person) if command == "approve" else desk.deny(args.id, person)
        except ValueError as exc:
            print(f"ops-mcp: {neutralise(str(exc))}", file=sys.stderr)
            return 1
        print(f"{approval.id} {'approved' if command == 'approve' else 'denied'} by {neutralise(person.name)}:")
        print(render_one(approval))
        if command == "approve":
            print(f"{neutralise(approval.agent)} may now retry {neutralise(approval.tool)} with the same arguments "
                  f"once, until {_when(approval.expires_at)}.")
        return 0
    finally:
        store.close()


def render_list(approvals: list, *, as_json: bool = False) -> str:
    if as_json:
        return json.dumps([a.as_dict() for a in approvals], indent=2, ensure_ascii=False)
    if not approvals:
        return "no approvals waiting"
    now = time.time()
    lines = []
    for a in approvals:
        lines.append(f"{a.id}  {a.shown_status(now):<8}  {neutralise(a.agent, 40):<16}  {neutralise(a.tool)}")
        lines.append(f"    {neutralise(a.summary)}")
        more = f"; ops-mcp approvals show {a.id}"
        target = a.change.target_line()
        for line in ([target] if target else []) + a.change.lines(LIST_VALUE_LIMIT, more):
            lines.append(f"      • {line}")
        lines.append(f"    asked {_when(a.created_at)}{_decided(a)}; expires {_when(a.expires_at)}")
    return "\n".join(lines)


def render_one(a: Any) -> str:
    """One approval in full: who asked, where, and every field before → after, nothing cut."""
    data = a.as_dict()
    lines = [
        f"approval   {a.id} ({data['status']})",
        f"agent      {data['agent']}",
        f"action     {data['title'] or data['tool']} ({data['tool']})",
    ]
    if data["tenant"]:
        lines.append(f"tenant     {data['tenant']}")
    lines.append(f"asked      {_when(a.created_at)}; expires {_when(a.expires_at)}")
    if a.decided_by:
        via = f" via {a.decided_via}" if a.decided_via else ""
        lines.append(f"decided    {data['status'] if a.status != 'used' else 'approved, used'} by "
                     f"{data['decided_by']}{via} at {_when(a.decided_at or 0)}")
    lines.append("")
    lines.append(data["summary"])
    target = a.change.target_line()
    if target:
        lines.append(f"  {target}")
    if not data["changes"]:
        lines.append("  (the write sets no fields)")
    for row in data["changes"]:
        lines.append(f"  {row['label']}  [{row['field']}]")
        if row["before"] is not None:
            lines.append(f"    before: {row['before']}")
        lines.append(f"    after:  {row['after']}")
    return "\n".join(lines)


def _decided(a: Any) -> str:
    return f"; {a.status} by {neutralise(a.decided_by)}" if a.decided_by else ""


def _when(moment: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(moment))
