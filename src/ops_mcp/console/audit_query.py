"""The audit page's filters, read from the query string, and the filtered set as CSV or JSON Lines.

Agent, tool, decision and time are filtered by the store; area and tenant, which its search does not
take, are filtered here over a window of the newest matching records (``SCAN``), so the page says when
the window may have cut older matches.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..audit import DECISIONS
from ..text import neutralise

DEFAULT_LIMIT = 200
MAX_LIMIT = 5000
SCAN = 20000
FIELDS = ("agent", "tool", "area", "decision", "tenant", "since", "until")
CSV_COLUMNS = (
    "seq",
    "time",
    "agent",
    "tenant",
    "tool",
    "area",
    "access",
    "decision",
    "http_status",
    "confirmed_by",
    "sentence",
)


class FilterProblem(ValueError):
    pass


@dataclass(frozen=True)
class AuditFilter:
    agent: str | None = None
    tool: str | None = None
    area: str | None = None
    decision: str | None = None
    tenant: str | None = None
    since: float | None = None
    until: float | None = None
    limit: int = DEFAULT_LIMIT

    @classmethod
    def from_query(cls, query: Any) -> AuditFilter:
        values: dict[str, Any] = {}
        for key in ("agent", "tool", "area", "tenant"):
            value = (query.get(key) or "").strip()
            if len(value) > 200:
                raise FilterProblem(f"{key}: at most 200 characters")
            values[key] = value or None
        decision = (query.get("decision") or "").strip() or None
        if decision is not None and decision not in DECISIONS:
            raise FilterProblem(f"decision: one of {', '.join(sorted(DECISIONS))}")
        values["decision"] = decision
        for key in ("since", "until"):
            values[key] = _moment(key, query.get(key))
        raw_limit = query.get("limit") or str(DEFAULT_LIMIT)
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
            raise FilterProblem(f"limit: a whole number from 1 to {MAX_LIMIT}")
        return cls(**values, limit=int(raw_limit))

    def query_string(self) -> str:
        from urllib.parse import urlencode

        shown = {k: v for k, v in self.form().items() if v}
        return urlencode({**shown, "limit": self.limit})

    def form(self) -> dict[str, str]:
        """The values as the form shows them (times as UTC ``YYYY-MM-DDTHH:MM``)."""
        out = {k: getattr(self, k) or "" for k in ("agent", "tool", "area", "decision", "tenant")}
        for key in ("since", "until"):
            moment = getattr(self, key)
            out[key] = (
                datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M") if moment is not None else ""
            )
        return out

    def run(self, store: Any) -> tuple[list[Any], bool]:
        """Matching entries newest first, and whether the scan window may have cut older matches."""
        narrow = self.area is not None or self.tenant is not None
        scan = SCAN if narrow else self.limit
        entries = store.search(
            agent=self.agent,
            tool=self.tool,
            decision=self.decision,
            since=self.since,
            until=self.until,
            limit=scan,
        )
        entries.reverse()
        if narrow:
            entries = [
                e
                for e in entries
                if (self.area is None or e.record.area == self.area)
                and (self.tenant is None or e.record.tenant == self.tenant)
            ]
        return entries[: self.limit], narrow and len(entries) >= scan


def _moment(key: str, value: str | None) -> float | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise FilterProblem(f"{key}: a date and time such as 2026-01-31T09:30 (UTC)") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _time(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def as_row(entry: Any, with_arguments: bool) -> dict[str, Any]:
    r = entry.record
    row = {
        "seq": entry.seq,
        "time": _time(r.ts),
        "agent": r.agent,
        "tenant": r.tenant,
        "tool": r.tool,
        "area": r.area,
        "access": r.access,
        "decision": r.decision,
        "http_status": r.http_status,
        "confirmed_by": r.confirmed_by,
        "sentence": r.sentence,
        "hash": entry.hash,
    }
    if with_arguments:
        row["arguments"] = r.arguments
        row["error"] = r.error
    return row


def to_csv(entries: list[Any], with_arguments: bool) -> str:
    out = io.StringIO()
    columns = [*CSV_COLUMNS, "hash", *(("arguments", "error") if with_arguments else ())]
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for entry in entries:
        row = as_row(entry, with_arguments)
        if with_arguments:
            row["arguments"] = json.dumps(row["arguments"], sort_keys=True, ensure_ascii=False)
        # A spreadsheet runs a cell starting with = + - @ as a formula: agent text never starts one.
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return out.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        value = neutralise(value)
        if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
            return "'" + value
    return value


def to_jsonl(entries: list[Any], with_arguments: bool) -> str:
    return "".join(
        json.dumps(as_row(e, with_arguments), sort_keys=True, ensure_ascii=False) + "\n" for e in entries
    )
