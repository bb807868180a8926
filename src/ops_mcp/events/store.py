"""Where back-end events are kept: the events the webhook receiver accepted, recent deliveries, rejections.

Events live in ``events.sqlite3`` in the state dir (WAL mode, so several replicas can share it). The
same file remembers recently seen deliveries (replay protection) and every rejected delivery.
An event is offered to an agent only if the agent can read its area and is bound to its tenant.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("ops_mcp.events")

EVENTS_FILE = "events.sqlite3"
RETENTION_SECONDS = 30 * 86400

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
CREATE TABLE IF NOT EXISTS deliveries (digest TEXT PRIMARY KEY, seen_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS rejections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    backend TEXT NOT NULL,
    reason TEXT NOT NULL,
    event_id TEXT,
    remote_addr TEXT
);
"""


@dataclass(frozen=True)
class StoredEvent:
    seq: int
    backend: str
    event_id: str
    tenant: str | None
    type: str
    area: str | None
    received_at: float
    occurred_at: str | None
    payload: Any

    def public(self) -> dict[str, Any]:
        return {
            "id": self.event_id, "type": self.type, "backend": self.backend, "area": self.area,
            "tenant": self.tenant, "occurred_at": self.occurred_at,
            "received_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.received_at)),
            "data": self.payload,
        }


class EventStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.executescript(_SCHEMA)
        self._inserts = 0

    def close(self) -> None:
        with self._lock:
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

    def seen_recently(self, backend: str, id_prefix: str, *, within: float) -> bool:
        """Whether an event whose id starts with ``id_prefix`` arrived in the last ``within`` seconds."""
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM events WHERE backend = ? AND substr(event_id, 1, ?) = ? AND received_at >= ? LIMIT 1",
                (backend, len(id_prefix), id_prefix, time.time() - within),
            ).fetchone()
        return row is not None

    def first_sighting(self, digest: str, *, keep_seconds: float) -> bool:
        """True the first time a delivery (by signature digest) is seen within ``keep_seconds``."""
        now = time.time()
        with self._lock:
            self._db.execute("DELETE FROM deliveries WHERE seen_at < ?", (now - keep_seconds,))
            cursor = self._db.execute("INSERT OR IGNORE INTO deliveries (digest, seen_at) VALUES (?, ?)",
                                      (digest, now))
            return cursor.rowcount == 1

    def reject(self, backend: str, reason: str, *, event_id: str | None = None, remote_addr: str | None = None) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO rejections (at, backend, reason, event_id, remote_addr) VALUES (?, ?, ?, ?, ?)",
                (time.time(), backend[:32], reason, event_id[:128] if event_id else None, remote_addr),
            )

    def rejections(self, limit: int = 100) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT at, backend, reason, event_id, remote_addr FROM rejections ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [dict(zip(("at", "backend", "reason", "event_id", "remote_addr"), row, strict=True)) for row in rows]

    # -- reading ---------------------------------------------------------------------------------

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
