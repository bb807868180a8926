"""The audit chain in PostgreSQL: the same records, hashes, write-ahead pairs and verification as the embedded
store (``audit/base.py`` does everything but the SQL), appended by many replicas at once without forking.

Each batch the writer thread hands over (a group commit) is one transaction that locks the single
``audit_head`` row (``SELECT … FOR UPDATE``), chains the records from it, inserts them and moves the head.
Every other replica's commit waits on that row lock, so the chain is one line whatever the number of
writers; a replica killed mid-commit leaves either the whole batch (committed) or nothing (the transaction
dies with the connection). A started row left open by a replica that died reads "unknown" — as does one
still in flight on another replica: only the replica that sent the request knows it is still out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ...audit.base import ChainedAuditStore, Prepared
from ...audit.chain import COLUMNS, GENESIS, VERIFIED_COLUMNS, VerifyResult, seal, verify_head, verify_rows
from ...audit.redact import DEFAULT_SECRET_PATTERNS
from .database import Database

_INSERT = (
    f"INSERT INTO audit (seq, {', '.join(COLUMNS)}, record_json, prev_hash, hash) "
    f"VALUES ({', '.join(['%s'] * (len(COLUMNS) + 4))})"
)
_SET_HEAD = (
    "INSERT INTO audit_head (id, seq, hash) VALUES (1, %s, %s) "
    "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash"
)
_VERIFY_BATCH = 2000


class PostgresAuditStore(ChainedAuditStore):
    """Append-only, hash-chained audit log in PostgreSQL, shared by every replica (an ``AuditBackend``)."""

    PARAM = "%s"
    NOT_COMPLETED = "s.phase IS DISTINCT FROM 'completed'"

    def __init__(
        self,
        db: Database,
        *,
        secrets: Iterable[str] = (),
        patterns: Iterable[str] = DEFAULT_SECRET_PATTERNS,
        capacity: int | None = None,
        held: Callable[[], Iterable[str]] | None = None,
    ) -> None:
        super().__init__(secrets=secrets, patterns=patterns, capacity=capacity, held=held)
        self.db = db
        self.path = db.where  # for messages, like the embedded store's file path

    def __enter__(self) -> PostgresAuditStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()  # the pool belongs to the state store: only the writer stops

    # -- writing --------------------------------------------------------------------------------

    def _commit(self, prepared: Prepared) -> None:
        with self.db.transaction() as conn:
            row = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE").fetchone()
            head = (int(row[0]), row[1]) if row else self._last(conn)
            rows = seal((data for _job, data in prepared), head)
            with conn.cursor() as cursor:
                cursor.executemany(_INSERT, rows)
            conn.execute(_SET_HEAD, (rows[-1][0], rows[-1][-1]))
        self._sealed(prepared, rows)

    @staticmethod
    def _last(conn: Any) -> tuple[int, str]:
        # The head row was deleted by hand: serialise on a table lock instead, chain from the last row;
        # verify() still reports the missing head.
        conn.execute("LOCK TABLE audit IN EXCLUSIVE MODE")
        row = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return (int(row[0]), row[1]) if row else (0, GENESIS)

    # -- reading --------------------------------------------------------------------------------

    def _query(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        self.flush()  # what was handed over before this read is part of it
        return self.db.execute(sql, tuple(params)).fetchall()

    def head(self) -> tuple[int, str]:
        """(last seq, last hash) — worth copying elsewhere to anchor the chain."""
        row = self._query("SELECT seq, hash FROM audit_head WHERE id = 1", ())
        if not row:
            row = self.db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchall()
        return (int(row[0][0]), row[0][1]) if row else (0, GENESIS)

    # -- verification ---------------------------------------------------------------------------

    def verify(self) -> VerifyResult:
        """Walk the whole chain in one snapshot (REPEATABLE READ), streamed in batches."""
        self.flush()
        with self.db.connection() as conn:
            conn.autocommit = False
            try:
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                with conn.cursor(name="ops_mcp_audit_verify") as cursor:
                    cursor.itersize = _VERIFY_BATCH
                    cursor.execute(f"SELECT {VERIFIED_COLUMNS} FROM audit ORDER BY seq")
                    result, last = verify_rows(iter(cursor))
                head = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
            finally:
                conn.rollback()
                conn.autocommit = True
        if not result.ok:
            return result
        if head is not None:
            head = (int(head[0]), head[1])
        return verify_head(result, last, head)
