"""Versioned schema migrations for the PostgreSQL state store, run by ``ops-mcp migrate``.

Each migration is one numbered step, applied once, in order, inside one transaction together with the row
that records it in ``ops_mcp_schema``. Two ``migrate`` runs at once serialise on an advisory lock. A replica
never migrates on its own: at start it checks the recorded version and refuses to serve against a schema
that is missing, older (run ``ops-mcp migrate``) or newer (this replica is older than the schema: upgrade
it) — ``SchemaMismatch`` says which.

Timestamps are ``DOUBLE PRECISION`` (Unix seconds, as the embedded store keeps them): ``REAL`` would round
them to the minute.
"""

from __future__ import annotations

from dataclasses import dataclass

from .database import Database

# Any fixed number: the key of the advisory lock that serialises migrations.
_MIGRATION_LOCK = 0x6F70736D6370  # "opsmcp"

_AUDIT = """
CREATE TABLE audit (
    seq BIGINT PRIMARY KEY,
    ts DOUBLE PRECISION,
    agent TEXT, tenant TEXT, backend TEXT, tool TEXT, area TEXT, access TEXT, decision TEXT,
    http_status INTEGER,
    duration_ms DOUBLE PRECISION,
    upstream_request_id TEXT, target_ids TEXT, arguments TEXT, error TEXT, confirmed_by TEXT, sentence TEXT,
    -- written ahead: a "started" row, and a "completed" row naming it (completes), both in the chain
    phase TEXT, completes BIGINT, outcome TEXT,
    record_json TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_ts ON audit (ts);
CREATE INDEX audit_completes ON audit (completes) WHERE completes IS NOT NULL;
CREATE INDEX audit_agent_ts ON audit (agent, ts);
CREATE INDEX audit_tool_ts ON audit (tool, ts);
-- The head is one row that every append locks (SELECT ... FOR UPDATE): appends from every replica take
-- turns, so the chain never forks. It exists from the start so there is always a row to lock.
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, repeat('0', 64));
"""

_GOVERNANCE = """
CREATE TABLE approvals (
    id TEXT PRIMARY KEY,
    agent TEXT NOT NULL,
    tool TEXT NOT NULL,
    args_hash TEXT NOT NULL,
    summary TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL,
    status TEXT NOT NULL,
    decided_by TEXT,
    decided_at DOUBLE PRECISION,
    used_at DOUBLE PRECISION,
    arguments TEXT NOT NULL DEFAULT '{}',
    changes TEXT NOT NULL DEFAULT '{}',
    decided_via TEXT
);
CREATE INDEX approvals_pending ON approvals (agent, status, expires_at);
-- One-time nonces of sealed request states: a replay on any replica is refused.
CREATE TABLE used_nonces (
    nonce TEXT PRIMARY KEY,
    expires_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE agent_tokens (
    agent TEXT PRIMARY KEY,
    salt TEXT NOT NULL,
    digest TEXT NOT NULL,
    created_at TEXT NOT NULL,
    hint TEXT NOT NULL
);
-- Keys the server makes for itself (the confirmation-sealing key), sealed with the secret key.
CREATE TABLE server_keys (
    name TEXT PRIMARY KEY,
    sealed_value TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
"""

_EVENTS = """
CREATE TABLE events (
    seq BIGSERIAL PRIMARY KEY,
    backend TEXT NOT NULL,
    event_id TEXT NOT NULL,
    tenant TEXT,
    type TEXT NOT NULL,
    area TEXT,
    received_at DOUBLE PRECISION NOT NULL,
    occurred_at TEXT,
    payload TEXT NOT NULL,
    UNIQUE (backend, event_id)
);
CREATE INDEX events_by_area ON events (area, tenant, seq);
CREATE TABLE rejections (
    id BIGSERIAL PRIMARY KEY,
    at DOUBLE PRECISION NOT NULL,
    backend TEXT NOT NULL,
    reason TEXT NOT NULL,
    event_id TEXT,
    remote_addr TEXT
);
CREATE TABLE rejection_counts (
    backend TEXT NOT NULL,
    kind TEXT NOT NULL,
    count BIGINT NOT NULL,
    first_at DOUBLE PRECISION NOT NULL,
    last_at DOUBLE PRECISION NOT NULL,
    last_reason TEXT NOT NULL,
    PRIMARY KEY (backend, kind)
);
-- Signing secrets (newest first) sealed as one JSON list per connection.
CREATE TABLE webhook_secrets (
    backend TEXT NOT NULL,
    connection TEXT NOT NULL,
    sealed_secrets TEXT NOT NULL,
    remote_id TEXT,
    url TEXT NOT NULL,
    registered_at TEXT NOT NULL,
    PRIMARY KEY (backend, connection)
);
-- Consents started by `ops-mcp connect --via server`; only a digest of each one-time state is kept.
CREATE TABLE pending_authorizations (
    state_sha256 TEXT PRIMARY KEY,
    backend TEXT NOT NULL,
    connection TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL,
    outcome TEXT,
    message TEXT
);
CREATE TABLE grants (
    backend TEXT NOT NULL,
    connection TEXT NOT NULL,
    company_id TEXT NOT NULL,
    sealed_refresh_token TEXT NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (backend, connection)
);
"""

_CONSOLE = """
-- The people who sign in to the console: only salted scrypt hashes of passwords (console/people.py).
CREATE TABLE console_accounts (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
-- Signed-in sessions, keyed by a SHA-256 of the cookie value (never the cookie itself).
CREATE TABLE console_sessions (
    digest TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    csrf TEXT NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX console_sessions_by_name ON console_sessions (name);
-- Access saved in the console: one [agents.NAME] table per agent, as JSON (policy_store.py).
CREATE TABLE policy_overrides (
    agent TEXT PRIMARY KEY,
    agent_table TEXT NOT NULL,
    saved_by TEXT NOT NULL,
    saved_at TEXT NOT NULL
);
-- One counter every save and reset bumps in the same transaction: replicas poll this one row to learn
-- that the saved access changed, instead of reading every table.
CREATE TABLE policy_overrides_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO policy_overrides_version (id, version) VALUES (1, 0);
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "audit chain", _AUDIT),
    Migration(2, "approvals, nonces, agent tokens, server keys", _GOVERNANCE),
    Migration(3, "webhook events, signing secrets, pending consents, partner grants", _EVENTS),
    Migration(4, "console accounts and sessions, saved access with its version", _CONSOLE),
)
LATEST = MIGRATIONS[-1].version


class SchemaMismatch(RuntimeError):
    """This replica and the database's schema do not agree; the message says what to run."""


def current_version(db: Database) -> int | None:
    """The schema version recorded in the database, or None when it was never migrated."""
    row = db.execute("SELECT to_regclass('ops_mcp_schema') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return None
    found = db.execute("SELECT COALESCE(MAX(version), 0) FROM ops_mcp_schema").fetchone()
    return int(found[0]) if found else 0


def check_schema(db: Database) -> int:
    """The version, when it is exactly the one this code knows; ``SchemaMismatch`` otherwise."""
    version = current_version(db)
    if version is None or version == 0:
        raise SchemaMismatch(
            f"the database at {db.where} has no ops-mcp schema: run `ops-mcp migrate` (with the same "
            "storage.url) before serving"
        )
    if version < LATEST:
        raise SchemaMismatch(
            f"the database at {db.where} is at schema version {version}; this ops-mcp needs {LATEST}: "
            "run `ops-mcp migrate`"
        )
    if version > LATEST:
        raise SchemaMismatch(
            f"the database at {db.where} is at schema version {version}, newer than this ops-mcp knows "
            f"({LATEST}): upgrade this replica instead of serving against a schema it does not understand"
        )
    return version


def migrate(db: Database) -> list[Migration]:
    """Apply every migration the database lacks, in order; returns those applied (none: up to date)."""
    applied: list[Migration] = []
    with db.transaction() as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS ops_mcp_schema (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
            "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM ops_mcp_schema").fetchone()
        have = int(row[0]) if row else 0
        if have > LATEST:
            raise SchemaMismatch(
                f"the database at {db.where} is at schema version {have}, newer than this ops-mcp knows "
                f"({LATEST}); refusing to touch it"
            )
        for step in MIGRATIONS:
            if step.version <= have:
                continue
            conn.execute(step.sql)
            conn.execute(
                "INSERT INTO ops_mcp_schema (version, name) VALUES (%s, %s)", (step.version, step.name)
            )
            applied.append(step)
    return applied
