"""Pending approvals: writes waiting for a person's decision (SQLite in the state dir).

An approval is created when an agent attempts a confirm-listed write; a person approves or denies it
out of band (``ops-mcp approvals``, the console's approval page, see ``desk.py``); the agent's retry
with the approval id consumes it. It stores the full change summary the person reads (every field,
before → after, unredacted: redaction protects the audit log, not the approver), so the file is
created owner-only (0600). It is bound to the
agent, the tool and the SHA-256 of the canonical arguments, so an approval for one action can never
let another through; it is single-use (the consuming UPDATE is conditional, so two concurrent retries
cannot both win) and it expires: a request waits at most ``pending_ttl`` for a person, and once
approved the agent has ``approved_ttl`` to retry.

The same database records the one-time nonces of sealed 2026 request states, so a confirmed
request state cannot be replayed either.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Literal

from ..records import Frozen, set_fields
from ..statefiles import connect_sqlite
from ..text import neutralise
from .changes import ChangeSummary

PENDING_TTL = 24 * 3600.0
APPROVED_TTL = 3600.0
MAX_PENDING_PER_AGENT = 50  # an agent cannot flood the people deciding (or the disk) with approvals
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o/1/l/i: ids are read aloud and typed by people

Status = Literal["pending", "approved", "denied", "used"]
# Why a Redemption is what it is.
_Reason = Literal["approved", "pending", "denied", "used", "expired", "mismatch", "unknown"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS approvals (
    id TEXT PRIMARY KEY,
    agent TEXT NOT NULL,
    tool TEXT NOT NULL,
    args_hash TEXT NOT NULL,
    summary TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    status TEXT NOT NULL,
    decided_by TEXT,
    decided_at REAL,
    used_at REAL,
    arguments TEXT NOT NULL DEFAULT '{}',  -- no longer written (held redacted arguments)
    changes TEXT NOT NULL DEFAULT '{}',
    decided_via TEXT
);
CREATE TABLE IF NOT EXISTS used_nonces (
    nonce TEXT PRIMARY KEY,
    expires_at REAL NOT NULL
);
"""
# Columns added after the first release, added to older files on open.
_ADDED_COLUMNS = {"changes": "TEXT NOT NULL DEFAULT '{}'", "decided_via": "TEXT"}


def args_hash(arguments: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of the arguments (sorted keys, no whitespace)."""
    canonical = json.dumps(arguments, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def call_hash(arguments: dict[str, Any], tenant: str | None) -> str:
    """What a person's yes is bound to: these arguments against this tenant. Re-binding the agent to
    another tenant after the person said yes to "…, Acme GmbH?" makes it a different call."""
    return args_hash({"arguments": arguments, "tenant": tenant})


class Approval(Frozen):
    __slots__ = ("id", "agent", "tool", "args_hash", "summary", "created_at", "expires_at", "status",
                 "decided_by", "decided_at", "used_at", "change", "decided_via")
    id: str
    agent: str
    tool: str
    args_hash: str
    summary: str  # the headline sentence
    created_at: float
    expires_at: float
    status: Status
    decided_by: str | None  # the person, named by their own credential (OS user, console account)
    decided_at: float | None
    used_at: float | None
    change: ChangeSummary  # what the person reads: every field, before → after (the hash binds the call)
    decided_via: str | None  # "cli", "console"

    def __init__(self, id: str, agent: str, tool: str, args_hash: str, summary: str, created_at: float,
                 expires_at: float, status: Status, decided_by: str | None, decided_at: float | None,
                 used_at: float | None, change: ChangeSummary, decided_via: str | None = None) -> None:
        set_fields(self, id=id, agent=agent, tool=tool, args_hash=args_hash, summary=summary,
                   created_at=created_at, expires_at=expires_at, status=status, decided_by=decided_by,
                   decided_at=decided_at, used_at=used_at, change=change, decided_via=decided_via)

    def expired(self, now: float | None = None) -> bool:
        return (now if now is not None else time.time()) >= self.expires_at

    def shown_status(self, now: float | None = None) -> str:
        """The status as a person reads it: a pending approval past its time is "expired"."""
        if self.status in ("pending", "approved") and self.expired(now):
            return "expired"
        return self.status

    def as_dict(self, now: float | None = None) -> dict[str, Any]:
        """Everything a page or ``--json`` shows, every agent-supplied text neutralised."""
        change = self.change.as_dict()
        return {
            "id": self.id,
            "status": self.shown_status(now),
            "agent": neutralise(self.agent),
            "tool": neutralise(self.tool),
            "title": neutralise(change["title"]),
            "tenant": neutralise(change["tenant"]) if change["tenant"] else None,
            "summary": neutralise(self.summary),
            "target": {k: neutralise(v) for k, v in (change["target"] or {}).items()} or None,
            "changes": [
                {k: (neutralise(v) if v is not None else None) for k, v in row.items()} for row in change["changes"]
            ],
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "decided_by": neutralise(self.decided_by) if self.decided_by else None,
            "decided_via": self.decided_via,
            "decided_at": self.decided_at,
            "used_at": self.used_at,
        }


class TooManyPending(ValueError):
    """The agent already has ``max_pending`` approvals waiting; the message says so."""


class Redemption(Frozen):
    """The answer to an agent's retry with an approval id."""

    __slots__ = ("ok", "reason", "approval")
    ok: bool
    reason: _Reason
    approval: Approval | None

    def __init__(self, ok: bool, reason: _Reason, approval: Approval | None = None) -> None:
        set_fields(self, ok=ok, reason=reason, approval=approval)


class ApprovalStore:
    def __init__(
        self, path: Path, *, pending_ttl: float = PENDING_TTL, approved_ttl: float = APPROVED_TTL,
        max_pending: int = MAX_PENDING_PER_AGENT,
    ) -> None:
        self.path = path
        self.pending_ttl = pending_ttl
        self.approved_ttl = approved_ttl
        self.max_pending = max_pending
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    @property
    def _db(self) -> sqlite3.Connection:
        """One connection per store, opened on first use (a server that never asks creates no file),
        shared by the event loop and the CLI; writes are serialised."""
        if self._connection is None:
            db = connect_sqlite(self.path, check_same_thread=False, isolation_level=None, timeout=10)
            db.executescript(_SCHEMA)
            have = {row[1] for row in db.execute("PRAGMA table_info(approvals)")}
            for column, kind in _ADDED_COLUMNS.items():
                if column not in have:
                    db.execute(f"ALTER TABLE approvals ADD COLUMN {column} {kind}")
            self._connection = db
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    # -- agent side ------------------------------------------------------------------------------

    def create(
        self,
        agent: str,
        tool: str,
        arguments_hash: str,
        change: ChangeSummary | str,
        *,
        now: float | None = None,
    ) -> Approval:
        """A new pending approval, or the one already waiting for this exact call (no pile of duplicates);
        ``TooManyPending`` when the agent already has ``max_pending`` waiting."""
        now = time.time() if now is None else now
        if isinstance(change, str):
            change = ChangeSummary(sentence=change)
        approval_id = "apr_" + "".join(secrets.choice(_ALPHABET) for _ in range(12))
        change_json = json.dumps(change.as_dict(), ensure_ascii=False, separators=(",", ":"))
        with self._lock:
            row = self._db.execute(
                "SELECT id FROM approvals WHERE agent = ? AND tool = ? AND args_hash = ? AND status = 'pending' "
                "AND expires_at > ? ORDER BY created_at DESC LIMIT 1",
                (agent, tool, arguments_hash, now),
            ).fetchone()
            if row is not None:
                approval_id = row[0]
            else:
                waiting = self._db.execute(
                    "SELECT COUNT(*) FROM approvals WHERE agent = ? AND status = 'pending' AND expires_at > ?",
                    (agent, now),
                ).fetchone()[0]
                if waiting >= self.max_pending:
                    raise TooManyPending(
                        f"{waiting} writes of this agent already wait for a person; wait until they are "
                        "decided or expire before asking for more"
                    )
                self._db.execute(
                    "INSERT INTO approvals (id, agent, tool, args_hash, summary, created_at, expires_at, status, "
                    "changes) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
                    (approval_id, agent, tool, arguments_hash, change.sentence, now, now + self.pending_ttl,
                     change_json),
                )
        found = self.get(approval_id)
        assert found is not None
        return found

    def redeem(
        self, approval_id: str, agent: str, tool: str, arguments_hash: str, *, now: float | None = None
    ) -> Redemption:
        """Consume an approved approval for exactly this agent, tool and arguments, once."""
        now = time.time() if now is None else now
        approval = self.get(approval_id)
        if approval is None:
            return Redemption(False, "unknown")
        # A mismatch is checked first and reported without details: the id may be someone else's.
        if (approval.agent, approval.tool, approval.args_hash) != (agent, tool, arguments_hash):
            return Redemption(False, "mismatch", approval)
        if approval.status == "used":
            return Redemption(False, "used", approval)
        if approval.status == "denied":
            return Redemption(False, "denied", approval)
        if approval.expired(now):
            return Redemption(False, "expired", approval)
        if approval.status == "pending":
            return Redemption(False, "pending", approval)
        with self._lock:
            cursor = self._db.execute(
                "UPDATE approvals SET status = 'used', used_at = ? "
                "WHERE id = ? AND status = 'approved' AND expires_at > ?",
                (now, approval_id, now),
            )
        if cursor.rowcount != 1:  # a concurrent retry consumed it first
            return Redemption(False, "used", self.get(approval_id))
        return Redemption(True, "approved", self.get(approval_id))

    # -- operator side ---------------------------------------------------------------------------

    def decide(self, approval_id: str, *, approve: bool, by: str, via: str = "cli",
               now: float | None = None) -> Approval:
        """Approve or deny a pending approval; raises ``ValueError`` with a sentence otherwise.

        ``by`` names the person from their own credential; callers go through ``desk.ApprovalDesk``."""
        now = time.time() if now is None else now
        approval = self.get(approval_id)
        if approval is None:
            raise ValueError(f"no approval {approval_id!r}")
        if approval.status != "pending":
            raise ValueError(f"{approval_id} is already {approval.status}")
        if approval.expired(now):
            raise ValueError(
                f"{approval_id} expired at {_fmt(approval.expires_at)}; the agent must ask again"
            )
        status = "approved" if approve else "denied"
        expires = min(approval.expires_at, now + self.approved_ttl) if approve else approval.expires_at
        with self._lock:
            cursor = self._db.execute(
                "UPDATE approvals SET status = ?, decided_by = ?, decided_via = ?, decided_at = ?, expires_at = ? "
                "WHERE id = ? AND status = 'pending'",
                (status, by, via, now, expires, approval_id),
            )
        if cursor.rowcount != 1:
            raise ValueError(f"{approval_id} was decided by someone else just now")
        found = self.get(approval_id)
        assert found is not None
        return found

    def get(self, approval_id: str) -> Approval | None:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM approvals WHERE id = ?", (approval_id,)).fetchone()
        return _approval(row) if row else None

    def list(self, *, include_done: bool = False, now: float | None = None, limit: int = 500) -> list[Approval]:
        """Pending, unexpired approvals (newest first); with ``include_done`` the latest ``limit`` of all."""
        now = time.time() if now is None else now
        if include_done:
            query = f"SELECT {_COLUMNS} FROM approvals ORDER BY created_at DESC LIMIT ?"
            params: tuple[float | int, ...] = (limit,)
        else:
            query = (f"SELECT {_COLUMNS} FROM approvals WHERE status = 'pending' AND expires_at > ? "
                     "ORDER BY created_at DESC LIMIT ?")
            params = (now, limit)
        return [_approval(r) for r in self._db.execute(query, params).fetchall()]

    # -- sealed request states -------------------------------------------------------------------

    def use_nonce(self, nonce: str, expires_at: float, *, now: float | None = None) -> bool:
        """Record a request-state nonce; False when it was already used (a replay)."""
        now = time.time() if now is None else now
        with self._lock:
            self._db.execute("DELETE FROM used_nonces WHERE expires_at < ?", (now,))
            try:
                self._db.execute(
                    "INSERT INTO used_nonces (nonce, expires_at) VALUES (?, ?)", (nonce, expires_at)
                )
            except sqlite3.IntegrityError:
                return False
        return True


_COLUMNS = (
    "id, agent, tool, args_hash, summary, created_at, expires_at, status, decided_by, decided_at, used_at, "
    "changes, decided_via"
)


def _approval(row: tuple) -> Approval:
    try:
        change = ChangeSummary.from_dict(json.loads(row[11] or "{}"))
    except ValueError:
        change = ChangeSummary(sentence="")
    if not change.sentence:  # a row from before change summaries were stored
        change = ChangeSummary(sentence=row[4], changes=change.changes, title=change.title,
                               tenant=change.tenant, target=change.target)
    return Approval(
        row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9], row[10],
        change=change, decided_via=row[12],
    )


def _fmt(moment: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(moment))
