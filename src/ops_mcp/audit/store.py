"""The default audit store: SQLite in WAL mode, one row per record, hash-chained.

Chain: ``hash = sha256(prev_hash + canonical_json(record + seq))``, the first row chaining from
64 zeros. A one-row ``audit_head`` table remembers the last (seq, hash) and is updated in the same
transaction as every insert, so that cutting rows off the end is as visible as cutting them out
of the middle.

What the chain proves: a row edited, deleted, re-ordered or inserted by hand (sqlite3 shell, a
script) breaks verification. What it cannot prove: someone with write access who recomputes every
hash after their edit (there is no key), or who cuts the tail *and* deletes the head row before
the next append re-creates it. For that, copy ``head()`` somewhere else from time to time.

Durability: each record is one ``BEGIN IMMEDIATE … COMMIT`` transaction. In WAL mode with
``synchronous=NORMAL`` a committed transaction survives the process being killed (SIGKILL, OOM);
only an OS crash or power cut can lose the last few commits, and never leaves a half row.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ..statefiles import connect_sqlite
from .records import DECISIONS, AuditRecord
from .redact import make_scrubber
from .sentence import render

GENESIS = "0" * 64
SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 30.0

# Record fields that are also columns, for querying with plain SQL. `record_json` stays the
# source of truth; verify() checks that the columns still agree with it.
COLUMNS: tuple[str, ...] = (
    "ts", "agent", "tenant", "backend", "tool", "area", "access", "decision", "http_status",
    "duration_ms", "upstream_request_id", "target_ids", "arguments", "error", "confirmed_by", "sentence",
)  # fmt: skip
_JSON_COLUMNS = frozenset({"target_ids", "arguments"})
_RECORD_FIELDS = tuple(f.name for f in fields(AuditRecord))

# Record columns accept NULL on purpose: a caller's malformed record must still be stored (and
# seen), not bounce off a constraint and vanish from the log.
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    ts REAL,
    agent TEXT,
    tenant TEXT,
    backend TEXT,
    tool TEXT,
    area TEXT,
    access TEXT,
    decision TEXT,
    http_status INTEGER,
    duration_ms REAL,
    upstream_request_id TEXT,
    target_ids TEXT,
    arguments TEXT,
    error TEXT,
    confirmed_by TEXT,
    sentence TEXT,
    record_json TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_ts ON audit (ts);
CREATE INDEX IF NOT EXISTS audit_agent_ts ON audit (agent, ts);
CREATE INDEX IF NOT EXISTS audit_tool_ts ON audit (tool, ts);
CREATE TABLE IF NOT EXISTS audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
PRAGMA user_version = {SCHEMA_VERSION};
"""

_INSERT = (
    f"INSERT INTO audit (seq, {', '.join(COLUMNS)}, record_json, prev_hash, hash) "
    f"VALUES ({', '.join('?' * (len(COLUMNS) + 4))})"
)
_SET_HEAD = (
    "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash"
)


def canonical_json(value: Any) -> str:
    # Sorted keys and no whitespace make the text — and so the hash — a function of the content
    # alone. ASCII-only so that the bytes hashed never depend on an encoder's choices.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def chain_hash(prev_hash: str, record_json: str) -> str:
    return hashlib.sha256((prev_hash + record_json).encode("ascii")).hexdigest()


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """A stored record with its place in the chain."""

    seq: int
    hash: str
    record: AuditRecord


class AuditStore:
    """Append-only, hash-chained audit log in one SQLite file.

    Safe to share between threads (one connection behind a lock) and between processes writing
    the same file (SQLite's write lock, taken up front with ``BEGIN IMMEDIATE``).

    ``secrets``: strings (upstream tokens, client secrets) scrubbed from every field of every
    record before it is written — a last net in case a caller forgot to redact an error message.
    """

    def __init__(self, path: str | os.PathLike[str], *, secrets: Iterable[str] = ()) -> None:
        self.path = Path(path)
        self._scrub = make_scrubber(tuple(secrets))
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._inherited: list[sqlite3.Connection] = []
        self._connect()

    # -- connection -----------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        # The log holds who did what to whom: the file and its -wal/-shm are readable by the owner only.
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, one transaction per record.
        conn = connect_sqlite(
            self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("BEGIN IMMEDIATE")  # several processes may create the schema at once
        try:
            for statement in filter(str.strip, _SCHEMA.split(";")):
                conn.execute(statement)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            conn.close()
            raise
        self._conn, self._pid = conn, os.getpid()
        return conn

    def _db(self) -> sqlite3.Connection:
        # A connection must not cross a fork(); a child process gets its own. The inherited one
        # is kept, never closed: closing it here could disturb the parent's locks and WAL.
        if self._conn is None:
            raise RuntimeError("audit store is closed")
        if self._pid != os.getpid():
            self._inherited.append(self._conn)
            return self._connect()
        return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def __enter__(self) -> AuditStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing --------------------------------------------------------------------------------

    def _payload(self, record: AuditRecord) -> dict[str, Any]:
        if not record.sentence:
            record.sentence = render(record)
        data = {name: getattr(record, name) for name in _RECORD_FIELDS}
        # Normalise into JSON-safe values (no NaN, bytes, sets, lone surrogates) and drop known
        # secrets, so that neither the hash nor the insert can fail on an odd value.
        return self._scrub(data)

    def append(self, record: AuditRecord) -> int:
        """Seal and store one record; returns its sequence number."""
        data = self._payload(record)  # outside the lock: pure CPU, no shared state
        target_ids = canonical_json(data["target_ids"])
        arguments = canonical_json(data["arguments"])
        with self._lock:
            db = self._db()
            db.execute("BEGIN IMMEDIATE")
            try:
                seq, prev_hash = self._head(db)
                seq += 1
                data["seq"] = seq
                record_json = canonical_json(data)
                digest = chain_hash(prev_hash, record_json)
                values = [data[c] for c in COLUMNS]
                values[COLUMNS.index("target_ids")] = target_ids
                values[COLUMNS.index("arguments")] = arguments
                db.execute(_INSERT, (seq, *values, record_json, prev_hash, digest))
                db.execute(_SET_HEAD, (seq, digest))
                db.execute("COMMIT")
            except BaseException:
                # Also on KeyboardInterrupt: never leave the connection inside a transaction.
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        return seq

    @staticmethod
    def _head(db: sqlite3.Connection) -> tuple[int, str]:
        row = db.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
        if row is None:
            # No head yet (empty log), or it was deleted: chain from the last row so appends keep
            # working; verify() still reports the missing head.
            row = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, GENESIS)

    # -- reading --------------------------------------------------------------------------------

    def head(self) -> tuple[int, str]:
        """(last seq, last hash) — worth copying elsewhere to anchor the chain."""
        with self._lock:
            return self._head(self._db())

    def count(self) -> int:
        with self._lock:
            return self._db().execute("SELECT count(*) FROM audit").fetchone()[0]

    def tail(self, n: int = 20) -> list[AuditEntry]:
        """The last ``n`` records, oldest first."""
        return self._select("", [], max(0, int(n)))

    def entry(self, seq: int) -> AuditEntry | None:
        """The record at ``seq`` (the console's detail page), or None."""
        found = self._select("WHERE seq = ?", [int(seq)], 1)
        return found[0] if found else None

    def search(
        self,
        agent: str | None = None,
        tool: str | None = None,
        decision: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """The most recent ``limit`` records matching every given filter, oldest first."""
        if decision is not None and decision not in DECISIONS:
            raise ValueError(f"unknown decision {decision!r}; expected one of {', '.join(sorted(DECISIONS))}")
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("agent", agent), ("tool", tool), ("decision", decision)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if since is not None:
            where.append("ts >= ?")
            params.append(float(since))
        if until is not None:
            where.append("ts < ?")
            params.append(float(until))
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        return self._select(clause, params, max(0, int(limit)))

    def _select(self, clause: str, params: list[Any], limit: int) -> list[AuditEntry]:
        sql = f"SELECT seq, hash, record_json FROM audit {clause} ORDER BY seq DESC LIMIT ?"
        with self._lock:
            rows = self._db().execute(sql, (*params, limit)).fetchall()
        return [
            AuditEntry(seq, digest, AuditRecord.from_dict(json.loads(rj)))
            for seq, digest, rj in reversed(rows)
        ]

    # -- verification ---------------------------------------------------------------------------

    def verify(self) -> VerifyResult:
        """Walk the whole chain; report the first row that does not check out."""
        cols = ", ".join(COLUMNS)
        with self._lock:
            db = self._db()
            db.execute("BEGIN")  # one consistent snapshot of rows and head
            try:
                rows = db.execute(f"SELECT seq, {cols}, record_json, prev_hash, hash FROM audit ORDER BY seq")
                result, last = _verify_rows(rows)
                rows.close()  # may stop early on a bad row; finish the statement before COMMIT
                head = db.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
            finally:
                db.execute("COMMIT")
        if not result.ok:
            return result
        return _verify_head(result, last, head)


def _verify_rows(rows: Iterator[tuple[Any, ...]]) -> tuple[VerifyResult, tuple[int, str] | None]:
    """Check every row against its predecessor; also return the last (seq, hash) seen."""
    expected_seq, expected_prev, checked = 1, GENESIS, 0
    last: tuple[int, str] | None = None
    for row in rows:
        seq, values, record_json, prev_hash, digest = row[0], row[1:-3], row[-3], row[-2], row[-1]
        problem = _check_row(seq, values, record_json, prev_hash, digest, expected_seq, expected_prev)
        if problem is not None:
            bad_seq, reason = problem
            return VerifyResult(False, checked, bad_seq, reason), last
        checked += 1
        expected_seq, expected_prev = seq + 1, digest
        last = (seq, digest)
    return VerifyResult(True, checked), last


def _check_row(
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
    for column, value in zip(COLUMNS, values, strict=True):
        stored = data.get(column)
        if column in _JSON_COLUMNS:
            stored = canonical_json(stored)
        if value != stored:
            return seq, f"record {seq} was modified: column {column!r} differs from the sealed record"
    return None


def _verify_head(
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
