"""The default audit store: SQLite in WAL mode, one row per record, hash-chained.

Chain: ``hash = sha256(prev_hash + canonical_json(record + seq))``, the first row chaining from
64 zeros. A one-row ``audit_head`` table remembers the last (seq, hash) and is updated in the same
transaction as every insert, so that cutting rows off the end is as visible as cutting them out
of the middle.

What the chain proves: a row edited, deleted, re-ordered or inserted by hand (sqlite3 shell, a
script) breaks verification. What it cannot prove: someone with write access who recomputes every
hash after their edit (there is no key), or who cuts the tail *and* deletes the head row before
the next append re-creates it. For that, copy ``head()`` somewhere else from time to time.

Writes ahead: a write is a ``started`` row before its request is sent and a ``completed`` row (naming
the first in ``completes``) after, both in the chain; readers show the pair as one call, and a started
row never completed (the process died) as "outcome unknown". Nothing is ever updated in place, so
``verify`` needs no special case for a crash.

Off the event loop: every row is written by one thread (``writer.py``) in group commits — one ``BEGIN
IMMEDIATE … COMMIT`` for whatever queued up meanwhile — with the chain head kept in memory (re-read only
when ``PRAGMA data_version`` says another process appended). Arguments are stored once, in
``record_json``; the ``arguments`` column of older rows is still verified.

Durability: in WAL mode with ``synchronous=NORMAL`` a committed transaction survives the process being
killed (SIGKILL, OOM); only an OS crash or power cut can lose the last few commits, and never leaves a
half row. ``write``/``append`` return only once their row is committed.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ..statefiles import connect_sqlite
from .records import DECISIONS, AuditRecord
from .redact import DEFAULT_SECRET_PATTERNS, make_scrubber
from .sentence import render
from .writer import ChainWriter, Prepare, Written

GENESIS = "0" * 64
SCHEMA_VERSION = 2
BUSY_TIMEOUT_S = 30.0

# Record fields that are also columns, for querying with plain SQL. `record_json` stays the
# source of truth; verify() checks that the columns still agree with it.
COLUMNS: tuple[str, ...] = (
    "ts", "agent", "tenant", "backend", "tool", "area", "access", "decision", "http_status",
    "duration_ms", "upstream_request_id", "target_ids", "error", "confirmed_by", "sentence",
    "phase", "completes", "outcome",
)  # fmt: skip
_JSON_COLUMNS = frozenset({"target_ids", "arguments"})
# Columns rows no longer fill (the value lives in record_json only) but older rows did: checked when set.
_LEGACY_COLUMNS: tuple[str, ...] = ("arguments",)
_RECORD_FIELDS = tuple(f.name for f in fields(AuditRecord))
_ADDED_COLUMNS = {"phase": "TEXT", "completes": "INTEGER", "outcome": "TEXT"}

# Record columns accept NULL on purpose: a caller's malformed record must still be stored (and
# seen), not bounce off a constraint and vanish from the log.
_SCHEMA = """
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
)
"""
_INDEXES = "CREATE INDEX IF NOT EXISTS audit_completes ON audit (completes) WHERE completes IS NOT NULL"

_INSERT = (
    f"INSERT INTO audit (seq, {', '.join(COLUMNS)}, record_json, prev_hash, hash) "
    f"VALUES ({', '.join('?' * (len(COLUMNS) + 4))})"
)
_SET_HEAD = (
    "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash"
)
# One entry per call: a started row with its first completion; completions are not entries themselves.
_ENTRIES = """
SELECT s.seq, s.hash, s.record_json, c.hash, c.record_json
FROM audit s LEFT JOIN audit c ON c.seq = (
    SELECT min(seq) FROM audit WHERE completes = s.seq AND phase = 'completed' AND s.phase = 'started')
WHERE s.phase IS NOT 'completed' {where}
ORDER BY s.seq DESC LIMIT ?
"""
_EFFECTIVE_DECISION = "coalesce(c.decision, CASE WHEN s.phase = 'started' THEN 'unknown' ELSE s.decision END)"


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
    """A stored call with its place in the chain (a written-ahead write shows its completion)."""

    seq: int
    hash: str
    record: AuditRecord


class AuditStore:
    """Append-only, hash-chained audit log in one SQLite file (the embedded ``AuditBackend``).

    Safe to share between threads and event loops (one writer thread owns the write connection) and
    between processes writing the same file (SQLite's write lock, taken up front with ``BEGIN
    IMMEDIATE``).

    ``secrets``: strings (upstream tokens, client secrets) scrubbed from every field of every
    record before it is written — a last net in case a caller forgot to redact an error message;
    ``patterns``: credential shapes scrubbed the same way; ``held``: credentials learned while running
    (webhook signing secrets), read before each batch.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        secrets: Iterable[str] = (),
        patterns: Iterable[str] = DEFAULT_SECRET_PATTERNS,
        capacity: int | None = None,
        held: Callable[[], Iterable[str]] | None = None,
    ) -> None:
        self.path = Path(path)
        self._secrets, self._patterns, self._held = tuple(secrets), tuple(patterns), held
        self._held_now: tuple[str, ...] = ()
        self._scrub = make_scrubber(self._secrets, self._patterns)
        self._lock = threading.Lock()  # the read connection
        self._conn: sqlite3.Connection | None = None  # writes, on the writer thread only
        self._reader: sqlite3.Connection | None = None
        self._pid = 0
        self._inherited: list[sqlite3.Connection] = []
        self._head: tuple[int, str] | None = None
        self._seen_version: int | None = None
        self._in_flight: set[int] = set()  # started rows of this process whose request is still out
        self._writer = ChainWriter(self._write_batch, **({"capacity": capacity} if capacity else {}))
        self._closed = False
        self._connect()

    # -- connection -----------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        # The log holds who did what to whom: the file and its -wal/-shm are readable by the owner only.
        # isolation_level=None: we issue BEGIN/COMMIT ourselves.
        conn = connect_sqlite(
            self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def _connect(self) -> sqlite3.Connection:
        conn = self._open()
        conn.execute("BEGIN IMMEDIATE")  # several processes may create the schema at once
        try:
            for statement in filter(str.strip, _SCHEMA.split(";")):
                conn.execute(statement)
            have = {row[1] for row in conn.execute("PRAGMA table_info(audit)")}
            for column, kind in _ADDED_COLUMNS.items():
                if column not in have:  # a log written by an older ops-mcp
                    conn.execute(f"ALTER TABLE audit ADD COLUMN {column} {kind}")
            conn.execute(_INDEXES)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            conn.close()
            raise
        self._conn, self._pid, self._head, self._seen_version = conn, os.getpid(), None, None
        self._reader = None
        return conn

    def _db(self) -> sqlite3.Connection:
        # A connection must not cross a fork(); a child process gets its own. The inherited one
        # is kept, never closed: closing it here could disturb the parent's locks and WAL.
        if self._conn is None:
            raise RuntimeError("audit store is closed")
        if self._pid != os.getpid():
            self._inherited.append(self._conn)
            if self._reader is not None:
                self._inherited.append(self._reader)
            return self._connect()
        return self._conn

    def _read_db(self) -> sqlite3.Connection:
        self._db()
        if self._reader is None:
            self._reader = self._open()
        return self._reader

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._writer.close()
        with self._lock:
            if self._pid == os.getpid():
                for conn in (self._conn, self._reader):
                    if conn is not None:
                        conn.close()
            self._conn = self._reader = None

    def __enter__(self) -> AuditStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing --------------------------------------------------------------------------------

    async def write(
        self,
        record: AuditRecord,
        *,
        prepare: Prepare | None = None,
        opens: Written | None = None,
        ticket: Written | None = None,
    ) -> Written:
        """Store ``record`` (as ``ticket`` when the caller made one, to refer to it if this is cancelled);
        returns once it is committed. Raises when the store cannot take it."""
        job = ticket if ticket is not None else Written(record, prepare, opens)
        try:
            await self._writer.put(job)
        except BaseException:
            # Cancelled while waiting for room: a record once handed over is never dropped.
            if not isinstance(job, Written) or job.done or self._closed:
                raise
            self._writer.put_nowait(job)
            raise
        await job.wait_async()
        job.result()
        return job

    def write_nowait(
        self, record: AuditRecord, *, prepare: Prepare | None = None, opens: Written | None = None
    ) -> Written:
        """Queue ``record`` and return at once (a completion while the caller is being cancelled)."""
        job = Written(record, prepare, opens)
        self._writer.put_nowait(job)
        return job

    def append(self, record: AuditRecord) -> int:
        """Seal and store one record; returns its sequence number (blocks the calling thread)."""
        job = Written(record)
        self._writer.put_blocking(job)
        job.wait()
        return job.result()

    def flush(self) -> None:
        """Wait until everything handed over so far is stored."""
        self._writer.flush()

    @property
    def backlog(self) -> int:
        """Records handed over and not yet taken by the writer."""
        return self._writer.backlog

    @property
    def capacity(self) -> int:
        """How many records may wait for the writer before callers wait for room."""
        return self._writer.capacity

    @capacity.setter
    def capacity(self, value: int) -> None:
        self._writer.capacity = max(1, int(value))

    def _payload(self, job: Written) -> dict[str, Any]:
        record = job.record
        if job.opens is not None:  # first, so that prepare knows whether the started row holds the arguments
            opened = job.opens.seq
            record.phase, record.completes = ("completed", opened) if opened is not None else ("call", None)
        if job.prepare is not None:
            try:
                job.prepare(record)
            except Exception as exc:  # the record still goes in, saying what went wrong
                record.error = f"[the record could not be fully prepared: {type(exc).__name__}]"
        if not record.sentence:
            record.sentence = render(record)
        data = {name: getattr(record, name) for name in _RECORD_FIELDS}
        # Normalise into JSON-safe values (no NaN, bytes, sets, lone surrogates), drop known
        # secrets and bound the size, so that neither the hash nor the insert can fail on an odd value.
        scrubbed: dict[str, Any] = self._scrub(data)
        return scrubbed

    def _refresh_secrets(self) -> None:
        if self._held is None:
            return
        try:
            held = tuple(self._held())
        except Exception:
            return
        if held != self._held_now:
            self._held_now = held
            self._scrub = make_scrubber((*self._secrets, *held), self._patterns)

    def _write_batch(self, batch: list[Written]) -> None:
        """One transaction for the whole batch; if it fails, each record alone (one bad apple)."""
        self._refresh_secrets()
        prepared = []
        for job in batch:
            try:
                prepared.append((job, self._payload(job)))
            except Exception as exc:
                job.error = exc
        try:
            self._commit(prepared)
        except Exception as exc:
            if len(prepared) == 1:
                prepared[0][0].error = exc
                return
            for job, data in prepared:
                try:
                    self._commit([(job, data)])
                except Exception as single:
                    job.error = single

    def _commit(self, prepared: list[tuple[Written, dict[str, Any]]]) -> None:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            seq, prev_hash = self._current_head(db)
            rows = []
            for _job, data in prepared:
                seq += 1
                data["seq"] = seq
                record_json = canonical_json(data)  # the one encoding: hashed, stored, verified
                digest = chain_hash(prev_hash, record_json)
                values = [data[c] for c in COLUMNS]
                values[COLUMNS.index("target_ids")] = canonical_json(data["target_ids"])
                rows.append((seq, *values, record_json, prev_hash, digest))
                prev_hash = digest
            db.executemany(_INSERT, rows)
            db.execute(_SET_HEAD, (seq, prev_hash))
            db.execute("COMMIT")
        except BaseException:
            # Also on KeyboardInterrupt: never leave the connection inside a transaction.
            if db.in_transaction:
                db.execute("ROLLBACK")
            self._head = None
            raise
        self._head = (seq, prev_hash)
        for (job, data), row in zip(prepared, rows, strict=True):
            job.seq = row[0]
            job.record.sentence = data["sentence"]
            if data.get("phase") == "started":
                self._in_flight.add(row[0])
            elif data.get("completes") is not None:
                self._in_flight.discard(data["completes"])

    def _current_head(self, db: sqlite3.Connection) -> tuple[int, str]:
        # The head lives in memory; another process appending to the same file changes data_version.
        version = db.execute("PRAGMA data_version").fetchone()[0]
        if self._head is None or version != self._seen_version:
            self._head = self._head_row(db)
            self._seen_version = version
        return self._head

    @staticmethod
    def _head_row(db: sqlite3.Connection) -> tuple[int, str]:
        row = db.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
        if row is None:
            # No head yet (empty log), or it was deleted: chain from the last row so appends keep
            # working; verify() still reports the missing head.
            row = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, GENESIS)

    # -- reading --------------------------------------------------------------------------------

    def _reading(self) -> sqlite3.Connection:
        self.flush()  # what was handed over before this read is part of it
        return self._read_db()

    def head(self) -> tuple[int, str]:
        """(last seq, last hash) — worth copying elsewhere to anchor the chain."""
        with self._lock:
            return self._head_row(self._reading())

    def count(self) -> int:
        """Calls recorded (a write recorded ahead and completed counts once)."""
        with self._lock:
            row = (
                self._reading()
                .execute("SELECT count(*) FROM audit WHERE phase IS NOT 'completed'")
                .fetchone()
            )
        return int(row[0])

    def tail(self, n: int = 20) -> list[AuditEntry]:
        """The last ``n`` calls, oldest first."""
        return self._select("", [], max(0, int(n)))

    def entry(self, seq: int) -> AuditEntry | None:
        """The record at ``seq`` (the console's detail page), or None."""
        found = self._select(" AND s.seq = ?", [int(seq)], 1)
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
        """The most recent ``limit`` calls matching every given filter, oldest first."""
        if decision is not None and decision not in DECISIONS:
            raise ValueError(f"unknown decision {decision!r}; expected one of {', '.join(sorted(DECISIONS))}")
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("s.agent", agent), ("s.tool", tool)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if decision is not None:
            # "started" (still in flight here) and "unknown" are both open rows; told apart below.
            where.append(f"{_EFFECTIVE_DECISION} = ?")
            params.append("unknown" if decision == "started" else decision)
        if since is not None:
            where.append("s.ts >= ?")
            params.append(float(since))
        if until is not None:
            where.append("s.ts < ?")
            params.append(float(until))
        clause = "".join(f" AND {w}" for w in where)
        entries = self._select(clause, params, max(0, int(limit)))
        return [e for e in entries if decision is None or e.record.decision == decision]

    def _select(self, clause: str, params: list[Any], limit: int) -> list[AuditEntry]:
        with self._lock:
            rows = self._reading().execute(_ENTRIES.format(where=clause), (*params, limit)).fetchall()
        return [self._entry(*row) for row in reversed(rows)]

    def _entry(
        self, seq: int, digest: str, started_json: str, done_hash: str | None, done_json: str | None
    ) -> AuditEntry:
        first = AuditRecord.from_dict(json.loads(started_json))
        if done_json is not None and done_hash is not None:
            # The completion says what happened; the started row holds the arguments, stored once.
            record = AuditRecord.from_dict(json.loads(done_json))
            record.arguments, record.ts = first.arguments, first.ts
            return AuditEntry(seq, done_hash, record)
        if first.phase == "started" and seq not in self._in_flight:
            first.decision = "unknown"
            first.sentence = render(first)
        return AuditEntry(seq, digest, first)

    # -- verification ---------------------------------------------------------------------------

    def verify(self) -> VerifyResult:
        """Walk the whole chain; report the first row that does not check out."""
        cols = ", ".join((*COLUMNS, *_LEGACY_COLUMNS))
        with self._lock:
            db = self._reading()
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
    open_writes: set[int] = set()  # started rows not completed yet (at the end: crash-left, allowed)
    for row in rows:
        seq, values, record_json, prev_hash, digest = row[0], row[1:-3], row[-3], row[-2], row[-1]
        problem = _check_row(seq, values, record_json, prev_hash, digest, expected_seq, expected_prev)
        if problem is None:
            problem = _check_phase(seq, json.loads(record_json), open_writes)
        if problem is not None:
            bad_seq, reason = problem
            return VerifyResult(False, checked, bad_seq, reason), last
        checked += 1
        expected_seq, expected_prev = seq + 1, digest
        last = (seq, digest)
    return VerifyResult(True, checked), last


def _check_phase(seq: int, data: dict[str, Any], open_writes: set[int]) -> tuple[int, str] | None:
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
    for column, value in zip((*COLUMNS, *_LEGACY_COLUMNS), values, strict=True):
        if column in _LEGACY_COLUMNS and value is None:
            continue  # stored once, in record_json
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
