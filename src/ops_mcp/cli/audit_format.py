"""Text for ``ops-mcp audit tail | search | verify``.

Functions only — the command-line parser lives in ``ops_mcp.cli``. Each returns the text to
print, so the output can be tested without a terminal.

Human form, one record per line (UTC, so two people reading the same log see the same times):

    2026-05-09T14:03:12Z  #42  people-ops approved time off to_123 …: allowed, 200, 84 ms

JSON form: one object per line (the whole record plus ``seq`` and ``hash``), for ``jq``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime

from ..audit.since import parse_since
from ..audit.store import AuditEntry, AuditStore


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _format(entries: Iterable[AuditEntry], as_json: bool, empty: str) -> str:
    entries = list(entries)
    if as_json:
        return "\n".join(
            json.dumps({"seq": e.seq, **e.record.to_dict(), "hash": e.hash}, ensure_ascii=False)
            for e in entries
        )
    if not entries:
        return empty
    width = len(str(entries[-1].seq))
    return "\n".join(f"{_when(e.record.ts)}  #{e.seq:<{width}}  {e.record.sentence}" for e in entries)


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
