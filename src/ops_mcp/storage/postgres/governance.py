"""Approvals, request-state nonces, agent tokens and the confirmation-sealing key in PostgreSQL.

The approval rules (one pending approval per exact call, one redemption, expiry) are the embedded store's:
``PostgresApprovalStore`` runs the same statements through ``QmarkSession``. What differs is only what
SQLite says differently (a duplicate nonce).
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from ...governance.approvals import ApprovalStore
from ...secretbox import SecretBox, SecretUnreadable
from ...transports.agent_auth import AgentToken, AgentTokenStore
from .database import Database, QmarkSession, StorageUnavailable

SEALING_KEY = "confirmation-sealing-key"


class PostgresApprovalStore(ApprovalStore):
    def __init__(self, db: Database, **limits: Any) -> None:
        super().__init__(db.where, **limits)  # type: ignore[arg-type]  # path: only shown in messages
        self._session = QmarkSession(db)

    @property
    def _db(self) -> Any:  # the embedded store's statements, run by PostgreSQL
        return self._session

    def close(self) -> None:
        pass

    def use_nonce(self, nonce: str, expires_at: float, *, now: float | None = None) -> bool:
        """Record a request-state nonce once across every replica; False on a replay."""
        now = time.time() if now is None else now
        self._session.execute("DELETE FROM used_nonces WHERE expires_at < ?", (now,))
        inserted = self._session.execute(
            "INSERT INTO used_nonces (nonce, expires_at) VALUES (?, ?) ON CONFLICT (nonce) DO NOTHING",
            (nonce, expires_at),
        )
        return inserted.rowcount == 1


class PostgresAgentTokenStore(AgentTokenStore):
    """Issued agent tokens (salted hashes) in one table; every lookup reads it, so a revocation on one
    replica refuses the token on every other at its next request."""

    def __init__(self, db: Database) -> None:
        super().__init__(db.where)  # type: ignore[arg-type]
        self.db = db

    def _reload_if_changed(self) -> None:
        rows = self.db.execute("SELECT agent, salt, digest, created_at, hint FROM agent_tokens").fetchall()
        self._tokens = {row[0]: AgentToken(*row) for row in rows}

    def revoke(self, agent: str) -> bool:
        with self._lock:
            gone = self.db.execute("DELETE FROM agent_tokens WHERE agent = %s", (agent,))
            self._reload_if_changed()
        return gone.rowcount == 1

    def _write(self, tokens: dict[str, AgentToken]) -> None:
        # Only issue() writes the whole map: upsert the entries that changed, one row per agent, so two
        # replicas issuing tokens for two agents at once do not overwrite each other.
        for entry in tokens.values():
            if self._tokens.get(entry.agent) == entry:
                continue
            self.db.execute(
                "INSERT INTO agent_tokens (agent, salt, digest, created_at, hint) VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT (agent) DO UPDATE SET salt = excluded.salt, digest = excluded.digest, "
                "created_at = excluded.created_at, hint = excluded.hint",
                (entry.agent, entry.salt, entry.digest, entry.created_at, entry.hint),
            )
        self._reload_if_changed()


def sealing_key(db: Database, box: SecretBox) -> bytes:
    """The 32-byte confirmation-sealing secret every replica shares, created once, stored sealed."""
    candidate = secrets.token_bytes(32)
    db.execute(
        "INSERT INTO server_keys (name, sealed_value, created_at) VALUES (%s, %s, %s) ON CONFLICT (name) DO NOTHING",
        (SEALING_KEY, box.seal(candidate.hex(), SEALING_KEY), time.time()),
    )
    row = db.execute("SELECT sealed_value FROM server_keys WHERE name = %s", (SEALING_KEY,)).fetchone()
    assert row is not None
    try:
        return bytes.fromhex(box.open(row[0], SEALING_KEY))
    except SecretUnreadable:
        raise StorageUnavailable(
            f"the confirmation-sealing key in {db.where} does not open with this secret key: every replica must "
            "have the same $OPS_MCP_SECRET_KEY (or [secrets] key_file) as the one that created it"
        ) from None
