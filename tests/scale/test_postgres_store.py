"""The PostgreSQL state store keeps the embedded store's promises, shared by several processes' stores."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from ops_mcp.audit.records import AuditRecord
from ops_mcp.config import ConfigError, Settings
from ops_mcp.secretbox import KEY_ENV, new_key
from ops_mcp.storage import open_state
from ops_mcp.storage.postgres.database import Database
from ops_mcp.storage.postgres.migrations import LATEST, SchemaMismatch, check_schema, migrate
from ops_mcp.upstream.grants import StoredGrant


@pytest.fixture(autouse=True)
def secret_key(monkeypatch: pytest.MonkeyPatch) -> str:
    key = new_key()
    monkeypatch.setenv(KEY_ENV, key)
    return key


@pytest.fixture
def two_replicas(migrated_url, tmp_path):
    """Two replicas' state stores on one database (each its own pool), closed after the test."""
    a, b = open_state(settings(migrated_url, tmp_path)), open_state(settings(migrated_url, tmp_path))
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def settings(url: str, tmp_path) -> Settings:
    return Settings(storage={"url": url, "dir": str(tmp_path / "state")})


def record(n: int, agent: str = "ops-bot") -> AuditRecord:
    return AuditRecord(
        ts=1_700_000_000.0 + n,
        agent=agent,
        tenant="acme",
        backend="remote",
        tool="remote_list_timeoffs",
        area="remote.timeoff",
        access="read",
        decision="allowed",
        http_status=200,
        duration_ms=1.5,
        arguments={"n": n},
    )


# -- migrations ---------------------------------------------------------------------------------------------


def test_a_replica_refuses_a_database_that_was_never_migrated(pg_url, tmp_path):
    from ops_mcp.runtime import build_runtime

    with pytest.raises(ConfigError, match=r"storage\.url: .*no ops-mcp schema: run `ops-mcp migrate`"):
        build_runtime(settings(pg_url, tmp_path))


def test_migrate_is_idempotent_and_refuses_a_newer_schema(pg_url):
    db = Database(pg_url, pool_size=1)
    try:
        assert [m.version for m in migrate(db)] == list(range(1, LATEST + 1))
        assert migrate(db) == []
        assert check_schema(db) == LATEST
        db.execute("INSERT INTO ops_mcp_schema (version, name) VALUES (%s, 'from the future')", (LATEST + 1,))
        with pytest.raises(SchemaMismatch, match="newer than this ops-mcp knows"):
            check_schema(db)
        with pytest.raises(SchemaMismatch, match="refusing to touch it"):
            migrate(db)
    finally:
        db.close()


def test_an_older_schema_is_refused_with_what_to_run(pg_url):
    db = Database(pg_url, pool_size=1)
    try:
        migrate(db)
        db.execute("DELETE FROM ops_mcp_schema WHERE version = %s", (LATEST,))
        with pytest.raises(SchemaMismatch, match=rf"schema version {LATEST - 1}; .* run `ops-mcp migrate`"):
            check_schema(db)
    finally:
        db.close()


def test_the_migrate_command_reports_and_applies(pg_url, tmp_path):
    env = {"OPS_MCP_STORAGE_URL": pg_url, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    run = [sys.executable, "-m", "ops_mcp.cli", "migrate"]
    before = subprocess.run(
        [*run, "--check"], env=env, capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert before.returncode == 1 and "run `ops-mcp migrate`" in before.stdout
    applied = subprocess.run(run, env=env, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert applied.returncode == 0, applied.stderr
    assert f"schema: version {LATEST}" in applied.stdout and "applied 1: audit chain" in applied.stdout


def test_a_database_password_never_reaches_a_message():
    from ops_mcp.storage.postgres.database import redact_url

    assert (
        redact_url("postgresql://ops:s3cret@db.internal:5432/ops")
        == "postgresql://ops:***@db.internal:5432/ops"
    )
    assert redact_url("postgresql://ops@db/ops") == "postgresql://ops@db/ops"


# -- the audit chain ----------------------------------------------------------------------------------------


def test_concurrent_appends_from_several_stores_make_one_chain(migrated_url, tmp_path):
    """Four stores (own pools, as four replicas) append at once: no fork, no gap, verify passes."""
    states = [open_state(settings(migrated_url, tmp_path)) for _ in range(4)]
    barrier = threading.Barrier(len(states))
    seqs: list[int] = []
    lock = threading.Lock()

    def writer(index: int) -> None:
        log = states[index].audit()
        barrier.wait()
        for n in range(40):
            seq = log.append(record(n, agent=f"agent-{index}"))
            with lock:
                seqs.append(seq)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(len(states))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        log = states[0].audit()
        assert sorted(seqs) == list(range(1, 161))
        result = log.verify()
        assert result.ok and result.checked == 160, result
        assert log.head()[0] == 160 and log.count() == 160
        assert [e.record.agent for e in log.search(agent="agent-2", limit=100)] == ["agent-2"] * 40
    finally:
        for state in states:
            state.close()


def test_the_chain_in_postgres_shows_an_edited_or_truncated_log(migrated_url, tmp_path):
    state = open_state(settings(migrated_url, tmp_path))
    try:
        log = state.audit()
        for n in range(5):
            log.append(record(n))
        db: Database = state.db  # type: ignore[attr-defined]
        db.execute("UPDATE audit SET error = 'nothing happened' WHERE seq = 3")
        assert log.verify().first_bad_seq == 3
        db.execute("UPDATE audit SET error = NULL WHERE seq = 3")
        assert log.verify().ok
        db.execute("DELETE FROM audit WHERE seq = 5")
        broken = log.verify()
        assert not broken.ok and "truncated" in (broken.reason or "")
    finally:
        state.close()


def test_audit_verify_command_reads_the_chain_in_postgres(migrated_url, tmp_path, secret_key):
    state = open_state(settings(migrated_url, tmp_path))
    try:
        for n in range(3):
            state.audit().append(record(n))
    finally:
        state.close()
    env = {"OPS_MCP_STORAGE_URL": migrated_url, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    config = tmp_path / "ops-mcp.toml"
    config.write_text('[agents.ops-bot]\nareas = { "remote.timeoff" = "read" }\n')
    done = subprocess.run(
        [sys.executable, "-m", "ops_mcp.cli", "audit", "verify", "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3" in done.stdout


# -- governance state shared between replicas --------------------------------------------------------------


def test_an_approval_is_redeemed_once_across_replicas(two_replicas):
    a, b = two_replicas
    asked = a.approvals().create("ops-bot", "remote_approve_timeoff", "h" * 64, "Approve time off?")
    assert (
        b.approvals().create("ops-bot", "remote_approve_timeoff", "h" * 64, "Approve time off?").id
        == asked.id
    )
    b.approvals().decide(asked.id, approve=True, by="alice")
    first = a.approvals().redeem(asked.id, "ops-bot", "remote_approve_timeoff", "h" * 64)
    second = b.approvals().redeem(asked.id, "ops-bot", "remote_approve_timeoff", "h" * 64)
    assert (first.ok, second.ok, second.reason) == (True, False, "used")
    assert a.approvals().use_nonce("n1", 9e12) is True
    assert b.approvals().use_nonce("n1", 9e12) is False  # a replay on another replica


def test_a_token_revoked_on_one_replica_is_refused_by_another(two_replicas):
    a, b = two_replicas
    token = a.agent_tokens().issue("ops-bot")
    other = a.agent_tokens().issue("hr-bot")
    assert b.agent_tokens().agent_for(token) == "ops-bot"
    assert a.agent_tokens().revoke("ops-bot") is True
    assert b.agent_tokens().agent_for(token) is None
    assert b.agent_tokens().agent_for(other) == "hr-bot"


def test_secrets_are_sealed_at_rest_with_a_key_kept_elsewhere(migrated_url, tmp_path, monkeypatch):
    state = open_state(settings(migrated_url, tmp_path))
    try:
        state.webhook_secrets().put("remote", "acme", "whsec_topsecret", remote_id="w1", url="https://x/hook")
        state.grants().put("remote", "acme", StoredGrant("co_1", "rt_refresh_secret"))
        key = state.sealing_key()
        assert state.sealing_key() == key and len(key) == 32
        db: Database = state.db  # type: ignore[attr-defined]
        raw = str(
            db.execute("SELECT * FROM webhook_secrets").fetchall()
            + db.execute("SELECT * FROM grants").fetchall()
            + db.execute("SELECT * FROM server_keys").fetchall()
        )
        assert "whsec_topsecret" not in raw and "rt_refresh_secret" not in raw and key.hex() not in raw
        assert state.webhook_secrets().for_backend("remote") == [("acme", "whsec_topsecret")]
        assert state.grants().get("remote", "acme").refresh_token == "rt_refresh_secret"  # type: ignore[union-attr]
    finally:
        state.close()
    monkeypatch.setenv(KEY_ENV, new_key())  # another key: the sealed values do not open
    other = open_state(settings(migrated_url, tmp_path))
    try:
        assert other.webhook_secrets().for_backend("remote") == []
        from ops_mcp.upstream.grants import GrantUnreadable

        with pytest.raises(GrantUnreadable):
            other.grants().get("remote", "acme")
    finally:
        other.close()


def test_postgres_storage_without_a_secret_key_says_how_to_make_one(migrated_url, tmp_path, monkeypatch):
    from ops_mcp.runtime import build_runtime

    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(ConfigError, match=r"ops-mcp connect --new-key"):
        build_runtime(settings(migrated_url, tmp_path))


def timeoff_event(event_id: str, payload: dict | None = None) -> dict:
    """The keyword arguments of ``events().add`` for one Remote time-off update."""
    return dict(backend="remote", event_id=event_id, tenant=None, type="timeoff.updated", area="remote.timeoff",
                occurred_at=None, payload=payload or {})


def test_events_are_deduplicated_by_delivery_across_replicas(two_replicas):
    a, b = two_replicas
    first = timeoff_event("d1", {"id": "t1"})
    assert a.events().add(**first) is True
    assert b.events().add(**first) is False
    assert b.events().add(**{**first, "event_id": "d2"}) is True
    found = a.events().query([("remote.timeoff", None)], types=["timeoff.*"])
    assert [e.event_id for e in found] == ["d2", "d1"]
    for _ in range(3):
        b.events().reject("remote", "signature", "bad signature", remote_addr="10.0.0.1")
    assert a.events().rejection_totals()[0]["count"] == 3


def test_a_consent_is_claimed_once_whichever_replica_gets_the_callback(two_replicas):
    a, b = two_replicas
    a.pending_authorizations().add("state-xyz", "remote", "acme", "https://ops/cb", 600)
    claimed = b.pending_authorizations().take("state-xyz", "remote")
    assert claimed is not None and claimed.connection == "acme"
    assert a.pending_authorizations().take("state-xyz", "remote") is None  # once
    b.pending_authorizations().finish("state-xyz", "connected", "ok")
    assert a.pending_authorizations().get("state-xyz").outcome == "connected"  # type: ignore[union-attr]
    db: Database = a.db  # type: ignore[attr-defined]
    assert "state-xyz" not in str(db.execute("SELECT * FROM pending_authorizations").fetchall())


def test_group_commits_from_several_writers_interleave_without_a_fork(migrated_url, tmp_path):
    states = [open_state(settings(migrated_url, tmp_path)) for _ in range(3)]
    barrier = threading.Barrier(len(states))

    def writer(index: int) -> None:
        log = states[index].audit()
        barrier.wait()
        for batch in range(10):
            seqs = log.append_many([record(batch * 10 + n, agent=f"agent-{index}") for n in range(10)])
            assert seqs == list(range(seqs[0], seqs[0] + 10))  # a batch is contiguous in the chain

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(len(states))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        result = states[0].audit().verify()
        assert result.ok and result.checked == 300, result
    finally:
        for state in states:
            state.close()


def test_the_feed_reads_events_only_once_no_earlier_insert_can_still_appear(
    migrated_url, tmp_path, monkeypatch
):
    from ops_mcp.storage.postgres import events as pg_events

    state = open_state(settings(migrated_url, tmp_path))
    try:
        store = state.events()
        store.add(**timeoff_event("e1"))
        assert store.after(0) == []  # too fresh: an insert with a lower seq may still be committing
        monkeypatch.setattr(pg_events, "SETTLE_S", 0.0)
        assert [e.event_id for e in store.after(0)] == ["e1"]
    finally:
        state.close()
