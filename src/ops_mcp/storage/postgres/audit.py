"""The audit chain in PostgreSQL: the same records, hashes and verification as the embedded store,
appended by many replicas at once without forking.

An append is one transaction that locks the single ``audit_head`` row (``SELECT … FOR UPDATE``), chains
the record from it, inserts it and moves the head. Every other replica's append waits on that row lock, so
the chain is one line whatever the number of writers; a replica killed mid-append leaves either the whole
record (committed) or nothing (the transaction dies with the connection). The public methods are the
embedded ``AuditStore``'s, so the recorder and ``ops-mcp audit`` use either.

``append_many`` is a group commit (one head lock, one durable commit for a batch): the shape the
write-ahead store's writer thread (``ChainWriter(write_batch)``) calls, which keeps a commit's latency off
the event loop. The table already has the write-ahead columns (``phase``, ``completes``, ``outcome``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from ...audit.records import DECISIONS, AuditRecord
from ...audit.redact import make_scrubber
from ...audit.sentence import render
from ...audit.store import (
    _RECORD_FIELDS,
    COLUMNS,
    GENESIS,
    AuditEntry,
    VerifyResult,
    _verify_head,
    _verify_rows,
    canonical_json,
    chain_hash,
)
from .database import Database

_INSERT = (
    f"INSERT INTO audit (seq, {', '.join(COLUMNS)}, record_json, prev_hash, hash) "
    f"VALUES ({', '.join(['%s'] * (len(COLUMNS) + 4))})"
)
_VERIFY_BATCH = 2000
_JSON_COLUMNS = frozenset({"target_ids", "arguments"})  # stored as canonical JSON text


class PostgresAuditStore:
    """Append-only, hash-chained audit log in PostgreSQL, shared by every replica."""

    def __init__(self, db: Database, *, secrets: Iterable[str] = ()) -> None:
        self.db = db
        self.path = db.where  # for messages, like the embedded store's file path
        self._scrub = make_scrubber(tuple(secrets))

    def close(self) -> None:  # the pool belongs to the state store
        pass

    def __enter__(self) -> PostgresAuditStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing --------------------------------------------------------------------------------

    def _payload(self, record: AuditRecord) -> dict[str, Any]:
        if not record.sentence:
            record.sentence = render(record)
        return self._scrub({name: getattr(record, name) for name in _RECORD_FIELDS})

    def append(self, record: AuditRecord) -> int:
        """Seal and store one record; returns its sequence number."""
        return self.append_many([record])[0]

    def append_many(self, records: list[AuditRecord]) -> list[int]:
        """Seal and store ``records`` in order, in one transaction (a group commit: one lock of the head and
        one durable commit for all of them); returns their sequence numbers."""
        prepared = [self._payload(record) for record in records]  # before the lock: pure CPU
        with self.db.transaction() as conn:
            row = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE").fetchone()
            seq, prev_hash = (int(row[0]), row[1]) if row else self._last(conn)
            rows: list[tuple[Any, ...]] = []
            seqs: list[int] = []
            for data in prepared:
                seq += 1
                data["seq"] = seq
                record_json = canonical_json(data)  # the one encoding: hashed, stored, verified
                digest = chain_hash(prev_hash, record_json)
                values = [data.get(c) for c in COLUMNS]
                for column in _JSON_COLUMNS & set(COLUMNS):
                    values[COLUMNS.index(column)] = canonical_json(data.get(column))
                rows.append((seq, *values, record_json, prev_hash, digest))
                seqs.append(seq)
                prev_hash = digest
            with conn.cursor() as cursor:
                cursor.executemany(_INSERT, rows)
            conn.execute(
                "INSERT INTO audit_head (id, seq, hash) VALUES (1, %s, %s) "
                "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
                (seq, prev_hash),
            )
        return seqs

    @staticmethod
    def _last(conn: Any) -> tuple[int, str]:
        # The head row was deleted by hand: serialise on a table lock instead, chain from the last row;
        # verify() still reports the missing head.
        conn.execute("LOCK TABLE audit IN EXCLUSIVE MODE")
        row = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return (int(row[0]), row[1]) if row else (0, GENESIS)

    # -- reading --------------------------------------------------------------------------------

    def head(self) -> tuple[int, str]:
        row = self.db.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
        if row is None:
            row = self.db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return (int(row[0]), row[1]) if row else (0, GENESIS)

    def count(self) -> int:
        row = self.db.execute("SELECT count(*) FROM audit").fetchone()
        return int(row[0]) if row else 0

    def tail(self, n: int = 20) -> list[AuditEntry]:
        return self._select("", [], max(0, int(n)))

    def search(
        self,
        agent: str | None = None,
        tool: str | None = None,
        decision: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        if decision is not None and decision not in DECISIONS:
            raise ValueError(f"unknown decision {decision!r}; expected one of {', '.join(sorted(DECISIONS))}")
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("agent", agent), ("tool", tool), ("decision", decision)):
            if value is not None:
                where.append(f"{column} = %s")
                params.append(value)
        if since is not None:
            where.append("ts >= %s")
            params.append(float(since))
        if until is not None:
            where.append("ts < %s")
            params.append(float(until))
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        return self._select(clause, params, max(0, int(limit)))

    def _select(self, clause: str, params: list[Any], limit: int) -> list[AuditEntry]:
        sql = f"SELECT seq, hash, record_json FROM audit {clause} ORDER BY seq DESC LIMIT %s"
        rows = self.db.execute(sql, (*params, limit)).fetchall()
        return [AuditEntry(int(s), d, AuditRecord.from_dict(json.loads(rj))) for s, d, rj in reversed(rows)]

    # -- verification ---------------------------------------------------------------------------

    def verify(self) -> VerifyResult:
        """Walk the whole chain in one snapshot (REPEATABLE READ), streamed in batches."""
        cols = ", ".join(COLUMNS)
        with self.db.connection() as conn:
            conn.autocommit = False
            try:
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                with conn.cursor(name="ops_mcp_audit_verify") as cursor:
                    cursor.itersize = _VERIFY_BATCH
                    cursor.execute(
                        f"SELECT seq, {cols}, record_json, prev_hash, hash FROM audit ORDER BY seq"
                    )
                    result, last = _verify_rows(iter(cursor))
                head = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
            finally:
                conn.rollback()
                conn.autocommit = True
        if not result.ok:
            return result
        if head is not None:
            head = (int(head[0]), head[1])
        return _verify_head(result, last, head)
