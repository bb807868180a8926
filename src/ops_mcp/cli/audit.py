"""``ops-mcp audit tail | search | verify``.

The text functions (``tail``, ``search``, ``verify``) return what to print, so the output can be tested
without a terminal.

Human form, one record per line (UTC, so two people reading the same log see the same times):

    2026-05-09T14:03:12Z  #42  people-ops approved time off to_123 …: allowed, 200, 84 ms

JSON form: one object per line (the whole record plus ``seq`` and ``hash``), for ``jq``.

A write recorded ahead and completed shows as one line; one whose completion never came (the process
died while its request was out) reads "outcome unknown".
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from ..audit.since import parse_since
from ..audit.store import AuditEntry, AuditStore
from ..text import neutralise
from .common import add_config, config_of, load_settings_or_exit, open_state_or_exit


def register(sub: Any) -> None:
    audit = sub.add_parser("audit", help="read and verify the audit log")
    add_config(audit)
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    tail_cmd = audit_sub.add_parser("tail", help="the latest records")
    tail_cmd.add_argument("-n", type=int, default=20)
    tail_cmd.add_argument("--json", action="store_true")
    search_cmd = audit_sub.add_parser("search", help="records by agent, tool, decision, time")
    search_cmd.add_argument("--agent")
    search_cmd.add_argument("--tool")
    search_cmd.add_argument("--decision")
    search_cmd.add_argument("--since", help="15m, 2h, 3d or an ISO date/time")
    search_cmd.add_argument("--limit", type=int, default=100)
    search_cmd.add_argument("--json", action="store_true")
    verify_cmd = audit_sub.add_parser("verify", help="check the hash chain: no record edited, removed or reordered")
    for parser in (tail_cmd, search_cmd, verify_cmd):
        add_config(parser)
    audit.set_defaults(handler=cmd_audit)


def cmd_audit(args: argparse.Namespace) -> int:
    from ..runtime import AUDIT_FILE

    settings = load_settings_or_exit(config_of(args))
    path = settings.state_dir() / AUDIT_FILE
    if settings.storage.url is None and not path.exists():
        print(f"ops-mcp: no audit log at {path}", file=sys.stderr)
        return 1
    store = open_state_or_exit(settings).audit()  # the embedded file, or the chain in PostgreSQL
    try:
        if args.audit_command == "tail":
            print(tail(store, args.n, args.json))
        elif args.audit_command == "search":
            since = parse_since(args.since) if args.since else None
            print(search(store, agent=args.agent, tool=args.tool, decision=args.decision, since=since,
                         limit=args.limit, as_json=args.json))
        else:
            ok, text = verify(store)
            print(text)
            return 0 if ok else 1
    finally:
        store.close()
    return 0


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _format(entries: Iterable[AuditEntry], as_json: bool, empty: str) -> str:
    entries = list(entries)
    if as_json:
        return "\n".join(
            # ASCII: a terminal shows "\u2028" or "\u202e" as text, never as a line break or a reversal.
            json.dumps({"seq": e.seq, **e.record.to_dict(), "hash": e.hash}, ensure_ascii=True)
            for e in entries
        )
    if not entries:
        return empty
    width = len(str(entries[-1].seq))
    # Sentences are neutralised when written; again here, for logs written before that (one line each).
    return "\n".join(f"{_when(e.record.ts)}  #{e.seq:<{width}}  {neutralise(e.record.sentence)}" for e in entries)


def _time(value: float | str | None) -> float | None:
    return parse_since(value) if isinstance(value, str) else value


def tail(store: AuditStore, n: int = 20, as_json: bool = False) -> str:
    return _format(store.tail(n), as_json, "the audit log is empty")


def search(
    store: AuditStore,
    *,
    agent: str | None = None,
    tool: str | None = None,
    decision: str | None = None,
    since: float | str | None = None,
    until: float | str | None = None,
    limit: int = 100,
    as_json: bool = False,
) -> str:
    """``since``/``until`` accept what ``--since`` does ("15m", "2026-05-01") or unix seconds."""
    entries = store.search(
        agent=agent, tool=tool, decision=decision, since=_time(since), until=_time(until), limit=limit
    )
    return _format(entries, as_json, "no audit records match")


def verify(store: AuditStore) -> tuple[bool, str]:
    """(ok, message); the CLI exits non-zero when not ok."""
    result = store.verify()
    if result.ok:
        return True, f"audit log OK: {result.checked:,} records, hash chain intact ({store.path})"
    return False, (
        f"audit log TAMPERED at record {result.first_bad_seq}: {result.reason} "
        f"({result.checked:,} records verified before it; {store.path})"
    )
