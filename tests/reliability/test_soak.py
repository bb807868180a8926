"""Item 7 — soak: mixed calls over HTTP for 10 minutes (``OPS_MCP_SOAK_SECONDS`` to shorten a check run).

Not part of ``make test``: run with ``make soak``. ``ops-mcp serve --transport http`` runs as a subprocess
against an ``ops-mcp sandbox`` process (configured as real back ends are), so the RSS measured is ops-mcp's own
and not the emulator's growing store. Several MCP sessions (both eras, reconnecting every 100 calls) make
reads and writes on both back ends, invalid and refused calls and tool listings, and signed webhooks arrive
alongside. Per window (a minute in the full run): calls, unexpected outcomes, latency and server RSS.

Checked: the error rate does not grow (last third of the run against the first third after warm-up), and the
server's RSS grows by at most 5 MB after warm-up.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import statistics
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from ops_mcp.config import load_settings
from ops_mcp.events.secrets import WebhookSecrets

from .recorder import record
from .rel5_server import ServerProcess, add_agent_token, call_text, http_session, ops_mcp_cli, write_config

SOAK_SECONDS = float(os.environ.get("OPS_MCP_SOAK_SECONDS", "600"))
WINDOW_S = 60.0 if SOAK_SECONDS >= 300 else max(5.0, SOAK_SECONDS / 5)
WARMUP_S = WINDOW_S  # the first window: imports, pools, caches and SQLite page caches fill up
RSS_GROWTH_LIMIT_MB = 5.0
SESSIONS = 4
CALLS_PER_SESSION = 100  # then the session closes and a new one opens
ERAS = ("legacy", "2026-07-28")
AREAS = {"remote.employments": "read", "remote.timeoff": "full",
         "remoteops.customers": "full", "remoteops.work_orders": "full"}
WHSEC = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()

pytestmark = [pytest.mark.soak, pytest.mark.anyio, pytest.mark.timeout(int(SOAK_SECONDS) + 300)]


class Mix:
    """The calls of a soak, in a fixed rotation; each says whether it should succeed."""

    def __init__(self, ids: dict[str, Any], run: str) -> None:
        self.ids = ids
        self.run = run
        self.n = 0
        self.day0 = date.today() + timedelta(days=3000)

    def next(self) -> tuple[str, str, dict[str, Any], bool]:
        """(kind, tool, arguments, should succeed); kind is "call", "list" or "webhook"."""
        n, ids = self.n, self.ids
        self.n += 1
        slot = n % 20
        pick = ids["employments"][n % len(ids["employments"])]
        reads = [
            ("remote_list_employments", {"page_size": 5}), ("remote_get_employment", {"employment_id": pick}),
            ("remote_list_timeoff", {"page_size": 5}), ("remoteops_list_customers", {"limit": 5}),
            ("remoteops_get_customer", {"customer_id": ids["customers"][n % len(ids["customers"])]}),
            ("remoteops_list_work_orders", {"limit": 5}),
            ("remoteops_get_work_order", {"work_order_id": ids["work_orders"][n % len(ids["work_orders"])]}),
            ("remoteops_list_sites", {"limit": 5}), ("remote_list_timeoff_types", {}),
            ("remoteops_list_technicians", {"limit": 5}), ("remoteops_list_customers", {"q": "a", "limit": 3}),
            ("remote_list_employments", {"page_size": 2, "page": 2}),
        ]
        if slot < len(reads):
            return ("call", *reads[slot], True)
        if slot == 12:
            return "call", "remoteops_create_customer", {"type": "business", "name": f"Soak {self.run}-{n}"}, True
        if slot == 13:
            site, customer = ids["sites"][n % len(ids["sites"])]
            return "call", "remoteops_create_work_order", {"customer_id": customer, "site_id": site,
                                                           "summary": f"Soak check {self.run}-{n}"}, True
        if slot == 14:
            employments = ids["employments"]
            day = (self.day0 + timedelta(days=n // 20 // len(employments) * 2)).isoformat()
            return "call", "remote_create_timeoff", {
                "employment_id": employments[n // 20 % len(employments)], "start_date": day, "end_date": day,
                "timezone": "Europe/Lisbon", "timeoff_type": "paid_time_off", "timeoff_days": [{"day": day, "hours": 8}],
                "status": "approved", "approver_id": ids["approver"],
                "approved_at": f"{date.today().isoformat()}T09:00:00Z", "notes": f"soak {self.run}-{n}"}, True
        if slot == 15:
            return "call", "remote_list_timeoff", {"status": "on_holiday"}, False  # invalid arguments
        if slot == 16:
            return "call", "remote_create_employment", {"country_code": "PRT"}, False  # outside the policy
        if slot == 17:
            return "list", "", {}, True
        if slot == 18:
            return "webhook", "", {"id": f"evt_soak_{self.run}_{n}"}, True
        return "call", "remoteops_get_customer", {"customer_id": "cus_doesnotexist0"}, False  # upstream 404


def _signed(event_id: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"id": event_id, "object": "event", "type": "work_order.completed",
                       "timestamp": "2026-11-23T10:00:00Z", "data": {"object": {"id": "wo_soak"}}}).encode()
    stamp = int(time.time())
    key = base64.b64decode(WHSEC.removeprefix("whsec_"))
    digest = hmac.new(key, f"{event_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return body, {"webhook-id": event_id, "webhook-timestamp": str(stamp),
                  "webhook-signature": "v1," + base64.b64encode(digest).decode(), "content-type": "application/json"}


async def _ids(base: str, token: str) -> dict[str, Any]:
    async with http_session(base, token) as client:
        async def get(tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
            result = await client.call_tool(tool, arguments)
            assert not result.is_error, call_text(result)
            return result.structured_content

        employments = await get("remote_list_employments", {"status": "active", "page_size": 20})
        approved = await get("remote_list_timeoff", {"status": "approved", "page_size": 20})
        customers = await get("remoteops_list_customers", {"limit": 10})
        sites = await get("remoteops_list_sites", {"limit": 10})
        orders = await get("remoteops_list_work_orders", {"limit": 10})
    return {"employments": [e["id"] for e in employments["employments"]],
            "approver": next(t["approver_id"] for t in approved["timeoffs"] if t.get("approver_id")),
            "customers": [c["id"] for c in customers["data"]],
            "sites": [(s["id"], s["customer_id"]) for s in sites["data"]],
            "work_orders": [w["id"] for w in orders["data"]]}


class Windows:
    """Per-window tallies: calls, unexpected outcomes, latencies; RSS samples with their times."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.calls: Counter[int] = Counter()
        self.errors: Counter[int] = Counter()
        self.latency: dict[int, list[float]] = {}
        self.rss: list[tuple[float, int]] = []
        self.examples: list[str] = []

    def index(self, at: float) -> int:
        return int((at - self.started) // WINDOW_S)

    def add(self, at: float, seconds: float, ok: bool, what: str) -> None:
        w = self.index(at)
        self.calls[w] += 1
        self.latency.setdefault(w, []).append(seconds)
        if not ok:
            self.errors[w] += 1
            if len(self.examples) < 10:
                self.examples.append(what[:200])


async def test_soak_mixed_http_calls(tmp_path: Path) -> None:
    run = secrets.token_hex(3)
    (tmp_path / "sandbox").mkdir()
    sandbox_config = write_config(tmp_path / "sandbox", {},
                                  sandbox="remote_rate_limit = 100000000\nremoteops_rate_limit = 100000000")
    sandbox = ServerProcess(sandbox_config, tmp_path / "sandbox.log", command="sandbox").start()
    config = write_config(tmp_path, {"soak": AREAS}, upstream=sandbox.base)
    token = add_agent_token(config, "soak")
    WebhookSecrets(load_settings(config).state_dir()).put(
        "remoteops", "northwind", WHSEC, remote_id="whep_soak", url="http://127.0.0.1/webhooks/remoteops")
    server = ServerProcess(config, tmp_path / "server.log").start()
    try:
        ids = await _ids(server.base, token)
        started = time.monotonic()
        until = started + SOAK_SECONDS
        windows = Windows(started)
        mix = Mix(ids, run)

        async def sample_rss() -> None:
            while time.monotonic() < until:
                windows.rss.append((time.monotonic(), server.rss_kb()))
                await anyio.sleep(2)

        async def session_loop(number: int) -> None:
            generation = 0
            async with httpx.AsyncClient(base_url=server.base, timeout=30) as hooks:
                while time.monotonic() < until:
                    try:
                        async with http_session(server.base, token, mode=ERAS[(number + generation) % 2]) as client:
                            for _ in range(CALLS_PER_SESSION):
                                if time.monotonic() >= until:
                                    break
                                await _one(client, hooks, mix.next())
                    except Exception as exc:  # a broken session is an error of its window; reconnect
                        windows.add(time.monotonic(), 0.0, False, f"session: {exc!r}")
                    generation += 1

        async def _one(client: Any, hooks: httpx.AsyncClient, job: tuple[str, str, dict[str, Any], bool]) -> None:
            kind, tool, arguments, should = job
            t0 = time.monotonic()
            if kind == "list":
                ok = len((await client.list_tools()).tools) > 0
                what = "list_tools"
            elif kind == "webhook":
                body, headers = _signed(arguments["id"])
                answer = await hooks.post("/webhooks/remoteops", content=body, headers=headers)
                ok = answer.status_code == 200 and answer.json() == {"status": "accepted"}
                what = f"webhook {answer.status_code} {answer.text[:80]}"
            else:
                result = await client.call_tool(tool, arguments)
                ok = (not result.is_error) == should
                what = f"{tool}: {call_text(result)}"
            windows.add(t0, time.monotonic() - t0, ok, what)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(sample_rss)
            for number in range(SESSIONS):
                tasks.start_soon(session_loop, number)
        healthy = httpx.get(f"{server.base}/healthz", timeout=5).status_code == 200
        sandbox_rss_mb = round(sandbox.rss_kb() / 1024, 1)
        threads = server.status("Threads")
    finally:
        server.stop()
        sandbox.stop()
    verify = ops_mcp_cli("audit", "verify", "--config", str(config))

    n_windows = max(1, int(SOAK_SECONDS // WINDOW_S))
    rates = [windows.errors[w] / max(1, windows.calls[w]) for w in range(n_windows)]
    rss_by_window = {}
    for w in range(n_windows):
        samples = [kb for at, kb in windows.rss if windows.index(at) == w]
        rss_by_window[w] = round(max(samples) / 1024, 1) if samples else None
    for w in range(n_windows):
        lat = sorted(windows.latency.get(w, [0.0]))
        record("7", f"window {w + 1} ({int(w * WINDOW_S)}–{int((w + 1) * WINDOW_S)} s)"
               + (" warm-up" if (w + 1) * WINDOW_S <= WARMUP_S else ""),
               tried=windows.calls[w], outcome=f"{windows.errors[w]} unexpected ({rates[w]:.2%})", passed=True,
               calls_per_s=round(windows.calls[w] / WINDOW_S, 1), p50_ms=round(statistics.median(lat) * 1000, 1),
               p95_ms=round(lat[int(0.95 * (len(lat) - 1))] * 1000, 1), server_rss_mb=rss_by_window[w])

    after = [kb for at, kb in windows.rss if at - started >= WARMUP_S]
    base_kb = statistics.median(after[:3])
    end_kb = statistics.median(after[-3:])
    growth_mb = (end_kb - base_kb) / 1024
    peak_growth_mb = (max(after) - base_kb) / 1024
    measured = [w for w in range(n_windows) if (w + 1) * WINDOW_S > WARMUP_S]
    third = max(1, len(measured) // 3)
    early = sum(windows.errors[w] for w in measured[:third]) / max(1, sum(windows.calls[w] for w in measured[:third]))
    late = sum(windows.errors[w] for w in measured[-third:]) / max(1, sum(windows.calls[w] for w in measured[-third:]))
    no_error_growth = late <= early + 0.002
    total_calls, total_errors = sum(windows.calls.values()), sum(windows.errors.values())
    passed = no_error_growth and growth_mb <= RSS_GROWTH_LIMIT_MB and healthy and verify.returncode == 0
    record("7", f"soak: {SOAK_SECONDS / 60:g} min of mixed calls over HTTP, {SESSIONS} sessions", tried=total_calls,
           outcome=f"{total_errors} unexpected outcomes; error rate first third {early:.2%} → last third {late:.2%}; "
                   f"server RSS {growth_mb:+.1f} MB after warm-up (limit {RSS_GROWTH_LIMIT_MB:g} MB)",
           passed=passed, window_s=WINDOW_S, warmup_s=WARMUP_S, rss_after_warmup_mb=round(base_kb / 1024, 1),
           rss_end_mb=round(end_kb / 1024, 1), rss_growth_mb=round(growth_mb, 2), peak_growth_mb=round(peak_growth_mb, 2),
           audit_verify=verify.stdout.strip().split(" (")[0], sandbox_process_rss_mb=sandbox_rss_mb, server_threads=threads,
           examples=json.dumps(windows.examples[:3]))
    assert healthy
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert no_error_growth, (early, late, windows.examples)
    assert growth_mb <= RSS_GROWTH_LIMIT_MB, [kb / 1024 for _, kb in windows.rss]
