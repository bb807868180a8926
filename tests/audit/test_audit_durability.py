"""Several processes, a SIGKILL mid-write, a long run of appends, and a store carried across fork().

Writers run as real subprocesses (tests/audit/_writer.py) so that SQLite's cross-process locking,
not our in-process lock, is what is being tested.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import ops_mcp
from ops_mcp.audit import AuditRecord, AuditStore, redact
from ops_mcp.audit.store import COLUMNS

WRITER = Path(__file__).with_name("_writer.py")


def _env() -> dict[str, str]:
    # The subprocesses must import the same ops_mcp as this test, installed or not.
    src = str(Path(ops_mcp.__file__).resolve().parents[1])
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}


def _spawn(db: Path, count: int, agent: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WRITER), str(db), str(count), agent],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_appends(proc: subprocess.Popen[str], lines: int) -> None:
    """Read the writer's progress until it has reported ``lines`` more batches of ten appends."""
    assert proc.stdout is not None
    for _ in range(lines):
        line = proc.stdout.readline()
        assert line.startswith("appended "), f"writer stopped early: {line!r} {proc.stderr.read() if proc.stderr else ''}"


def _assert_rows_complete(db: Path) -> int:
    """Every row is whole: all chain fields present and every column equal to the sealed JSON."""
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = conn.execute(
        f"SELECT seq, {', '.join(COLUMNS)}, record_json, prev_hash, hash FROM audit"
    ).fetchall()
    for row in rows:
        data = json.loads(row[-3])
        assert data["seq"] == row[0]
        assert len(row[-2]) == 64 and len(row[-1]) == 64
        assert data["sentence"] and data["arguments"]["note"].endswith("chars]")
    conn.close()
    return len(rows)


def test_four_processes_append_to_one_file(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    AuditStore(db).close()  # create the schema once, so the race is about appends only
    procs = [_spawn(db, 250, f"agent-{i}") for i in range(4)]
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    with AuditStore(db) as store:
        assert store.count() == 1000
        result = store.verify()
        assert result.ok and result.checked == 1000, result
        for i in range(4):
            assert len(store.search(agent=f"agent-{i}", limit=1000)) == 250
        assert [e.seq for e in store.tail(1000)] == list(range(1, 1001))


def test_sigkill_mid_append_leaves_no_partial_record(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    AuditStore(db).close()
    for round_ in range(3):
        # Two writers contending for the lock, killed at slightly different moments.
        procs = [_spawn(db, -1, f"victim-{round_}-{i}") for i in range(2)]
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        # Kill once each has committed a few more records (more each round), while it keeps appending.
        for i, p in enumerate(procs):
            _wait_for_appends(p, 2 + round_ + i)
            p.send_signal(signal.SIGKILL)
        for p in procs:
            p.communicate(timeout=10)
            assert p.returncode == -signal.SIGKILL

        with AuditStore(db) as store:
            result = store.verify()
            assert result.ok, result
            rows = _assert_rows_complete(db)
            assert rows == store.count() == result.checked
            # And the log keeps going from where it stopped.
            seq = store.append(
                AuditRecord(agent="after", tool="t", decision="allowed", arguments={"note": "ok…[x chars]"})
            )
            assert seq == rows + 1
            assert store.verify().ok


def test_a_long_run_of_redacted_appends_keeps_a_verifiable_chain(
    tmp_path: Path, record: Callable[..., AuditRecord]
) -> None:
    """What the old in-test micro-benchmark also checked: many appends of redacted write records, in
    order, leave a chain that verifies and one row per record. (Its timing moved to
    ``benchmarks/audit_append.py``.)"""
    n = 300
    with AuditStore(tmp_path / "audit.db") as store:
        for i in range(n):
            seq = store.append(
                record(target_ids={"timeoff_id": f"to_{i}", "employment_id": "em_9"},
                       arguments=redact({"timeoff_id": f"to_{i}", "work_email": "a@b.c", "note": "n"}))
            )  # fmt: skip
            assert seq == i + 1
        result = store.verify()
        assert result.ok, result
        assert store.count() == result.checked == n
        assert "a@b.c" not in json.dumps([entry.record.arguments for entry in store.search(limit=n)])


def test_store_survives_fork(tmp_path: Path, record: Callable[..., AuditRecord]) -> None:
    """A store opened before fork() (pre-fork servers, multiprocessing) reconnects in the child."""
    with AuditStore(tmp_path / "audit.db") as store:
        store.append(record())
        pid = os.fork()
        if pid == 0:  # child: never return into pytest
            code = 1
            try:
                for _ in range(50):
                    store.append(record(agent="child"))
                code = 0
            finally:
                os._exit(code)
        for _ in range(50):
            store.append(record(agent="parent"))
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert store.count() == 101
        assert len(store.search(agent="child")) == 50
        assert store.verify().ok
