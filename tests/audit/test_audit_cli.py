"""The text behind `ops-mcp audit tail | search | verify`."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable

from ops_mcp.audit import AuditRecord, AuditStore
from ops_mcp.cli import audit as cli

Make = Callable[..., AuditRecord]


def test_tail_human(store: AuditStore, record: Make) -> None:
    assert cli.tail(store, 5) == "the audit log is empty"
    store.append(record(ts=1777626000.0))
    store.append(record(ts=1777626001.0, decision="denied"))
    lines = cli.tail(store, 5).splitlines()
    assert lines[0] == (
        "2026-05-01T09:00:00Z  #1  people-ops approved time off to_123 for employment em_9 "
        "in Remote (Acme GmbH): allowed, 200, 84 ms"
    )
    assert lines[1].startswith("2026-05-01T09:00:01Z  #2  people-ops tried to approve")
    assert len(cli.tail(store, 1).splitlines()) == 1


def test_tail_json(store: AuditStore, record: Make) -> None:
    assert cli.tail(store, 5, as_json=True) == ""
    store.append(record())
    line = json.loads(cli.tail(store, 5, as_json=True))
    assert line["seq"] == 1 and line["agent"] == "people-ops" and len(line["hash"]) == 64
    assert line["target_ids"] == {"timeoff_id": "to_123", "employment_id": "em_9"}


def test_search(store: AuditStore, record: Make) -> None:
    store.append(record(ts=1.0))
    store.append(record(agent="dispatch-bot", decision="denied"))
    out = cli.search(store, agent="dispatch-bot", since="1h")
    assert out.count("\n") == 0 and "dispatch-bot tried to approve" in out
    assert cli.search(store, agent="nobody") == "no audit records match"
    assert len(cli.search(store, as_json=True).splitlines()) == 2
    assert cli.search(store, until=2.0).count("#1") == 1


def test_verify_messages(store: AuditStore, record: Make) -> None:
    for _ in range(3):
        store.append(record())
    ok, message = cli.verify(store)
    assert ok and "3 records" in message and "OK" in message
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE audit SET decision = 'denied' WHERE seq = 2")
    ok, message = cli.verify(store)
    assert not ok and "record 2" in message and "TAMPERED" in message
