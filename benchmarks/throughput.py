"""Figure 3: hosted throughput over streamable HTTP, 1 / 8 / 32 concurrent agent sessions.

Every session loops the read call until the deadline; calls/s is counted per time slice (median
and min–max over slices), latency percentiles over every call of the level.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

from . import mcp_http
from .report import Row, Section, verdict
from .stats import Spread, percentile, ratio

LEVELS = (1, 8, 32)
TARGET_RATIO = 1.5


@dataclass
class Level:
    clients: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    finished_at: list[float] = field(default_factory=list)  # offsets from the start
    errors: int = 0
    sample_error: str = ""
    failure: str | None = None

    def rate(self, slices: int) -> Spread | None:
        if not self.finished_at:
            return None
        width = self.seconds / slices
        counts = [0] * slices
        for moment in self.finished_at:
            counts[min(int(moment / width), slices - 1)] += 1
        return Spread.of([c / width for c in counts])


async def _level(
    url: str, token: str | None, tool: str, arguments: dict, clients: int, seconds: float
) -> Level:
    level = Level(clients, seconds)
    async with AsyncExitStack() as stack:
        # Sessions are opened in this task: the SDK's task groups must close where they opened.
        sessions = [await stack.enter_async_context(mcp_http.session(url, token)) for _ in range(clients)]
        for client in sessions:
            await mcp_http.call(client, tool, arguments)  # warm-up: connection pools, first-call caches
        start = time.perf_counter()
        deadline = start + seconds

        async def agent(client) -> None:
            while time.perf_counter() < deadline:
                elapsed, result, error = await mcp_http.call(client, tool, arguments)
                level.latencies.append(elapsed)
                level.finished_at.append(time.perf_counter() - start)
                if result is None or error:
                    level.errors += 1
                    level.sample_error = level.sample_error or error[:200]

        await asyncio.gather(*(agent(c) for c in sessions))
    return level


def measure(url: str, token: str | None, tool: str | None, arguments: dict, seconds: float) -> list[Level]:
    levels = []
    for clients in LEVELS:
        if tool is None:
            levels.append(Level(clients, seconds, failure="the read tool is missing from its tool list"))
            continue
        try:
            levels.append(asyncio.run(_level(url, token, tool, arguments, clients, seconds)))
        except Exception as exc:
            levels.append(Level(clients, seconds, failure=f"{type(exc).__name__}: {exc}"))
    return levels


def section(ours: list[Level], peer: list[Level], slices: int) -> Section:
    rows = []
    for mine, theirs in zip(ours, peer, strict=True):
        r_ours, r_peer = mine.rate(slices), theirs.rate(slices)
        last = mine.clients == LEVELS[-1]
        ok = None
        if last and r_ours and r_peer:
            ok = r_ours.median >= TARGET_RATIO * r_peer.median and percentile(
                mine.latencies, 99
            ) <= percentile(theirs.latencies, 99)
        rows.append(
            Row(
                "3 HTTP throughput",
                f"{mine.clients} client{'s' if mine.clients > 1 else ''}: calls/s; p50 / p99 ms",
                _show(mine, r_ours),
                _show(theirs, r_peer),
                ratio(r_ours and r_ours.median, r_peer and r_peer.median),
                f"≥ {TARGET_RATIO}× peer, p99 ≤ peer" if last else "",
                verdict(ok),
            )
        )
    seconds = ours[0].seconds if ours else 0
    notes = [
        f"{seconds:.0f} s per level; calls/s is the median over {slices} slices of {seconds / slices:.0f} s "
        "(min–max in brackets); p50/p99 over every call of the level.",
        f'SDK `Client` (mcp, `mode="{mcp_http.ERA}"`) per session, all sessions in one benchmark process; the '
        "server under test and the sandbox are separate processes, all on the same cores.",
        'ops-mcp: `ops-mcp serve --transport http`, one agent bearer token; peer: FastMCP `run("http")`. Both reach '
        "the sandbox over loopback with rate limits raised.",
    ]
    for side, levels in (("ops-mcp", ours), ("peer", peer)):
        for level in levels:
            if level.sample_error:
                notes.append(
                    f"{side}, {level.clients} clients: {level.errors} errors, e.g. {level.sample_error}"
                )
    return Section("3. Hosted throughput", rows, notes=notes)


def _show(level: Level, rate: Spread | None) -> str:
    if level.failure:
        return f"not measured: {level.failure}"
    if rate is None:
        return "no calls completed"
    ms = [x * 1000 for x in level.latencies]
    text = f"{rate.show('{:.0f}')}/s; {percentile(ms, 50):.1f} / {percentile(ms, 99):.1f} ms"
    return text + (f"; {level.errors} errors" if level.errors else "")
