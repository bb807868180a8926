"""Webhook events, rejected deliveries, signing secrets and partner grants in PostgreSQL.

Events dedupe on (back end, delivery id) across replicas: whichever replica receives a redelivery, the
insert finds the row. Signing secrets and refresh tokens are sealed (AES-GCM, ``secretbox.py``) with a key
that is never stored in the database, each bound to what it is for.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

from ...authorization.stores import PendingAuthorizations
from ...events.secrets import WebhookSecrets
from ...events.store import RECENT_REJECTIONS, RETENTION_SECONDS, EventStore, StoredEvent
from ...secretbox import SecretBox, SecretUnreadable
from ...upstream.grants import StoredGrant, _purpose, open_grant
from .database import Database, QmarkSession

SETTLE_S = 1.0  # longer than any single-row insert takes to commit


class PostgresEventStore(EventStore):
    def __init__(self, db: Database, *, recent_rejections: int = RECENT_REJECTIONS) -> None:
        # Not the embedded __init__: no file, no second connection (the pool serves both paths).
        self.path = db.where  # type: ignore[assignment]
        self.recent_rejections = recent_rejections
        self._lock = threading.Lock()
        self._db = self._cheap = QmarkSession(db)  # type: ignore[assignment]
        self._database = db
        self._inserts = 0

    def close(self) -> None:
        pass

    def ping(self) -> bool:
        return self._database.ping()

    def add(
        self,
        *,
        backend: str,
        event_id: str,
        tenant: str | None,
        type: str,
        area: str | None,
        occurred_at: str | None,
        payload: Any,
    ) -> bool:
        now = time.time()
        cursor = self._db.execute(
            "INSERT INTO events (backend, event_id, tenant, type, area, received_at, occurred_at, payload) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (backend, event_id) DO NOTHING",
            (backend, event_id, tenant, type, area, now, occurred_at, json.dumps(payload, default=str)),
        )
        added = cursor.rowcount == 1
        with self._lock:
            self._inserts += added
            prune = added and self._inserts % 500 == 0
        if prune:
            self._db.execute("DELETE FROM events WHERE received_at < ?", (now - RETENTION_SECONDS,))
        return added

    def after(self, seq: int, limit: int = 1000) -> list[StoredEvent]:
        """Events after ``seq`` that are at least ``SETTLE_S`` old. Sequence numbers are handed out before
        commit, so two replicas' inserts can become visible out of order (11 before 10); a reader that moved
        past 11 would never see 10. Waiting until no insert can still be in flight keeps the feed gap-free."""
        return self._select(
            "seq > ? AND received_at <= ?", [seq, time.time() - SETTLE_S], order="ASC", limit=limit
        )

    def reject(
        self,
        backend: str,
        kind: str,
        reason: str,
        *,
        event_id: str | None = None,
        remote_addr: str | None = None,
        now: float | None = None,
    ) -> None:
        now = time.time() if now is None else now
        backend, kind, reason = backend[:32], kind[:32], reason[:200]
        with self._database.transaction() as conn:
            conn.execute(
                "INSERT INTO rejections (at, backend, reason, event_id, remote_addr) VALUES (%s, %s, %s, %s, %s)",
                (
                    now,
                    backend,
                    reason,
                    event_id[:128] if event_id else None,
                    (remote_addr or "")[:64] or None,
                ),
            )
            conn.execute(
                "INSERT INTO rejection_counts (backend, kind, count, first_at, last_at, last_reason) "
                "VALUES (%s, %s, 1, %s, %s, %s) ON CONFLICT (backend, kind) DO UPDATE SET "
                "count = rejection_counts.count + 1, last_at = excluded.last_at, last_reason = excluded.last_reason",
                (backend, kind, now, now, reason),
            )
            conn.execute(
                "DELETE FROM rejections WHERE id <= (SELECT MAX(id) FROM rejections) - %s",
                (self.recent_rejections,),
            )


def _secret_purpose(backend: str, connection: str) -> str:
    return f"webhook_secrets|{backend}|{connection}"


class PostgresWebhookSecrets(WebhookSecrets):
    """``{backend: {connection: {...}}}`` as rows; the secrets of a connection sealed together."""

    def __init__(self, db: Database, box: SecretBox) -> None:
        super().__init__(db.where)  # type: ignore[arg-type]
        self.db = db
        self._box = box

    def _reload(self) -> None:
        rows = self.db.execute(
            "SELECT backend, connection, sealed_secrets, remote_id, url, registered_at FROM webhook_secrets"
        ).fetchall()
        data: dict[str, dict[str, dict[str, Any]]] = {}
        for backend, connection, sealed, remote_id, url, registered_at in rows:
            try:
                found = json.loads(self._box.open(sealed, _secret_purpose(backend, connection)))
            except (SecretUnreadable, ValueError):
                # Fail closed for this connection only: its deliveries cannot be verified until fixed.
                found = []
            data.setdefault(backend, {})[connection] = {
                "secrets": found,
                "id": remote_id,
                "url": url,
                "registered_at": registered_at,
            }
        self._data = data

    def put(
        self,
        backend: str,
        connection: str,
        secret: str,
        *,
        remote_id: str | None,
        url: str,
        keep_previous: bool = False,
    ) -> None:
        with self._lock:
            self._reload()
            entry = self._data.get(backend, {}).get(connection, {})
            previous = entry.get("secrets", [])[:1] if keep_previous else []
            kept = [secret, *[s for s in previous if s != secret]]
            self.db.execute(
                "INSERT INTO webhook_secrets (backend, connection, sealed_secrets, remote_id, url, registered_at) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (backend, connection) DO UPDATE SET "
                "sealed_secrets = excluded.sealed_secrets, remote_id = excluded.remote_id, url = excluded.url, "
                "registered_at = excluded.registered_at",
                (
                    backend,
                    connection,
                    self._box.seal(json.dumps(kept), _secret_purpose(backend, connection)),
                    remote_id,
                    url,
                    datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                ),
            )


class PostgresGrantStore:
    """Partner connections' refresh tokens, sealed and bound to back end, connection and company."""

    def __init__(self, db: Database, box: SecretBox, clock: Any = time.time) -> None:
        self.db = db
        self._box = box
        self._clock = clock

    def get(self, backend: str, connection: str) -> StoredGrant | None:
        row = self.db.execute(
            "SELECT company_id, sealed_refresh_token, updated_at FROM grants WHERE backend = %s AND connection = %s",
            (backend, connection),
        ).fetchone()
        return None if row is None else open_grant(self._box, backend, connection, row)

    def put(self, backend: str, connection: str, grant: StoredGrant) -> None:
        sealed = self._box.seal(grant.refresh_token, _purpose(backend, connection, grant.company_id))
        self.db.execute(
            "INSERT INTO grants (backend, connection, company_id, sealed_refresh_token, updated_at) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (backend, connection) DO UPDATE SET "
            "company_id = excluded.company_id, sealed_refresh_token = excluded.sealed_refresh_token, "
            "updated_at = excluded.updated_at",
            (backend, connection, grant.company_id, sealed, grant.updated_at or self._clock()),
        )

    def close(self) -> None:
        pass


class PostgresPendingAuthorizations(PendingAuthorizations):
    """Consents waiting for the back end's callback, which any replica may receive (claimed once)."""

    def __init__(self, db: Database) -> None:
        super().__init__(db.where)  # type: ignore[arg-type]
        self._session = QmarkSession(db)

    def _conn(self) -> Any:  # the embedded store's statements, run by PostgreSQL
        return self._session

    def close(self) -> None:
        pass
