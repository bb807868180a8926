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

import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from ..statefiles import connect_sqlite
from .base import ChainedAuditStore, Prepared
from .chain import (
    COLUMNS,
    GENESIS,
    VERIFIED_COLUMNS,
    AuditEntry,
    VerifyResult,
    canonical_json,
    chain_hash,
    seal,
    verify_head,
    verify_rows,
)
from .redact import DEFAULT_SECRET_PATTERNS

# The chain's rules live in chain.py; these names stay importable from here.
__all__ = ["COLUMNS", "GENESIS", "AuditEntry", "AuditStore", "VerifyResult", "canonical_json", "chain_hash"]

SCHEMA_VERSION = 2
BUSY_TIMEOUT_S = 30.0
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


class AuditStore(ChainedAuditStore):
    """Append-only, hash-chained audit log in one SQLite file (the embedded ``AuditBackend``).

    Safe to share between threads and event loops (one writer thread owns the write connection) and
    between processes writing the same file (SQLite's write lock, taken up front with ``BEGIN
    IMMEDIATE``). ``secrets``, ``patterns``, ``held``: what is scrubbed from every record (``base.py``).
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
        super().__init__(secrets=secrets, patterns=patterns, capacity=capacity, held=held)
        self.path = Path(path)
        self._lock = threading.Lock()  # the read connection
        self._conn: sqlite3.Connection | None = None  # writes, on the writer thread only
        self._reader: sqlite3.Connection | None = None
        self._pid = 0
        self._inherited: list[sqlite3.Connection] = []
        self._head: tuple[int, str] | None = None
        self._seen_version: int | None = None
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

    def _release(self) -> None:
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

    def _commit(self, prepared: Prepared) -> None:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            rows = seal((data for _job, data in prepared), self._current_head(db))
            seq, prev_hash = rows[-1][0], rows[-1][-1]
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
        self._sealed(prepared, rows)

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

    def _query(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._reading().execute(sql, params).fetchall()

    def head(self) -> tuple[int, str]:
        """(last seq, last hash) — worth copying elsewhere to anchor the chain."""
        with self._lock:
            return self._head_row(self._reading())

    # -- verification ---------------------------------------------------------------------------

    def verify(self) -> VerifyResult:
        """Walk the whole chain; report the first row that does not check out."""
        with self._lock:
            db = self._reading()
            db.execute("BEGIN")  # one consistent snapshot of rows and head
            try:
                rows = db.execute(f"SELECT {VERIFIED_COLUMNS} FROM audit ORDER BY seq")
                result, last = verify_rows(rows)
                rows.close()  # may stop early on a bad row; finish the statement before COMMIT
                head = db.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
            finally:
                db.execute("COMMIT")
        if not result.ok:
            return result
        return verify_head(result, last, head)
