"""Item 6 — webhooks: hostile and repeated deliveries to ``POST /webhooks/remote`` (Remote's HMAC scheme) and
``POST /webhooks/remoteops`` (Standard Webhooks) over real HTTP, then 1,000 valid deliveries in concurrent
bursts with duplicates mixed in. A delivery is identified by its event id (Standard Webhooks) or, for Remote,
which sends none, by the signed message itself: never by its body (issue 12, item 15). What is stored is counted in the server's event store (``events.sqlite3``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from ops_mcp.config import load_settings
from ops_mcp.events.secrets import WebhookSecrets
from ops_mcp.runtime import build_runtime
from ops_mcp.transports.http import create_app
from tests.support.loopback import serving

from .recorder import record
from .rel5_server import write_config
from .volume import volume

pytestmark = pytest.mark.anyio

# Fixed secrets and markers: every run sends the same deliveries (each test has a receiver of its own).
WHSEC = "whsec_" + base64.b64encode(b"reliability-item-6-secret").decode()
REMOTE_KEY = "remote-signing-key-reliability-item-6"
TOLERANCE_S = 300  # both back ends' manifests
VALID = volume(1000, 400)
BURST = 100


# -- signing, as each back end signs ------------------------------------------------------------------------

def standard(secret: str, event_id: str, body: bytes, stamp: int | None = None) -> dict[str, str]:
    stamp = int(time.time()) if stamp is None else stamp
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{event_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return {"webhook-id": event_id, "webhook-timestamp": str(stamp),
            "webhook-signature": "v1," + base64.b64encode(digest).decode(), "content-type": "application/json"}


def remote(key: str, body: bytes, stamp_ms: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time() * 1000) if stamp_ms is None else stamp_ms)
    signature = hmac.new(key.encode(), body + b":" + stamp.encode(), hashlib.sha256).hexdigest()
    return {"x-remote-signature": signature, "x-remote-timestamp": stamp, "content-type": "application/json"}


def remoteops_event(event_id: str, **extra: Any) -> bytes:
    return json.dumps({"id": event_id, "object": "event", "type": "work_order.completed",
                       "timestamp": "2026-11-23T10:00:00Z", "livemode": False,
                       "data": {"object": {"id": f"wo_{event_id}", "status": "completed"}}, **extra}).encode()


def remote_event(marker: str) -> bytes:
    return json.dumps({"event_type": "timeoff.approved", "company_id": "c1", "employment_id": "e1",
                       "timeoff_id": marker}).encode()


# -- the server ---------------------------------------------------------------------------------------------

# Longer than the whole test: an idle keep-alive connection the client pools is never closed by the server
# under it (uvicorn's default is 5 s; between slow bursts on a loaded machine a reused connection could be
# closed as the next request goes out, and the client would see a ReadError for a delivery never answered).
KEEP_ALIVE_S = 600


@contextmanager
def receiver(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """ops-mcp's HTTP app (real uvicorn, loopback) with signing secrets registered for both back ends."""
    config = write_config(tmp_path, {"hr": {"remote.timeoff": "read"}})
    settings = load_settings(config)
    state_dir = settings.state_dir()
    store = WebhookSecrets(state_dir)
    store.put("remote", "acme", REMOTE_KEY, remote_id="cb_1", url="http://127.0.0.1/webhooks/remote")
    store.put("remoteops", "northwind", WHSEC, remote_id="whep_1", url="http://127.0.0.1/webhooks/remoteops")
    runtime = build_runtime(settings)

    def app_for(port: int) -> Any:
        return create_app(runtime, host="127.0.0.1", port=port)

    with serving(make_app=app_for, keep_alive_s=KEEP_ALIVE_S) as served:
        yield served.url, state_dir / "events.sqlite3"


def stored(db: Path) -> list[tuple[str, str, str]]:
    """(backend, event_id, payload) of every stored event, read with plain sqlite3."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT backend, event_id, payload FROM events").fetchall()
    finally:
        conn.close()


def rejections(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT count(*) FROM rejections").fetchone()[0]
    finally:
        conn.close()


# -- hostile and repeated deliveries ------------------------------------------------------------------------

NEW_EVENT = "Remote: identical body, fresh signature (a new event)"

def _attacks(run: str) -> list[tuple[str, str, str, bytes, dict[str, str], set[int]]]:
    """(case, backend, ..., body, headers, acceptable statuses), built fresh so timestamps are current.

    Replays and duplicates refer to the baseline events ``base-{backend}-{i}``, delivered first.
    """
    now, now_ms = int(time.time()), int(time.time() * 1000)
    out: list[tuple[str, str, str, bytes, dict[str, str], set[int]]] = []

    def add(case: str, backend: str, body: bytes, headers: dict[str, str], ok: set[int]) -> None:
        out.append((case, backend, f"/webhooks/{backend}", body, headers, ok))

    for i in range(40):
        body = remoteops_event(f"forged-{run}-{i}")
        other = "whsec_" + base64.b64encode(f"a forger's key {i}".encode()).decode()
        add("forged signature", "remoteops", body, standard(other, f"forged-{run}-{i}", body), {401})
        rbody = remote_event(f"forged-{run}-{i}")
        add("forged signature", "remote", rbody, remote(f"a forger's key {i}", rbody), {401})
    for i in range(20):
        body = remoteops_event(f"tamper-{run}-{i}")
        headers = standard(WHSEC, f"tamper-{run}-{i}", body)
        add("tampered body", "remoteops", body.replace(b"completed", b"cancelled"), headers, {401})
        # The signature of one event id presented with another.
        add("signature for another id", "remoteops", body, {**headers, "webhook-id": f"other-{run}-{i}"}, {401})
        add("signature scheme v2 / bare", "remoteops", body,
            {**headers, "webhook-signature": headers["webhook-signature"].replace("v1,", "v2," if i % 2 else "")},
            {401})
        rbody = remote_event(f"tamper-{run}-{i}")
        rheaders = remote(REMOTE_KEY, rbody)
        add("tampered body", "remote", rbody.replace(b"approved", b"declined"), rheaders, {401})
        add("signature for another timestamp", "remote", rbody,
            {**rheaders, "x-remote-timestamp": str(int(rheaders["x-remote-timestamp"]) + 1)}, {401})
        add("truncated signature", "remote", rbody,
            {**rheaders, "x-remote-signature": rheaders["x-remote-signature"][:32]}, {401})
    for i in range(30):
        age = 301 + i * 97  # from just past the tolerance to about 50 minutes old
        body = remoteops_event(f"stale-{run}-{i}")
        add("stale timestamp", "remoteops", body, standard(WHSEC, f"stale-{run}-{i}", body, now - age), {400})
        rbody = remote_event(f"stale-{run}-{i}")
        add("stale timestamp", "remote", rbody, remote(REMOTE_KEY, rbody, now_ms - age * 1000), {400})
    for i in range(10):
        body = remoteops_event(f"future-{run}-{i}")
        add("future timestamp", "remoteops", body, standard(WHSEC, f"future-{run}-{i}", body, now + 400 + i), {400})
        rbody = remote_event(f"future-{run}-{i}")
        add("future timestamp", "remote", rbody, remote(REMOTE_KEY, rbody, now_ms + (400 + i) * 1000), {400})
    for i, stamp in enumerate(["abc", "1.5e9", "-1", "9" * 17, "", "0x10"]):
        body = remoteops_event(f"badts-{run}-{i}")
        headers = {**standard(WHSEC, f"badts-{run}-{i}", body), "webhook-timestamp": stamp}
        add("malformed timestamp", "remoteops", body, headers, {400})
        rbody = remote_event(f"badts-{run}-{i}")
        add("malformed timestamp", "remote", rbody, {**remote(REMOTE_KEY, rbody), "x-remote-timestamp": stamp},
            {400})
    for i, drop in enumerate(["webhook-id", "webhook-timestamp", "webhook-signature"]):
        body = remoteops_event(f"nohdr-{run}-{i}")
        headers = standard(WHSEC, f"nohdr-{run}-{i}", body)
        headers.pop(drop)
        add("missing header", "remoteops", body, headers, {400})
    for i, drop in enumerate(["x-remote-signature", "x-remote-timestamp"]):
        rbody = remote_event(f"nohdr-{run}-{i}")
        headers = remote(REMOTE_KEY, rbody)
        headers.pop(drop)
        add("missing header", "remote", rbody, headers, {400})
    junk = [b"", b"not json", b"[1, 2, 3]", b'"a string"', b"{", b'{"type": ""}', b'{"data": {}}',
            json.dumps({"type": "x" * 101}).encode(), b"\xff\xfe\x00garbage", b'{"type": 7}']
    for i, body in enumerate(junk):
        add("malformed body (validly signed)", "remoteops", body, standard(WHSEC, f"junk-{run}-{i}", body), {400})
        add("malformed body (validly signed)", "remote", body, remote(REMOTE_KEY, body), {400})
    huge = remoteops_event(f"huge-{run}", padding="x" * (300 * 1024))
    add("oversized body", "remoteops", huge, standard(WHSEC, f"huge-{run}", huge), {413})
    rhuge = json.dumps({"event_type": "timeoff.approved", "padding": "x" * (300 * 1024)}).encode()
    add("oversized body", "remote", rhuge, remote(REMOTE_KEY, rhuge), {413})
    add("unknown back end", "nowhere", b"{}", {"content-type": "application/json"}, {404})
    return out


async def test_forged_stale_replayed_duplicate_and_malformed_deliveries(tmp_path) -> None:
    run = "forgery"
    with receiver(tmp_path) as (base, db):
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            # 30 genuine events per back end: the originals of the replays and duplicates below.
            originals: list[tuple[str, bytes, dict[str, str]]] = []
            for i in range(30):
                body = remoteops_event(f"base-{run}-{i}")
                originals.append(("/webhooks/remoteops", body, standard(WHSEC, f"base-{run}-{i}", body)))
                rbody = remote_event(f"base-{run}-{i}")
                originals.append(("/webhooks/remote", rbody, remote(REMOTE_KEY, rbody)))
            first = [await client.post(path, content=body, headers=headers) for path, body, headers in originals]

            attacks = _attacks(run)
            # The same signed delivery again (a retry, or a replay within the tolerance): acknowledged, not stored.
            for path, body, headers in originals:
                attacks.append(("replay (same signed delivery)", path.rsplit("/", 1)[1], path, body, headers, {200}))
            for i, (path, body, headers) in enumerate(originals):
                if path.endswith("remoteops"):
                    fresh = standard(WHSEC, headers["webhook-id"], body, int(time.time()) + 1 + i % 5)
                    attacks.append(("duplicate (same event id, fresh signature)", "remoteops", path, body, fresh,
                                    {200}))
                else:
                    # Remote bodies carry only ids and no event id: a freshly signed identical body is a new event
                    # (three edits of one time off look exactly like this), so it is stored (issue 12, item 15).
                    fresh = remote(REMOTE_KEY, body, int(time.time() * 1000) + 1 + i)
                    attacks.append((NEW_EVENT, "remote", path, body, fresh, {200}))
            rejected_before = rejections(db)
            answers = [await client.post(path, content=body, headers=headers)
                       for _, _, path, body, headers, _ in attacks]
        rows = stored(db)
        rejected = rejections(db) - rejected_before

    assert all(r.status_code == 200 and r.json() == {"status": "accepted"} for r in first)
    by_case: dict[str, Counter[str]] = {}
    wrong = []
    for (case, _, _, _, _, ok), answer in zip(attacks, answers, strict=True):
        expected = {"status": "accepted" if case == NEW_EVENT else "duplicate"}
        fine = answer.status_code in ok and (answer.status_code != 200 or answer.json() == expected)
        by_case.setdefault(case, Counter())["handled" if fine else "wrong"] += 1
        if not fine:
            wrong.append((case, answer.status_code, answer.text[:100]))
    originals_stored = sum(1 for _, event_id, payload in rows if f"base-{run}-" in event_id + payload)
    new_events = sum(1 for case, *_ in attacks if case == NEW_EVENT)
    acknowledged = ("duplicate", "replay", NEW_EVENT)
    should_reject = sum(1 for case, backend, *_ in attacks
                        if not case.startswith(acknowledged) and backend != "nowhere")
    for case, counts in by_case.items():
        outcome = ("stored as a new event (200 accepted)" if case == NEW_EVENT
                   else "acknowledged (200 duplicate), not stored again" if case.startswith(("duplicate", "replay"))
                   else "rejected (4xx), nothing stored")
        record("6", case, tried=sum(counts.values()), outcome=outcome, passed=counts["wrong"] == 0,
               handled=counts["handled"], wrong=counts["wrong"])
    record("6", "event store after all hostile and repeated deliveries", tried=len(attacks),
           outcome=f"{len(rows)} events stored (the {len(originals)} genuine originals and {new_events} new Remote "
                   f"events with identical bodies); {rejected} rejections logged",
           passed=not wrong and len(rows) == len(originals) + new_events == originals_stored
           and rejected == should_reject,
           events_stored=len(rows), rejections_logged=rejected)
    assert not wrong, wrong[:10]
    assert len(rows) == len(originals) + new_events == originals_stored
    assert rejected == should_reject


# -- 1,000 valid deliveries in concurrent bursts -----------------------------------------------------------

async def test_1000_valid_deliveries_in_bursts_are_stored_exactly_once(tmp_path) -> None:
    run = "bursts"
    # Each event once; every third also re-delivered (fresh signature), half of those within the same burst.
    plan: list[list[tuple[str, int, int]]] = [[] for _ in range(VALID // BURST)]
    for i in range(VALID):
        backend = "remoteops" if i % 2 else "remote"
        burst = i // BURST
        plan[burst].append((backend, i, 0))
        if i % 3 == 0:
            again = burst if i % 6 == 0 or burst + 1 == len(plan) else burst + 1
            plan[again].append((backend, i, 1))
    deliveries = sum(len(b) for b in plan)
    outcomes: Counter[str] = Counter()

    signed: dict[int, dict[str, str]] = {}

    def delivery(backend: str, i: int, attempt: int) -> tuple[str, bytes, dict[str, str]]:
        if backend == "remoteops":
            # A retry keeps the event id (webhook-id) and is signed afresh.
            body = remoteops_event(f"burst-{run}-{i}")
            return "/webhooks/remoteops", body, standard(WHSEC, f"burst-{run}-{i}", body, int(time.time()) + attempt)
        # Remote sends no event id: a re-delivery the receiver can recognise repeats the signed message itself.
        body = remote_event(f"burst-{run}-{i}")
        return "/webhooks/remote", body, signed.setdefault(i, remote(REMOTE_KEY, body))

    with receiver(tmp_path) as (base, db):
        limits = httpx.Limits(max_connections=BURST, max_keepalive_connections=BURST)
        started = time.perf_counter()
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:

            async def send(backend: str, i: int, attempt: int) -> None:
                path, body, headers = delivery(backend, i, attempt)
                answer = await client.post(path, content=body, headers=headers)
                outcomes[answer.json().get("status", f"http {answer.status_code}")
                         if answer.status_code == 200 else f"http {answer.status_code}"] += 1

            for burst in plan:
                async with anyio.create_task_group() as tasks:
                    for backend, i, attempt in burst:
                        tasks.start_soon(send, backend, i, attempt)
        elapsed = time.perf_counter() - started
        rows = stored(db)

    mine = Counter()
    for _, _, payload in rows:
        data = json.loads(payload)
        marker = data.get("timeoff_id") or data.get("id")
        if isinstance(marker, str) and marker.startswith(f"burst-{run}-"):
            mine[marker] += 1
    once = sum(1 for n in mine.values() if n == 1)
    duplicates = deliveries - VALID
    passed = (once == VALID == len(mine) == len(rows) and outcomes["accepted"] == VALID
              and outcomes["duplicate"] == duplicates)
    record("6", f"{VALID:,} valid deliveries in bursts of {BURST} concurrent, plus {duplicates} re-deliveries",
           tried=deliveries, outcome=f"{once}/{VALID} events stored exactly once; "
                                     f"{outcomes['duplicate']} re-deliveries acknowledged as duplicates",
           passed=passed, events_stored=len(rows), answers=json.dumps(dict(outcomes), sort_keys=True),
           deliveries_per_second=round(deliveries / elapsed), seconds=round(elapsed, 1))
    assert outcomes["accepted"] == VALID, outcomes
    assert outcomes["duplicate"] == duplicates, outcomes
    assert len(mine) == VALID and once == VALID, Counter(mine.values())
    assert len(rows) == VALID
