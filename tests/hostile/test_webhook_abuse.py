"""Webhooks under abuse (issue 12, items 14 and 15): forged deliveries cost a bounded amount, however many;
genuine events with identical bodies are all kept, and a repeated delivery is acknowledged but stored once.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sqlite3
import time
from pathlib import Path

import anyio
import httpx
import pytest

from ops_mcp.cli import main as cli_main
from ops_mcp.config import load_settings
from ops_mcp.events.secrets import WebhookSecrets
from ops_mcp.events.store import EventStore
from tests.server_http._support import connected, issue_token, serve
from tests.server_http.test_webhooks_receiver import REMOTE_KEY, WHSEC, remote_headers, standard_headers

pytestmark = pytest.mark.anyio


def _register(config: Path) -> Path:
    state_dir = load_settings(config).state_dir()
    store = WebhookSecrets(state_dir)
    store.put("remoteops", "northwind", WHSEC, remote_id="whep_1", url="http://127.0.0.1/webhooks/remoteops")
    store.put("remote", "acme", REMOTE_KEY, remote_id="cb_1", url="http://127.0.0.1/webhooks/remote")
    return state_dir / "events.sqlite3"


def _rows(db: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


# -- item 14: forged deliveries are bounded -------------------------------------------------------------------

def test_the_rejection_window_is_pruned_on_insert_and_totals_keep_counting(tmp_path):
    store = EventStore(tmp_path / "events.sqlite3", recent_rejections=50)
    for i in range(400):
        store.reject("remote", "bad_signature", "signature does not verify", remote_addr="10.0.0.1", now=1000.0 + i)
    for i in range(100):
        store.reject("remoteops", "stale", f"stale timestamp ({300 + i} s off)", event_id=f"evt_{i}", now=2000.0 + i)
    recent = store.rejections(1000)
    totals = {(t["backend"], t["kind"]): t for t in store.rejection_totals()}
    rows = _rows(tmp_path / "events.sqlite3", "SELECT count(*) FROM rejections")[0][0]
    store.close()

    assert rows == len(recent) == 50
    assert recent[0]["event_id"] == "evt_99" and recent[-1]["event_id"] == "evt_50"  # the newest 50
    assert totals[("remote", "bad_signature")]["count"] == 400
    assert totals[("remoteops", "stale")]["count"] == 100
    assert totals[("remoteops", "stale")]["last_reason"] == "stale timestamp (399 s off)"


async def test_a_flood_of_forged_deliveries_stays_bounded_and_status_still_tells(hostile_config, caplog, capsys):
    config = hostile_config()
    db = _register(config)
    caplog.set_level(logging.INFO, logger="ops_mcp.webhooks")
    forged = 1100
    with serve(config) as served:
        async with httpx.AsyncClient(base_url=served.base, timeout=30) as client:
            body = b'{"event_type":"timeoff.approved","company_id":"c1","timeoff_id":"t1"}'
            for _ in range(forged):
                answer = await client.post("/webhooks/remote", content=body,
                                           headers=remote_headers(secrets.token_hex(8), body))
                assert answer.status_code == 401
    window = _rows(db, "SELECT count(*) FROM rejections")[0][0]
    counted = _rows(db, "SELECT count FROM rejection_counts WHERE backend = 'remote' AND kind = 'bad_signature'")
    logged = [r for r in caplog.records if r.name == "ops_mcp.webhooks" and "rejected" in r.getMessage()]
    assert cli_main(["webhooks", "status", "--config", str(config)]) == 0
    shown = capsys.readouterr().out

    assert window == 1000  # the recent window, not one row per forged delivery
    assert counted == [(forged,)]
    assert len(logged) < 20  # one line per kind and interval, each saying how many were held back
    assert re.search(rf"remote\s+bad_signature\s+{forged}\s+last ", shown), shown
    assert shown.count("rejected remote delivery from 127.0.0.1") == 20


# -- item 15: deliveries, not bodies ------------------------------------------------------------------------

async def test_three_edits_with_identical_bodies_are_three_events_and_a_repeat_is_one(hostile_config):
    config = hostile_config()
    db = _register(config)
    body = json.dumps({"event_type": "timeoff.updated", "company_id": "c1", "employment_id": "e1",
                       "timeoff_id": "t1"}).encode()
    now_ms = int(time.time() * 1000)
    edits = [remote_headers(REMOTE_KEY, body, now_ms + i) for i in range(3)]
    with serve(config) as served:
        url = served.base + "/webhooks/remote"
        answers = [httpx.post(url, content=body, headers=h).json() for h in edits]
        # The second delivery again, byte for byte (a retry whose answer was lost): acknowledged, not stored.
        repeat = httpx.post(url, content=body, headers=edits[1])
    stored = _rows(db, "SELECT type, event_id FROM events WHERE backend = 'remote'")

    assert answers == [{"status": "accepted"}] * 3
    assert repeat.status_code == 200 and repeat.json() == {"status": "duplicate"}
    assert [t for t, _ in stored] == ["timeoff.updated"] * 3
    assert len({event_id for _, event_id in stored}) == 3


async def test_an_event_id_identifies_a_delivery_whatever_its_body(hostile_config):
    config = hostile_config()
    db = _register(config)
    body = json.dumps({"type": "work_order.updated", "data": {"object": {"id": "wo_1"}}}).encode()
    with serve(config) as served:
        url = served.base + "/webhooks/remoteops"
        first = httpx.post(url, content=body, headers=standard_headers(WHSEC, "evt_1", body))
        retry = httpx.post(url, content=body, headers=standard_headers(WHSEC, "evt_1", body, int(time.time()) + 2))
        other = httpx.post(url, content=body, headers=standard_headers(WHSEC, "evt_2", body))
    stored = _rows(db, "SELECT event_id FROM events WHERE backend = 'remoteops' ORDER BY seq")

    assert [first.json(), retry.json(), other.json()] == [
        {"status": "accepted"}, {"status": "duplicate"}, {"status": "accepted"}]
    assert stored == [("evt_1",), ("evt_2",)]


async def test_three_edits_of_one_time_off_in_the_sandbox_arrive_as_three_events(hostile_config):
    """End to end: hr edits one time off three times in a row; the embedded sandbox delivers three
    timeoff.updated webhooks whose bodies are identical (ids only); all three are stored."""
    config = hostile_config()
    hr = issue_token(config, "hr")
    with serve(config, register_webhooks=True) as served:
        async with connected(served.base, hr, mode="2026-07-28") as client:
            listed = (await client.call_tool("remote_list_timeoff", {"status": "requested"})).structured_content
            timeoff = listed["timeoffs"][0]["id"]
            for n in range(3):
                edited = await client.call_tool("remote_update_timeoff", {
                    "id": timeoff, "notes": f"edit {n}", "edit_reason": "the employee asked",
                    "cancel_reason": "not a cancellation"})
                assert not edited.is_error, edited.content
            store = served.state.runtime.events
            with anyio.fail_after(30):
                while len(updates := [e for e in store.query([("remote.timeoff", "acme")], types=["timeoff.updated"])
                                      if e.payload.get("timeoff_id") == timeoff]) < 3:
                    await anyio.sleep(0.05)

    assert len(updates) == 3
    assert len({json.dumps(e.payload, sort_keys=True) for e in updates}) == 1  # one body, three events
