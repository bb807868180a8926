"""The emulator's state (`app.state.sandbox`): seeded records, tokens, counters, optional SQLite file.

Records are plain dicts in `data[collection][id]`; keys starting with "_" are internal. The
shared `SandboxState` contributes the request log, fault settings and fault log.
"""

from __future__ import annotations

import json
import random
import sqlite3
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, overload

from ops_mcp.once import BuiltOnFirstUse
from ops_mcp.sandbox.common import SandboxState
from ops_mcp.sandbox.remote.seed import COLLECTIONS, build_seed
from ops_mcp.sandbox.remote.settings import RemoteSandboxSettings


@dataclass
class IssuedToken:
    """An OAuth access or refresh token issued by `/auth/oauth2/token`.

    `company_id` None = a partner-level (client-credentials) token; otherwise the one company the
    token is bound to, with the consenting admin's `user_id`.
    """

    client_id: str
    scopes: frozenset[str]
    company_id: str | None
    expires_at: float | None  # None: a refresh token that has not been rotated (no expiry)
    user_id: str | None = None
    code: str | None = None  # the authorization code the grant came from (revoked if the code is replayed)


@dataclass
class AuthorizationCode:
    """A code issued after consent: single use, bound to client, redirect URI, company and user."""

    client_id: str
    redirect_uri: str
    company_id: str
    user_id: str
    scopes: frozenset[str]
    expires_at: float


@dataclass
class RemoteState(SandboxState):
    settings: RemoteSandboxSettings = field(default_factory=RemoteSandboxSettings)
    # The records, by collection: seeded at first use (see ``data``), not when the app is built.
    seeded: BuiltOnFirstUse[dict[str, dict[str, dict[str, Any]]]] = field(init=False, repr=False)
    access_tokens: dict[str, IssuedToken] = field(default_factory=dict)
    refresh_tokens: dict[str, IssuedToken] = field(default_factory=dict)
    authorization_codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    # Codes already exchanged: a second exchange revokes what the first one issued (RFC 6749 §4.1.2).
    used_codes: set[str] = field(default_factory=set)
    # Side-effect counters for tests: "employments_created", "webhooks_emitted", ...
    counters: Counter = field(default_factory=Counter)
    # Every webhook event emitted: {"event_id", "event_type", "payload", "callback_id", "url"}.
    events: list[dict[str, Any]] = field(default_factory=list)
    id_rng: random.Random = field(default_factory=random.Random)
    # Webhook delivery: the shared WebhookDeliverer (created on first event, see webhooks.py) and
    # the signing key of each delivery's callback, by event id.
    deliverer: Any = None
    delivery_keys: dict[str, str] = field(default_factory=dict)
    rate_limiter: Any = None

    # --- lifecycle -------------------------------------------------------------------------------
    @classmethod
    def create(cls, settings: RemoteSandboxSettings) -> RemoteState:
        state = cls(faults=settings.faults, settings=settings)
        if not state.load():
            state.reset()
        return state

    @property
    def today(self) -> date:
        return self.settings.today or self.now().date()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.settings.clock.time(), UTC)

    def now_iso(self) -> str:
        return self.now().strftime("%Y-%m-%dT%H:%M:%SZ")

    def __post_init__(self) -> None:
        self.seeded = BuiltOnFirstUse(lambda: build_seed(self.settings.seed, self.today))

    @property
    def data(self) -> dict[str, dict[str, dict[str, Any]]]:
        """The records by collection; seeded on first use, so a runtime that never calls Remote (most CLI
        commands, most tests) does not pay ~27 ms of seeding for it."""
        return self.seeded.get()

    @data.setter
    def data(self, records: dict[str, dict[str, dict[str, Any]]]) -> None:
        self.seeded.set(records)

    def prepare(self) -> None:
        """Seed now (a server's warm-up does this while it waits for its first call)."""
        self.seeded.get()

    def reset(self) -> None:
        """Back to the seeded data (tokens, counters and events cleared too)."""
        self.seeded.forget()  # seeded again at first use
        # Ids of records created at run time are deterministic too (a second stream, so they never
        # collide with seeded ones).
        self.id_rng = random.Random(f"{self.settings.seed}:runtime")
        self.access_tokens.clear()
        self.refresh_tokens.clear()
        self.authorization_codes.clear()
        self.used_codes.clear()
        self.counters.clear()
        self.events.clear()
        self.delivery_keys.clear()
        if self.rate_limiter is not None:
            self.rate_limiter.reset()
        self.save()

    def new_id(self) -> str:
        return str(uuid.UUID(int=self.id_rng.getrandbits(128), version=4))

    # --- lookups ---------------------------------------------------------------------------------
    def company_by_slug(self, slug: str) -> dict[str, Any]:
        return next(c for c in self.data["companies"].values() if c["_slug"] == slug)

    def records(self, collection: str, company_ids: tuple[str, ...]) -> list[dict[str, Any]]:
        return [r for r in self.data[collection].values() if r.get("_company_id") in company_ids]

    def get(self, collection: str, record_id: str, company_ids: tuple[str, ...]) -> dict[str, Any] | None:
        record = self.data[collection].get(record_id)
        if record is None or record.get("_company_id") not in company_ids:
            return None
        return record

    # --- optional persistence --------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection | None:
        path = self.settings.persistence_path
        if not path:
            return None
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE IF NOT EXISTS remote_state (collection TEXT PRIMARY KEY, body TEXT NOT NULL)")
        return conn

    def load(self) -> bool:
        conn = self._connect()
        if conn is None:
            return False
        with conn:
            rows = dict(conn.execute("SELECT collection, body FROM remote_state").fetchall())
        conn.close()
        if set(rows) != set(COLLECTIONS):
            return False
        self.data = {name: json.loads(rows[name]) for name in COLLECTIONS}
        return True

    def save(self) -> None:
        conn = self._connect()
        if conn is None:
            return
        with conn:
            conn.executemany(
                "INSERT OR REPLACE INTO remote_state (collection, body) VALUES (?, ?)",
                [(name, json.dumps(self.data[name])) for name in COLLECTIONS],
            )
        conn.close()


@overload
def public(record: dict[str, Any]) -> dict[str, Any]: ...
@overload
def public(record: None) -> None: ...
def public(record: dict[str, Any] | None) -> dict[str, Any] | None:
    """The record without internal ("_"-prefixed) keys."""
    if record is None:
        return None
    return {k: v for k, v in record.items() if not k.startswith("_")}
