"""Console accounts and sessions, and the access saved in the console, in PostgreSQL.

Every replica reads and writes the same rows, so a person signed in on one replica is signed in on all,
and access saved on one is the policy on all. The rules are the embedded stores' (``console/people.py``,
``policy_store.py``): only salted scrypt hashes of passwords, only SHA-256 digests of session cookies, a
new password ends the old sessions, a saved table wins over the TOML until it is reset.

Replicas learn that the saved access changed by polling one row (``policy_overrides_version``), bumped
in the same transaction as every save and reset; ``stamp`` reads it at most once per ``min_interval``
seconds, because the HTTP app asks before every MCP request.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from ...console.people import Account, Session
from .database import Database

log = logging.getLogger("ops_mcp.policy")
_POLL_TIMEOUT_S = 1.0  # the wait for a pooled connection when polling the version row


class PostgresConsoleStore:
    """``console.people.ConsoleStore`` over the ``console_accounts`` and ``console_sessions`` tables."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.path = db.where  # where the hashes are kept, as `ops-mcp admins add` says it

    def close(self) -> None:  # the pool belongs to the state store
        pass

    def add_account(self, account: Account, *, replace: bool = False) -> None:
        row = (account.name, account.role, account.password_hash, account.created_at)
        with self.db.transaction() as conn:
            if replace:
                conn.execute(
                    "INSERT INTO console_accounts (name, role, password_hash, created_at) "
                    "VALUES (%s, %s, %s, %s) ON CONFLICT (name) DO UPDATE SET role = excluded.role, "
                    "password_hash = excluded.password_hash, created_at = excluded.created_at",
                    row,
                )
                # a new password ends the sessions signed in with the old one
                conn.execute("DELETE FROM console_sessions WHERE name = %s", (account.name,))
                return
            inserted = conn.execute(
                "INSERT INTO console_accounts (name, role, password_hash, created_at) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (name) DO NOTHING",
                row,
            )
            if inserted.rowcount != 1:
                raise ValueError(f"{account.name} already has an account (pass --reset to issue a new password)")

    def account(self, name: str) -> Account | None:
        row = self.db.execute(
            "SELECT name, role, password_hash, created_at FROM console_accounts WHERE name = %s", (name,)
        ).fetchone()
        return Account(*row) if row else None

    def accounts(self) -> list[Account]:
        rows = self.db.execute(
            "SELECT name, role, password_hash, created_at FROM console_accounts ORDER BY name"
        ).fetchall()
        return [Account(*row) for row in rows]

    def remove_account(self, name: str) -> bool:
        with self.db.transaction() as conn:
            gone = conn.execute("DELETE FROM console_accounts WHERE name = %s", (name,)).rowcount
            conn.execute("DELETE FROM console_sessions WHERE name = %s", (name,))
        return bool(gone)

    def open_session(self, session: Session) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM console_sessions WHERE expires_at < %s", (time.time(),))
            conn.execute(
                "INSERT INTO console_sessions (digest, name, csrf, expires_at) VALUES (%s, %s, %s, %s)",
                (session.digest, session.name, session.csrf, session.expires_at),
            )

    def session(self, digest: str, now: float) -> Session | None:
        row = self.db.execute(
            "SELECT digest, name, csrf, expires_at FROM console_sessions WHERE digest = %s", (digest,)
        ).fetchone()
        if row is None or row[3] <= now:
            return None
        return Session(*row)

    def close_session(self, digest: str) -> None:
        self.db.execute("DELETE FROM console_sessions WHERE digest = %s", (digest,))


class PostgresPolicyOverrides:
    """``policy_store.PolicyOverrides`` over the ``policy_overrides`` table and its version row."""

    def __init__(
        self, db: Database, *, min_interval: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.db = db
        self.path = db.where
        self.min_interval = min_interval
        self.clock = clock
        self._lock = threading.Lock()
        self._seen: tuple[float, int] | None = None  # (when read, version)

    def load(self) -> dict[str, dict[str, Any]]:
        rows = self.db.execute("SELECT agent, agent_table FROM policy_overrides ORDER BY agent").fetchall()
        saved: dict[str, dict[str, Any]] = {}
        for agent, text in rows:
            table = json.loads(text)
            if isinstance(table, dict):
                saved[str(agent)] = table
        return saved

    def save(self, agent: str, table: dict[str, Any], *, by: str) -> None:
        saved_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO policy_overrides (agent, agent_table, saved_by, saved_at) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (agent) DO UPDATE SET agent_table = excluded.agent_table, "
                "saved_by = excluded.saved_by, saved_at = excluded.saved_at",
                (agent, json.dumps(table, sort_keys=True), by, saved_at),
            )
            self._bump(conn)

    def forget(self, agent: str) -> bool:
        with self.db.transaction() as conn:
            gone = conn.execute("DELETE FROM policy_overrides WHERE agent = %s", (agent,)).rowcount
            if gone:
                self._bump(conn)
        return bool(gone)

    def stamp(self) -> object:
        """The version row, read again only when the last read is ``min_interval`` old (or after a write
        here): one tiny query a second at most, whatever the request rate. It runs on the server's event
        loop, so an unreachable database is given little time and the last version read stands: the
        policies in force stay, and the next try is an interval later."""
        now = self.clock()
        with self._lock:
            if self._seen is not None and now - self._seen[0] < self.min_interval:
                return self._seen[1]
            last = self._seen[1] if self._seen is not None else None
            self._seen = (now, last) if last is not None else None
        try:
            row = self.db.execute(
                "SELECT version FROM policy_overrides_version WHERE id = 1", timeout_s=_POLL_TIMEOUT_S
            ).fetchone()
        except Exception as exc:  # psycopg's errors, the pool's timeout: not imported here on purpose
            log.warning("saved access not checked (%s); the policies in force stay", type(exc).__name__)
            return last
        version = int(row[0]) if row else 0
        with self._lock:
            self._seen = (now, version)
        return version

    def _bump(self, conn: Any) -> None:
        row = conn.execute(
            "UPDATE policy_overrides_version SET version = version + 1 WHERE id = 1 RETURNING version"
        ).fetchone()
        with self._lock:  # this process wrote it: its next stamp is the new version, without waiting
            self._seen = (self.clock(), int(row[0])) if row else None
