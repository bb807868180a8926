"""Figure 5: rate-limit behaviour against Remote's budget (300 requests per 60-s window, per company).

10 agent sessions share 600 read calls over streamable HTTP, against a fresh sandbox each side.
Agents behave the same on both sides: a rate-limit error is retried after the wait it names
(else 1 s), up to a deadline. Counted: rate-limit errors agents saw, 429s the sandbox logged
(its own request log), and the achieved rate of successful calls as a share of the budget.
"""

from __future__ import annotations

import asyncio
import re
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass

from . import mcp_http
from .report import Row, Section, verdict
from .stats import ratio

BUDGET = 300
WINDOW_S = 60.0
SESSIONS = 10
TARGET_SHARE = 0.9
_RETRY = re.compile(r"retry (?:in|after)(?: about)? (\d+(?:\.\d+)?)", re.IGNORECASE)


def is_rate_limited(text: str) -> bool:
    lowered = text.lower()
    return "429" in lowered or "rate limit" in lowered or "too many requests" in lowered


@dataclass
class Outcome:
    calls: int
    succeeded: int = 0
    agent_429: int = 0
    other_errors: int = 0
    upstream_429: int | None = None
    upstream_requests: int | None = None
    elapsed: float = 0.0
    sample_error: str = ""
    failure: str | None = None

    @property
    def share(self) -> float | None:
        if not self.succeeded or self.elapsed <= 0:
            return None
        return (self.succeeded / self.elapsed) / (BUDGET / WINDOW_S)


async def _drive(
    url: str, token: str | None, tool: str, arguments: dict, calls: int, deadline_s: float
) -> Outcome:
    out = Outcome(calls)
    per_session = calls // SESSIONS
    async with AsyncExitStack() as stack:
        sessions = [await stack.enter_async_context(mcp_http.session(url, token)) for _ in range(SESSIONS)]
        start = time.perf_counter()
        deadline = start + deadline_s
        last_success = start

        async def agent(client) -> None:
            nonlocal last_success
            done = 0
            while done < per_session and time.perf_counter() < deadline:
                _, result, error = await mcp_http.call(client, tool, arguments)
                if result is not None and not error:
                    out.succeeded += 1
                    done += 1
                    last_success = time.perf_counter()
                elif is_rate_limited(error):
                    out.agent_429 += 1
                    hint = _RETRY.search(error)
                    await asyncio.sleep(min(float(hint.group(1)), 10.0) if hint else 1.0)
                else:
                    out.other_errors += 1
                    out.sample_error = out.sample_error or error[:200]
                    done += 1  # not retried: only rate limits are worth waiting for

        await asyncio.gather(*(agent(c) for c in sessions))
        out.elapsed = last_success - start
    return out


def measure(
    url: str,
    token: str | None,
    tool: str | None,
    arguments: dict,
    calls: int,
    deadline_s: float,
    upstream_statuses,
) -> Outcome:
    """``upstream_statuses()`` returns the sandbox's Counter of statuses for Remote (logged since start)."""
    if tool is None:
        return Outcome(calls, failure="the read tool is missing from its tool list")
    try:
        out = asyncio.run(_drive(url, token, tool, arguments, calls, deadline_s))
    except Exception as exc:
        return Outcome(calls, failure=f"{type(exc).__name__}: {exc}")
    statuses = upstream_statuses()
    out.upstream_429 = statuses.get(429, 0)
    out.upstream_requests = sum(statuses.values())
    return out


def section(ours: Outcome, peer: Outcome, window_note: str) -> Section:
    def show(out: Outcome, value) -> str:
        return f"not measured: {out.failure}" if out.failure else str(value)

    def share(out: Outcome) -> str:
        if out.failure:
            return f"not measured: {out.failure}"
        if out.share is None:
            return "no call succeeded"
        return f"{out.share:.0%} ({out.succeeded}/{out.calls} in {out.elapsed:.1f} s)"

    rows = [
        Row(
            "5 rate limit",
            f"rate-limit errors seen by agents ({ours.calls} calls, {SESSIONS} sessions)",
            show(ours, ours.agent_429),
            show(peer, peer.agent_429),
            "",
            "0",
            verdict(ours.agent_429 == 0 if not ours.failure else None),
        ),
        Row(
            "5 rate limit",
            "429s seen upstream (sandbox request log)",
            show(ours, f"{ours.upstream_429} of {ours.upstream_requests} requests"),
            show(peer, f"{peer.upstream_429} of {peer.upstream_requests} requests"),
            "",
            "0",
            verdict(ours.upstream_429 == 0 if ours.upstream_429 is not None else None),
        ),
        Row(
            "5 rate limit",
            f"achieved throughput, share of {BUDGET}/{WINDOW_S:.0f} s budget",
            share(ours),
            share(peer),
            ratio(ours.share, peer.share),
            f"≥ {TARGET_SHARE:.0%}",
            verdict(ours.share >= TARGET_SHARE if ours.share is not None else None),
        ),
    ]
    notes = [
        window_note,
        "Share = successful calls per second ÷ (budget ÷ window), timed from the first call to the last success. "
        "Remote's window is fixed and counted from the first request, so a client that spends a whole window's "
        "budget at once and then waits for the next can show more than 100% over a short run.",
        "Agents retry a rate-limit error after the wait its text names (≤ 10 s), else after 1 s; other errors "
        "are counted and not retried.",
        "ops-mcp: its own budget for the connection is Remote's published one (no `per_minute` override).",
    ]
    for side, out in (("ops-mcp", ours), ("peer", peer)):
        if out.sample_error:
            notes.append(f"{side}: {out.other_errors} other errors, e.g. {out.sample_error}")
    return Section("5. Rate-limit behaviour", rows, notes=notes)
