"""The audit chain's rules, whatever stores it: how a record is encoded, hashed and sealed into a row, what an
entry is, and how a stored chain is verified. Pure logic, shared by the embedded SQLite store (``store.py``)
and the PostgreSQL one (``storage/postgres/audit.py``), so that both seal and check the very same bytes.

Chain: ``hash = sha256(prev_hash + canonical_json(record + seq))``, the first row chaining from 64 zeros.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import Any

from ..records import Frozen, set_fields
from .records import AuditRecord

GENESIS = "0" * 64

# Record fields that are also columns, for querying with plain SQL. `record_json` stays the
# source of truth; verify() checks that the columns still agree with it.
COLUMNS: tuple[str, ...] = (
    "ts", "agent", "tenant", "backend", "tool", "area", "access", "decision", "http_status",
    "duration_ms", "upstream_request_id", "target_ids", "error", "confirmed_by", "sentence",
    "phase", "completes", "outcome",
)  # fmt: skip
JSON_COLUMNS = frozenset({"target_ids", "arguments"})
# Columns rows no longer fill (the value lives in record_json only) but older rows did: checked when set.
LEGACY_COLUMNS: tuple[str, ...] = ("arguments",)
RECORD_FIELDS = AuditRecord._fields
# What verify reads of each row, in this order.
VERIFIED_COLUMNS = ", ".join(("seq", *COLUMNS, *LEGACY_COLUMNS, "record_json", "prev_hash", "hash"))


def canonical_json(value: Any) -> str:
    # Sorted keys and no whitespace make the text — and so the hash — a function of the content
    # alone. ASCII-only so that the bytes hashed never depend on an encoder's choices.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def chain_hash(prev_hash: str, record_json: str) -> str:
    return hashlib.sha256((prev_hash + record_json).encode("ascii")).hexdigest()


def seal(payloads: Iterable[dict[str, Any]], head: tuple[int, str]) -> list[tuple[Any, ...]]:
    """Rows ``(seq, *COLUMNS, record_json, prev_hash, hash)`` chaining ``payloads`` on from ``head``; each
    payload gets its ``seq``. The last row's (seq, hash) is the new head."""
    seq, prev_hash = head
    rows: list[tuple[Any, ...]] = []
    for data in payloads:
        seq += 1
        data["seq"] = seq
        record_json = canonical_json(data)  # the one encoding: hashed, stored, verified
        digest = chain_hash(prev_hash, record_json)
        values = [data[c] for c in COLUMNS]
        values[COLUMNS.index("target_ids")] = canonical_json(data["target_ids"])
        rows.append((seq, *values, record_json, prev_hash, digest))
        prev_hash = digest
    return rows


class VerifyResult(Frozen):
    __slots__ = ("ok", "checked", "first_bad_seq", "reason")
    ok: bool
    checked: int
    first_bad_seq: int | None
    reason: str | None

    def __init__(self, ok: bool, checked: int, first_bad_seq: int | None = None,
                 reason: str | None = None) -> None:
        set_fields(self, ok=ok, checked=checked, first_bad_seq=first_bad_seq, reason=reason)


class AuditEntry(Frozen):
    """A stored call with its place in the chain (a written-ahead write shows its completion)."""

    __slots__ = ("seq", "hash", "record")
    seq: int
    hash: str
    record: AuditRecord

    def __init__(self, seq: int, hash: str, record: AuditRecord) -> None:
        set_fields(self, seq=seq, hash=hash, record=record)


def verify_rows(rows: Iterator[tuple[Any, ...]]) -> tuple[VerifyResult, tuple[int, str] | None]:
    """Check every row against its predecessor; also return the last (seq, hash) seen."""
    expected_seq, expected_prev, checked = 1, GENESIS, 0
    last: tuple[int, str] | None = None
    open_writes: set[int] = set()  # started rows not completed yet (at the end: crash-left, allowed)
    for row in rows:
        seq, values, record_json, prev_hash, digest = row[0], row[1:-3], row[-3], row[-2], row[-1]
        problem = check_row(seq, values, record_json, prev_hash, digest, expected_seq, expected_prev)
        if problem is None:
            problem = check_phase(seq, json.loads(record_json), open_writes)
        if problem is not None:
            bad_seq, reason = problem
            return VerifyResult(False, checked, bad_seq, reason), last
        checked += 1
        expected_seq, expected_prev = seq + 1, digest
        last = (seq, digest)
    return VerifyResult(True, checked), last


def check_phase(seq: int, data: dict[str, Any], open_writes: set[int]) -> tuple[int, str] | None:
    """A completion completes exactly one earlier started row, once."""
    phase = data.get("phase")
    if phase == "started":
        open_writes.add(seq)
    elif phase == "completed":
        opened = data.get("completes")
        if opened not in open_writes:
            return seq, f"record {seq} completes record {opened}, which is not an open write before it"
        open_writes.discard(opened)
    return None


def check_row(
    seq: int,
    values: tuple[Any, ...],
    record_json: str,
    prev_hash: str,
    digest: str,
    expected_seq: int,
    expected_prev: str,
) -> tuple[int, str] | None:
    if seq != expected_seq:
        if seq > expected_seq:
            missing = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}–{seq - 1}"
            return expected_seq, f"record(s) {missing} missing: deleted rows"
        return seq, f"unexpected sequence number {seq} after {expected_seq - 1}"
    if prev_hash != expected_prev:
        return (
            seq,
            f"chain broken at {seq}: its link does not match record {seq - 1} (rows deleted, edited or reordered)",
        )
    if chain_hash(prev_hash, record_json) != digest:
        return seq, f"record {seq} was modified: its content no longer matches its hash"
    try:
        data = json.loads(record_json)
    except ValueError:
        return seq, f"record {seq} is unreadable"
    if not isinstance(data, dict) or data.get("seq") != seq:
        return seq, f"record {seq} carries another record's sequence number (rows reordered)"
    for column, value in zip((*COLUMNS, *LEGACY_COLUMNS), values, strict=True):
        if column in LEGACY_COLUMNS and value is None:
            continue  # stored once, in record_json
        stored = data.get(column)
        if column in JSON_COLUMNS:
            stored = canonical_json(stored)
        if value != stored:
            return seq, f"record {seq} was modified: column {column!r} differs from the sealed record"
    return None


def verify_head(
    result: VerifyResult, last: tuple[int, str] | None, head: tuple[int, str] | None
) -> VerifyResult:
    """The head row is written with every record: it catches rows cut off the end of the log."""
    if last is None:
        if head is not None and head[0] > 0:
            return VerifyResult(
                False, 0, 1, f"the log is empty but its head says {head[0]} records were written"
            )
        return result
    if head is None:
        return VerifyResult(
            False, result.checked, last[0], "the chain head is missing (audit_head row deleted)"
        )
    if head[0] != last[0] or head[1] != last[1]:
        if head[0] > last[0]:
            return VerifyResult(
                False,
                result.checked,
                last[0] + 1,
                f"records {last[0] + 1}–{head[0]} missing from the end: the log was truncated",
            )
        return VerifyResult(
            False, result.checked, last[0], f"the last record ({last[0]}) does not match the chain head"
        )
    return result
