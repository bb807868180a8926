"""Where back-end events are kept: the events the webhook receiver accepted, and rejected deliveries.

Events live in ``events.sqlite3`` in the state dir (WAL mode, so several replicas can share it), one row per
delivery identity (a back end's event id, or the signed message itself), so a repeated delivery is stored once.
Rejected deliveries need no credential to cause, so they are kept bounded: a counter per (back end, kind of
rejection) and the most recent ``recent_rejections`` rows, pruned as each new one is added.
An event is offered to an agent only if the agent can read its area and is bound to its tenant.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

from ..records import Frozen, set_fields
from ..statefiles import connect_sqlite

log = logging.getLogger("ops_mcp.events")

EVENTS_FILE = "events.sqlite3"
RETENTION_SECONDS = 30 * 86400
RECENT_REJECTIONS = 1000  # rows kept for `ops-mcp webhooks status`; older ones live on as counts

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    backend TEXT NOT NULL,
    event_id TEXT NOT NULL,
    tenant TEXT,
    type TEXT NOT NULL,
    area TEXT,
    received_at REAL NOT NULL,
    occurred_at TEXT,
    payload TEXT NOT NULL,
    UNIQUE (backend, event_id)
);
CREATE INDEX IF NOT EXISTS events_by_area ON events (area, tenant, seq);
CREATE TABLE IF NOT EXISTS rejections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    backend TEXT NOT NULL,
    reason TEXT NOT NULL,
    event_id TEXT,
    remote_addr TEXT
);
CREATE TABLE IF NOT EXISTS rejection_counts (
    backend TEXT NOT NULL,
    kind TEXT NOT NULL,
    count INTEGER NOT NULL,
    first_at REAL NOT NULL,
    last_at REAL NOT NULL,
    last_reason TEXT NOT NULL,
    PRIMARY KEY (backend, kind)
);
"""


class StoredEvent(Frozen):
    __slots__ = ("seq", "backend", "event_id", "tenant", "type", "area", "received_at", "occurred_at",
                 "payload")
    seq: int
    backend: str
    event_id: str
    tenant: str | None
    type: str
    area: str | None
    received_at: float
    occurred_at: str | None
    payload: Any

    def __init__(self, seq: int, backend: str, event_id: str, tenant: str | None, type: str, area: str | None,
                 received_at: float, occurred_at: str | None, payload: Any) -> None:
        set_fields(self, seq=seq, backend=backend, event_id=event_id, tenant=tenant, type=type, area=area,
                   received_at=received_at, occurred_at=occurred_at, payload=payload)

    def public(self) -> dict[str, Any]:
        return {
            "id": self.event_id, "type": self.type, "backend": self.backend, "area": self.area,
            "tenant": self.tenant, "occurred_at": self.occurred_at,
            "received_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.received_at)),
            "data": self.payload,
        }


class EventStore:
    def __init__(self, path: Path, *, recent_rejections: int = RECENT_REJECTIONS) -> None:
        self.path = Path(path)
        self.recent_rejections = recent_rejections
        self._lock = threading.Lock()
        self._db = connect_sqlite(self.path, check_same_thread=False, isolation_level=None, timeout=10)
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.executescript(_SCHEMA)
        # Rejections are written by anyone who can reach the receiver, as fast as they like: their own
        # connection skips the fsync at each commit (synchronous=NORMAL, ~0.2 ms instead of ~3 ms on the event
        # loop). A crash of the machine may lose the last few; accepted events keep full durability.
        self._cheap = connect_sqlite(self.path, check_same_thread=False, isolation_level=None, timeout=10)
        self._cheap.execute("PRAGMA synchronous=NORMAL")
        self._cheap.execute("PRAGMA busy_timeout=10000")
        self._inserts = 0
        with self._lock:
            # A file written by a version that kept every rejection: cut it to the window once.
            self._prune_rejections()

    def close(self) -> None:
        with self._lock:
            self._cheap.close()
            self._db.close()

    def ping(self) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1").fetchone() == (1,)

    # -- receiving -------------------------------------------------------------------------------

    def add(self, *, backend: str, event_id: str, tenant: str | None, type: str, area: str | None,
            occurred_at: str | None, payload: Any) -> bool:
        """Store an event once; False when this back end already delivered an event with this id."""
        now = time.time()
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO events (backend, event_id, tenant, type, area, received_at, occurred_at, "
                "payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (backend, event_id, tenant, type, area, now, occurred_at, json.dumps(payload, default=str)),
            )
            added = cursor.rowcount == 1
            self._inserts += added
            if added and self._inserts % 500 == 0:
                self._db.execute("DELETE FROM events WHERE received_at < ?", (now - RETENTION_SECONDS,))
        return added

    def reject(self, backend: str, kind: str, reason: str, *, event_id: str | None = None,
               remote_addr: str | None = None, now: float | None = None) -> None:
        """Count a rejected delivery under (back end, kind) and keep it in the recent window."""
        now = time.time() if now is None else now
        backend, kind, reason = backend[:32], kind[:32], reason[:200]
        with self._lock:
            self._cheap.execute("BEGIN IMMEDIATE")
            try:
                self._cheap.execute(
                    "INSERT INTO rejections (at, backend, reason, event_id, remote_addr) VALUES (?, ?, ?, ?, ?)",
                    (now, backend, reason, event_id[:128] if event_id else None, (remote_addr or "")[:64] or None),
                )
                self._cheap.execute(
                    "INSERT INTO rejection_counts (backend, kind, count, first_at, last_at, last_reason) "
                    "VALUES (?, ?, 1, ?, ?, ?) ON CONFLICT (backend, kind) DO UPDATE SET "
                    "count = count + 1, last_at = excluded.last_at, last_reason = excluded.last_reason",
                    (backend, kind, now, now, reason),
                )
                self._prune_rejections()
                self._cheap.execute("COMMIT")
            except BaseException:
                self._cheap.execute("ROLLBACK")
                raise

    def _prune_rejections(self) -> None:
        # Ids only grow, so the window is "the last N ids"; the primary-key range delete is cheap.
        self._cheap.execute("DELETE FROM rejections WHERE id <= (SELECT MAX(id) FROM rejections) - ?",
                         (self.recent_rejections,))

    def rejections(self, limit: int = 100) -> list[dict[str, Any]]:
        """The most recent rejected deliveries, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT at, backend, reason, event_id, remote_addr FROM rejections ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [dict(zip(("at", "backend", "reason", "event_id", "remote_addr"), row, strict=True)) for row in rows]

    def rejection_totals(self) -> list[dict[str, Any]]:
        """Every rejected delivery ever counted, by back end and kind, most frequent first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT backend, kind, count, first_at, last_at, last_reason FROM rejection_counts "
                "ORDER BY count DESC, backend, kind"
            ).fetchall()
        keys = ("backend", "kind", "count", "first_at", "last_at", "last_reason")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    # -- reading ---------------------------------------------------------------------------------

    def feed_counts(self) -> list[dict[str, Any]]:
        """Events received per feed (back end, tenant, area), with the latest time (the console's live view)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT backend, tenant, area, count(*), max(received_at) FROM events "
                "GROUP BY backend, tenant, area ORDER BY backend, tenant, area").fetchall()
        return [{"backend": b, "tenant": t, "area": a, "count": n, "last_at": last} for b, t, a, n, last in rows]

    def last_seq(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]

    def after(self, seq: int, limit: int = 1000) -> list[StoredEvent]:
        return self._select("seq > ?", [seq], order="ASC", limit=limit)

    def query(self, scopes: list[tuple[str, str | None]], *, types: list[str] | None = None,
              since: float | None = None, limit: int = 50) -> list[StoredEvent]:
        """Newest first; only events whose (area, tenant) is one of ``scopes``."""
        if not scopes:
            return []
        clauses = ["(" + " OR ".join("(area = ? AND tenant IS ?)" for _ in scopes) + ")"]
        params: list[Any] = [v for scope in scopes for v in scope]
        if types:
            exact = [t for t in types if not t.endswith(".*")]
            prefixes = [t[:-1] for t in types if t.endswith(".*")]
            parts = []
            if exact:
                parts.append(f"type IN ({', '.join('?' * len(exact))})")
                params += exact
            for prefix in prefixes:
                parts.append("substr(type, 1, ?) = ?")
                params += [len(prefix), prefix]
            clauses.append("(" + " OR ".join(parts) + ")")
        if since is not None:
            clauses.append("received_at >= ?")
            params.append(since)
        return self._select(" AND ".join(clauses), params, order="DESC", limit=limit)

    def _select(self, where: str, params: list[Any], *, order: str, limit: int) -> list[StoredEvent]:
        sql = (f"SELECT seq, backend, event_id, tenant, type, area, received_at, occurred_at, payload FROM events "
               f"WHERE {where} ORDER BY seq {order} LIMIT ?")
        with self._lock:
            rows = self._db.execute(sql, [*params, limit]).fetchall()
        return [StoredEvent(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], json.loads(row[8]))
                for row in rows]
