"""Where a partner connection's company grant (its refresh token) is kept: get/put per connection.

``GrantStore`` is the interface the token provider and ``ops-mcp connect`` use; ``SqliteGrantStore``
keeps the grants in ``connections.sqlite3`` in the state directory, each refresh token sealed by a
``SecretBox`` whose key lives elsewhere (see ``secretbox.py``). The sealed value is bound to the back
end, the connection and the company, so a row copied onto another connection does not open.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from ..records import Frozen, set_fields
from ..secretbox import SecretBox, SecretUnreadable

GRANTS_FILE = "connections.sqlite3"


class StoredGrant(Frozen):
    """A company's consent for one connection: the refresh token and the company it is for."""

    __slots__ = ("company_id", "refresh_token", "updated_at")
    _unshown = frozenset({"refresh_token"})
    company_id: str
    refresh_token: str
    updated_at: float

    def __init__(self, company_id: str, refresh_token: str, updated_at: float = 0.0) -> None:
        set_fields(self, company_id=company_id, refresh_token=refresh_token, updated_at=updated_at)


class GrantUnreadable(Exception):
    """The stored grant exists but does not open (another key, or altered)."""


class GrantStore(Protocol):
    def get(self, backend: str, connection: str) -> StoredGrant | None:
        """The connection's grant, or None when ``ops-mcp connect`` has not stored one."""

    def put(self, backend: str, connection: str, grant: StoredGrant) -> None:
        """Store (replace) the connection's grant."""


def _purpose(backend: str, connection: str, company_id: str) -> str:
    return f"refresh_token|{backend}|{connection}|{company_id}"


class SqliteGrantStore:
    """Grants in SQLite, refresh tokens sealed; safe across threads and processes (WAL, short transactions)."""

    def __init__(self, path: Path, box: SecretBox, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._box = box
        self._clock = clock
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.touch(mode=0o600, exist_ok=True)  # owner-only, though every token in it is sealed
            db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=10)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS grants (backend TEXT NOT NULL, connection TEXT NOT NULL, "
                "company_id TEXT NOT NULL, sealed_refresh_token TEXT NOT NULL, updated_at REAL NOT NULL, "
                "PRIMARY KEY (backend, connection))"
            )
            self._db = db
        return self._db

    def get(self, backend: str, connection: str) -> StoredGrant | None:
        with self._lock:
            row = self._conn().execute(
                "SELECT company_id, sealed_refresh_token, updated_at FROM grants WHERE backend = ? AND connection = ?",
                (backend, connection),
            ).fetchone()
        return None if row is None else open_grant(self._box, backend, connection, row)

    def put(self, backend: str, connection: str, grant: StoredGrant) -> None:
        sealed = self._box.seal(grant.refresh_token, _purpose(backend, connection, grant.company_id))
        with self._lock:
            self._conn().execute(
                "INSERT INTO grants (backend, connection, company_id, sealed_refresh_token, updated_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (backend, connection) DO UPDATE SET "
                "company_id = excluded.company_id, sealed_refresh_token = excluded.sealed_refresh_token, "
                "updated_at = excluded.updated_at",
                (backend, connection, grant.company_id, sealed, grant.updated_at or self._clock()),
            )

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def open_grant(box: SecretBox, backend: str, connection: str, row: tuple[str, str, float]) -> StoredGrant:
    """A stored ``(company_id, sealed_refresh_token, updated_at)`` row, its refresh token unsealed."""
    company_id, sealed, updated_at = row
    try:
        token = box.open(sealed, _purpose(backend, connection, company_id))
    except SecretUnreadable as exc:
        raise GrantUnreadable(f"the stored refresh token does not open: {exc}") from None
    return StoredGrant(company_id, token, updated_at)
