"""The audit log's promises hold with the chain in PostgreSQL: a write is stored before its request leaves the
replica (and reads "unknown" on another replica, which cannot know it is still out), its completion shows
through as one entry, a replica killed mid-request leaves "outcome unknown" that ``ops-mcp audit verify``
accepts; rows are scrubbed and bounded, and a stalled database keeps the writer's queue bounded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client

import ops_mcp
from ops_mcp.config import Settings
from ops_mcp.runtime import build_runtime
from ops_mcp.secretbox import KEY_ENV, new_key
from ops_mcp.storage import open_state
from tests.audit_promises.conftest import AGENTS, gated_sandbox
from tests.support.audit_queue import writers_give_up_while_the_store_is_stalled
from tests.support.hostile import held_call
from tests.support.runtime import ONE_TENANT, make_server
from tests.support.seed import requested_timeoff

APPROVE = "remote_approve_timeoff"


@pytest.fixture(autouse=True)
def secret_key(monkeypatch: pytest.MonkeyPatch) -> str:
    key = new_key()
    monkeypatch.setenv(KEY_ENV, key)
    return key


def pg_settings(url: str, tmp_path: Path) -> Settings:
    return Settings(storage={"url": url, "dir": str(tmp_path / "state")}, backends=ONE_TENANT, agents=AGENTS)


def cli(url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "ops-mcp.toml"
    config.write_text('[agents.writer]\nareas = { "remote.timeoff" = "full" }\n')
    env = {
        "OPS_MCP_STORAGE_URL": url, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
        KEY_ENV: os.environ[KEY_ENV],
    }
    return subprocess.run(
        [sys.executable, "-m", "ops_mcp.cli", "audit", *args, "--config", str(config)],
        env=env, capture_output=True, text=True, timeout=120,
    )


@pytest.mark.anyio
async def test_a_write_is_in_postgres_before_its_request_is_sent(migrated_url, tmp_path):
    gate, app = gated_sandbox()
    runtime = build_runtime(pg_settings(migrated_url, tmp_path), sandbox_app=app)
    other = open_state(pg_settings(migrated_url, tmp_path))
    replica = other.audit()  # another replica's view of the chain
    try:
        args, _ = requested_timeoff(runtime)
        async with (
            Client(make_server(runtime, "writer"), mode="legacy") as client,
            held_call(client, gate, APPROVE, args) as results,
        ):
            # The request is at the back end's door, unanswered: its record is already in PostgreSQL.
            (ahead,) = [e.record for e in runtime.audit.search(tool=APPROVE)]
            assert ahead.decision == "started" and ahead.phase == "started"
            assert ahead.arguments["timeoff_id"] == args["timeoff_id"]
            # Another replica sees the row but not the request: for it, the outcome is unknown.
            (seen,) = [e.record for e in replica.search(tool=APPROVE)]
            assert seen.decision == "unknown" and "outcome unknown" in seen.sentence
            assert [e.seq for e in replica.search(decision="unknown")] == [
                e.seq for e in runtime.audit.search(decision="started")
            ]
        assert not results[0].is_error
        (entry,) = runtime.audit.search(tool=APPROVE)  # one call, one entry: the completion shows through
        done = entry.record
        assert done.decision == "allowed" and done.http_status == 200 and done.duration_ms is not None
        assert done.arguments["timeoff_id"] == args["timeoff_id"]  # stored once, in the started row
        assert replica.entry(entry.seq) == entry and replica.search(decision="unknown") == []
        assert runtime.audit.count() == replica.count()
        assert runtime.audit.verify().ok and replica.verify().ok
    finally:
        await runtime.aclose()
        replica.close()
        other.close()


def test_a_replica_killed_mid_write_leaves_outcome_unknown_and_verifies(migrated_url, tmp_path):
    src = str(Path(ops_mcp.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}
    writer = Path(__file__).parents[1] / "audit_promises" / "_crashing_writer.py"
    proc = subprocess.Popen(
        [sys.executable, str(writer), migrated_url, str(tmp_path / "state")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "started", proc.stderr
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    verified = cli(migrated_url, tmp_path, "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    tailed = cli(migrated_url, tmp_path, "tail", "-n", "5")
    assert tailed.returncode == 0, tailed.stderr
    assert "outcome unknown" in tailed.stdout and "approve time off to_1" in tailed.stdout
    state = open_state(pg_settings(migrated_url, tmp_path))
    try:
        store = state.audit()
        last = store.tail(1)[0].record
        assert last.decision == "unknown"
        assert store.search(decision="unknown")[0].record.target_ids == {"timeoff_id": "to_1"}
        assert store.count() == 2 and store.verify().ok
        # The chain goes on after the open row, which stays open and verified.
        store.append(store.tail(2)[0].record)
        assert store.verify().ok and store.count() == 3
    finally:
        state.close()


def test_postgres_rows_are_scrubbed_and_bounded_like_the_embedded_ones(migrated_url, tmp_path):
    from ops_mcp.audit import AuditRecord

    learned: list[str] = []
    state = open_state(pg_settings(migrated_url, tmp_path))
    try:
        store = state.audit(secrets=["ra_test_SUPERSECRET123"], patterns=[r"\bzz_[a-z0-9]{8,}"],
                            held=lambda: list(learned))
        learned.append("whileRunning-7f3a9c")  # a webhook secret registered after the store opened
        seq = store.append(AuditRecord(
            agent="writer", tool="remote_list_timeoffs", decision="failed",
            error="401: ra_test_SUPERSECRET123, zz_abcdef123456 and whileRunning-7f3a9c rejected; " + "x" * 50_000,
            arguments={"raw": b"\x00", "bad": "\ud800"},
        ))
        db = state.db  # type: ignore[attr-defined]
        ((raw, size),) = db.execute("SELECT record_json, length(record_json) FROM audit").fetchall()
        for secret in ("ra_test_SUPERSECRET123", "zz_abcdef123456", "whileRunning-7f3a9c"):
            assert secret not in raw
        assert size < 64_000
        found = store.entry(seq)
        assert found is not None and found.record.arguments == {"raw": "[1 bytes]", "bad": "\ufffd"}
        assert store.entry(seq + 1) is None and store.verify().ok
    finally:
        state.close()


@pytest.mark.anyio
async def test_a_stalled_postgres_keeps_the_queue_bounded_and_loses_no_record(migrated_url, tmp_path):
    import psycopg

    state = open_state(pg_settings(migrated_url, tmp_path))
    store = state.audit()
    store.capacity = 1
    lock = psycopg.connect(migrated_url)
    lock.execute("SELECT 1 FROM audit_head WHERE id = 1 FOR UPDATE")  # another replica holds the head
    try:
        await writers_give_up_while_the_store_is_stalled(store)
        lock.rollback()
        assert store.count() == 3 and store.verify().ok
    finally:
        lock.close()
        store.close()
        state.close()
