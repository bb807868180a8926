"""Opening the state dir's connection stores: company grants (refresh tokens, sealed under the secret
key) and pending authorizations (the ``state`` of each consent the HTTP server may complete).

Both live in ``connections.sqlite3`` in the state directory; the key does not (see ``secretbox.py``).
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..config import Settings
from ..secretbox import SecretBox, load_secret_key
from ..upstream.grants import GRANTS_FILE, SqliteGrantStore


def open_grant_store(settings: Settings) -> SqliteGrantStore:
    """The grant store under the configured key (``SecretKeyError`` says how to configure one)."""
    state_dir = settings.state_dir()
    key = load_secret_key(settings.secret_key_file(), state_dir)
    return SqliteGrantStore(state_dir / GRANTS_FILE, SecretBox(key.key))


@dataclass(frozen=True)
class Pending:
    backend: str
    connection: str
    redirect_uri: str
    expires_at: float
    outcome: str | None = None  # None (waiting), "working", "connected" or "failed"
    message: str | None = None


def _digest(state: str) -> str:
    # Only a digest of the one-time state is kept: reading the file does not let anyone finish a consent.
    return hashlib.sha256(state.encode()).hexdigest()


class PendingAuthorizations:
    """Consents started by ``ops-mcp connect --via server`` and finished by the server's callback route."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=10)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS pending_authorizations (state_sha256 TEXT PRIMARY KEY, "
                "backend TEXT NOT NULL, connection TEXT NOT NULL, redirect_uri TEXT NOT NULL, "
                "expires_at REAL NOT NULL, outcome TEXT, message TEXT)"
            )
            self._db = db
        return self._db

    def add(self, state: str, backend: str, connection: str, redirect_uri: str, ttl_s: float) -> None:
        with self._lock:
            db = self._conn()
            db.execute("DELETE FROM pending_authorizations WHERE expires_at < ?", (self._clock() - 86400,))
            db.execute(
                "INSERT INTO pending_authorizations (state_sha256, backend, connection, redirect_uri, expires_at) "
                "VALUES (?, ?, ?, ?, ?)", (_digest(state), backend, connection, redirect_uri, self._clock() + ttl_s))

    def take(self, state: str, backend: str) -> Pending | None:
        """The waiting consent for ``state`` on ``backend``, claimed at most once; None if unknown or expired."""
        with self._lock:
            db = self._conn()
            claimed = db.execute(
                "UPDATE pending_authorizations SET outcome = 'working' WHERE state_sha256 = ? AND backend = ? "
                "AND outcome IS NULL AND expires_at > ?", (_digest(state), backend, self._clock())).rowcount
            if not claimed:
                return None
            return self._read(db, state)

    def finish(self, state: str, outcome: str, message: str) -> None:
        with self._lock:
            self._conn().execute("UPDATE pending_authorizations SET outcome = ?, message = ? WHERE state_sha256 = ?",
                                 (outcome, message, _digest(state)))

    def get(self, state: str) -> Pending | None:
        with self._lock:
            return self._read(self._conn(), state)

    @staticmethod
    def _read(db: sqlite3.Connection, state: str) -> Pending | None:
        row = db.execute(
            "SELECT backend, connection, redirect_uri, expires_at, outcome, message FROM pending_authorizations "
            "WHERE state_sha256 = ?", (_digest(state),)).fetchone()
        return Pending(*row) if row else None

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def open_pending(settings: Settings) -> PendingAuthorizations:
    return PendingAuthorizations(settings.state_dir() / GRANTS_FILE)
