"""The SQLite store: append, query, and a hash chain that notices hand edits."""

from __future__ import annotations

import json
import math
import sqlite3
import stat
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from ops_mcp.audit import AuditRecord, AuditStore, parse_since, redact
from ops_mcp.audit.store import GENESIS, canonical_json, chain_hash

Make = Callable[..., AuditRecord]


def fill(store: AuditStore, record: Make, n: int = 10) -> None:
    for i in range(n):
        store.append(record(ts=1000.0 + i, target_ids={"timeoff_id": f"to_{i}"}, agent=f"a{i % 2}"))


def tamper(store: AuditStore, sql: str, *params: object) -> None:
    """Edit the file by hand, as someone with the sqlite3 shell would."""
    with sqlite3.connect(store.path) as conn:
        conn.execute(sql, params)


# -- basics -------------------------------------------------------------------------------------


def test_append_and_read_back(store: AuditStore, record: Make) -> None:
    rec = record()
    assert store.append(rec) == 1
    assert store.append(record(decision="denied")) == 2
    assert store.count() == 2
    assert rec.sentence.startswith("people-ops approved time off to_123")  # filled by append
    first = store.tail(5)[0]
    assert first.seq == 1 and len(first.hash) == 64
    assert first.record == rec


def test_file_setup(tmp_path: Path, record: Make) -> None:
    path = tmp_path / "a" / "b" / "audit.db"
    with AuditStore(path) as store:
        store.append(record())
        db = sqlite3.connect(path)
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        db.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_chain_links(store: AuditStore, record: Make) -> None:
    fill(store, record, 3)
    rows = (
        sqlite3.connect(store.path).execute("SELECT seq, record_json, prev_hash, hash FROM audit").fetchall()
    )
    prev = GENESIS
    for seq, record_json, prev_hash, digest in rows:
        assert prev_hash == prev
        assert json.loads(record_json)["seq"] == seq
        assert digest == chain_hash(prev, record_json)
        assert canonical_json(json.loads(record_json)) == record_json
        prev = digest
    assert store.head() == (3, prev)


def test_tail_and_search(store: AuditStore, record: Make) -> None:
    fill(store, record, 10)
    store.append(record(ts=2000.0, decision="denied", tool="remoteops_issue_invoice", agent="dispatch-bot"))
    assert [e.seq for e in store.tail(3)] == [9, 10, 11]
    assert [e.seq for e in store.search(agent="a0")] == [1, 3, 5, 7, 9]
    assert [e.seq for e in store.search(agent="a0", limit=2)] == [7, 9]  # most recent, oldest first
    assert [e.seq for e in store.search(decision="denied")] == [11]
    assert [e.seq for e in store.search(tool="remoteops_issue_invoice")] == [11]
    assert [e.seq for e in store.search(since=1005.0, until=1008.0)] == [6, 7, 8]
    assert store.search(agent="nobody") == []
    with pytest.raises(ValueError, match="unknown decision"):
        store.search(decision="yes")


def test_reopen_continues_chain(tmp_path: Path, record: Make) -> None:
    path = tmp_path / "audit.db"
    with AuditStore(path) as s:
        fill(s, record, 3)
    with AuditStore(path) as s:
        assert s.append(record()) == 4
        assert s.verify().ok


def test_secrets_scrubbed_from_every_field(tmp_path: Path, record: Make) -> None:
    secret = "ra_test_SUPERSECRET123"
    with AuditStore(tmp_path / "audit.db", secrets=[secret]) as s:
        s.append(record(decision="failed", error=f"401: token {secret} rejected", upstream_request_id=secret))
        assert s.verify().ok
    assert secret.encode() not in (tmp_path / "audit.db").read_bytes() + _wal(tmp_path / "audit.db")


def _wal(path: Path) -> bytes:
    wal = path.with_name(path.name + "-wal")
    return wal.read_bytes() if wal.exists() else b""


def test_odd_values_still_stored(store: AuditStore, record: Make) -> None:
    rec = record(
        duration_ms=math.nan,
        arguments={"raw": b"\x00", "s": {"x"}, "bad": "\ud800"},  # caller forgot to redact
        target_ids={"id": "wo_\n1"},
        error="x" * 10_000,
    )
    store.append(rec)
    assert store.verify().ok
    assert store.tail(1)[0].record.arguments == {"raw": "[1 bytes]", "s": ["x"], "bad": "\ufffd"}


def test_threads_share_one_store(store: AuditStore, record: Make) -> None:
    def work() -> None:
        for _ in range(100):
            store.append(record(arguments=redact({"n": 1})))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.count() == 800
    assert store.verify() == store.verify().__class__(True, 800)


def test_closed_store_refuses(tmp_path: Path, record: Make) -> None:
    s = AuditStore(tmp_path / "audit.db")
    s.close()
    s.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        s.append(record())


# -- tamper evidence ----------------------------------------------------------------------------


def test_verify_ok(store: AuditStore, record: Make) -> None:
    assert store.verify().ok and store.verify().checked == 0  # empty log
    fill(store, record, 10)
    result = store.verify()
    assert result.ok and result.checked == 10 and result.first_bad_seq is None and result.reason is None


@pytest.mark.parametrize(
    ("sql", "params"),
    [
        ("UPDATE audit SET decision = ? WHERE seq = 4", ("denied",)),
        ("UPDATE audit SET sentence = ? WHERE seq = 4", ("nothing happened",)),
        ("UPDATE audit SET arguments = ? WHERE seq = 4", ('{"timeoff_id":"to_x"}',)),
        ("UPDATE audit SET ts = ts + ? WHERE seq = 4", (1,)),
        ("UPDATE audit SET record_json = replace(record_json, 'allowed', ?) WHERE seq = 4", ("denied",)),
        ("UPDATE audit SET hash = ? WHERE seq = 4", ("f" * 64,)),
    ],
)
def test_edited_row_detected(store: AuditStore, record: Make, sql: str, params: tuple) -> None:
    fill(store, record, 10)
    tamper(store, sql, *params)
    result = store.verify()
    assert not result.ok
    assert (result.first_bad_seq, result.checked) == (4, 3)
    assert "record 4" in (result.reason or "")


def test_edit_with_recomputed_hash_breaks_next_link(store: AuditStore, record: Make) -> None:
    fill(store, record, 10)
    prev, record_json = (
        sqlite3.connect(store.path)
        .execute("SELECT prev_hash, record_json FROM audit WHERE seq = 4")
        .fetchone()
    )
    forged = record_json.replace('"allowed"', '"denied"')
    tamper(
        store,
        "UPDATE audit SET record_json = ?, decision = 'denied', hash = ? WHERE seq = 4",
        forged,
        chain_hash(prev, forged),
    )
    result = store.verify()
    assert (result.ok, result.first_bad_seq) == (False, 5)
    assert "chain broken" in (result.reason or "")


def test_deleted_row_detected(store: AuditStore, record: Make) -> None:
    fill(store, record, 10)
    tamper(store, "DELETE FROM audit WHERE seq = 6")
    result = store.verify()
    assert (result.ok, result.first_bad_seq, result.checked) == (False, 6, 5)
    assert "missing" in (result.reason or "")


def test_deleted_first_row_detected(store: AuditStore, record: Make) -> None:
    fill(store, record, 5)
    tamper(store, "DELETE FROM audit WHERE seq = 1")
    assert store.verify().first_bad_seq == 1


def test_deleted_and_renumbered_rows_detected(store: AuditStore, record: Make) -> None:
    fill(store, record, 10)
    tamper(store, "DELETE FROM audit WHERE seq = 6")
    tamper(store, "UPDATE audit SET seq = seq - 1 WHERE seq > 6")
    tamper(store, "UPDATE audit_head SET seq = 9")
    result = store.verify()
    assert (result.ok, result.first_bad_seq) == (False, 6)


def test_reordered_rows_detected(store: AuditStore, record: Make) -> None:
    fill(store, record, 10)
    tamper(store, "UPDATE audit SET seq = -1 WHERE seq = 3")
    tamper(store, "UPDATE audit SET seq = 3 WHERE seq = 4")
    tamper(store, "UPDATE audit SET seq = 4 WHERE seq = -1")
    result = store.verify()
    assert (result.ok, result.first_bad_seq) == (False, 3)


def test_tampered_last_row_detected(store: AuditStore, record: Make) -> None:
    fill(store, record, 10)
    tamper(store, "UPDATE audit SET sentence = 'a0 viewed nothing' WHERE seq = 10")
    result = store.verify()
    assert (result.ok, result.first_bad_seq) == (False, 10)


def test_last_row_rewritten_with_valid_hash_detected_by_head(store: AuditStore, record: Make) -> None:
    fill(store, record, 10)
    prev, record_json = (
        sqlite3.connect(store.path)
        .execute("SELECT prev_hash, record_json FROM audit WHERE seq = 10")
        .fetchone()
    )
    forged = record_json.replace('"allowed"', '"denied"')
    tamper(
        store,
        "UPDATE audit SET record_json = ?, decision = 'denied', hash = ? WHERE seq = 10",
        forged,
        chain_hash(prev, forged),
    )
    result = store.verify()
    assert (result.ok, result.first_bad_seq) == (False, 10)
    assert "head" in (result.reason or "")


def test_truncated_tail_detected(store: AuditStore, record: Make) -> None:
    fill(store, record, 10)
    tamper(store, "DELETE FROM audit WHERE seq >= 8")
    result = store.verify()
    assert (result.ok, result.first_bad_seq, result.checked) == (False, 8, 7)
    assert "truncated" in (result.reason or "")
    # Appending afterwards does not paper over the cut: the new row continues from the head.
    store.append(record())
    assert store.verify().first_bad_seq == 8


def test_all_rows_deleted_detected(store: AuditStore, record: Make) -> None:
    fill(store, record, 3)
    tamper(store, "DELETE FROM audit")
    assert not store.verify().ok


def test_head_deleted_detected(store: AuditStore, record: Make) -> None:
    fill(store, record, 3)
    tamper(store, "DELETE FROM audit_head")
    assert not store.verify().ok


# -- parse_since --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ago"), [("15m", 900), ("2h", 7200), ("3d", 259200), ("1w", 604800), ("30s", 30)]
)
def test_parse_since_relative(text: str, ago: float) -> None:
    assert parse_since(text, now=1_000_000.0) == 1_000_000.0 - ago


def test_parse_since_absolute() -> None:
    assert parse_since("2026-05-01T09:00:00Z") == 1777626000.0
    assert parse_since("2026-05-01T11:00:00+02:00") == 1777626000.0
    assert isinstance(parse_since("2026-05-01"), float)


@pytest.mark.parametrize("text", ["", "soon", "15x", "-3d"])
def test_parse_since_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="15m"):
        parse_since(text)
