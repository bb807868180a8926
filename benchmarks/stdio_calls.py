"""Figures 2 and 6: per-call overhead and memory, from one long run of sequential stdio calls per server.

Each server answers ``blocks`` runs of ``block`` (1,000) sequential read calls in one process; the
per-call figure is the median latency of each run of 1,000, the memory figure reads the peak RSS
(``VmHWM``) after the first run and after the last (10,000 calls). The same GETs made directly
with httpx (keep-alive, like both servers) give the floor the overhead is measured from.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from . import workload
from .rawclient import StdioServer
from .report import Row, Section, verdict
from .stats import Spread, ratio

WARMUP = 20
TARGET_OVERHEAD_MS = 1.5
TARGET_GROWTH_MB = 5.0


@dataclass
class Run:
    block_medians_ms: list[float] = field(default_factory=list)
    hwm_kb: list[int] = field(default_factory=list)  # after each block
    errors: int = 0
    failure: str | None = None


def direct(remote_base: str, call: workload.ReadCall, runs: int, block: int) -> list[float]:
    """Median ms per request of each run of ``block`` direct GETs."""
    medians = []
    with httpx.Client(base_url=remote_base, headers=workload.headers(), timeout=30) as client:
        for _ in range(WARMUP):
            client.get(call.path).raise_for_status()
        for _ in range(runs):
            samples = []
            for _ in range(block):
                began = time.perf_counter()
                client.get(call.path).raise_for_status()
                samples.append(time.perf_counter() - began)
            medians.append(statistics.median(samples) * 1000)
    return medians


def served(
    launch: Callable[[], StdioServer], tool: str | None, arguments: dict, blocks: int, block: int
) -> Run:
    run = Run()
    if tool is None:
        run.failure = "the read tool is missing from its tool list"
        return run
    try:
        with launch() as server:
            server.start()
            for _ in range(WARMUP):
                server.call(tool, arguments)
            for _ in range(blocks):
                samples = []
                for _ in range(block):
                    began = time.perf_counter()
                    result = server.call(tool, arguments)
                    samples.append(time.perf_counter() - began)
                    run.errors += workload.is_error(result)
                run.block_medians_ms.append(statistics.median(samples) * 1000)
                run.hwm_kb.append(server.memory_kb("VmHWM"))
    except Exception as exc:
        run.failure = f"{type(exc).__name__}: {exc}"
    return run


def overhead_section(ours: Run, peer: Run, floor: list[float], sdk_echo: Run | None, block: int) -> Section:
    base = Spread.of(floor)
    rows: list[Row] = []

    def total(run: Run) -> Spread | None:
        return Spread.of(run.block_medians_ms) if run.block_medians_ms else None

    def over(run: Run) -> Spread | None:
        # Per run: the server's median minus the median direct request (drift-free enough; see notes).
        return Spread.of([m - base.median for m in run.block_medians_ms]) if run.block_medians_ms else None

    def show(spread: Spread | None, run: Run) -> str:
        if spread is None:
            return f"not measured: {run.failure}"
        return spread.show("{:.2f}", " ms") + (f", {run.errors} errors" if run.errors else "")

    t_ours, t_peer, o_ours, o_peer = total(ours), total(peer), over(ours), over(peer)
    rows.append(
        Row(
            "2 per-call",
            f"median per read call over stdio (direct httpx: {base.show('{:.2f}', ' ms')})",
            show(t_ours, ours),
            show(t_peer, peer),
            ratio(t_ours and t_ours.median, t_peer and t_peer.median),
            "≤ peer",
            verdict(t_ours.median <= t_peer.median if t_ours and t_peer else None),
        )
    )
    rows.append(
        Row(
            "2 per-call",
            "overhead = server − direct httpx",
            show(o_ours, ours),
            show(o_peer, peer),
            ratio(o_ours and o_ours.median, o_peer and o_peer.median),
            f"≤ {TARGET_OVERHEAD_MS} ms",
            verdict(o_ours.median <= TARGET_OVERHEAD_MS if o_ours else None),
        )
    )
    notes = [
        f"{len(ours.block_medians_ms) or len(peer.block_medians_ms)} runs of {block:,} sequential "
        f"`{workload.OPS_TOOL}` calls (peer: `{workload.OPERATION_ID}`) in one server process after {WARMUP} "
        "warm-up calls; each run's median, then the median over runs (min–max in brackets).",
        f"Direct: the same GET with one keep-alive httpx client, {len(floor)} runs of {block:,}.",
        "The sandbox is a separate process on loopback, rate limits raised; client, server and sandbox share "
        "the machine's cores.",
    ]
    if sdk_echo is not None and sdk_echo.block_medians_ms:
        echo = Spread.of(sdk_echo.block_medians_ms)

        def own(spread: Spread | None) -> str:
            return f"{spread.median - echo.median:.2f} ms" if spread else "–"

        # What is left once the SDK's own stdio round trip is taken out: the server's work per call.
        rows.append(
            Row(
                "2 per-call",
                f"overhead less a bare mcp-SDK echo call over stdio ({echo.show('{:.2f}', ' ms')})",
                own(o_ours),
                own(o_peer),
                "",
                "",
                "",
            )
        )
    return Section("2. Per-call overhead", rows, notes=notes)


def memory_section(ours: Run, peer: Run, block: int) -> Section:
    def peak(run: Run) -> str:
        return f"{run.hwm_kb[-1] / 1024:.1f} MB" if run.hwm_kb else f"not measured: {run.failure}"

    def growth(run: Run) -> float | None:
        return (run.hwm_kb[-1] - run.hwm_kb[0]) / 1024 if len(run.hwm_kb) > 1 else None

    calls = block * max(len(ours.hwm_kb), len(peer.hwm_kb))
    g_ours, g_peer = growth(ours), growth(peer)
    rows = [
        Row(
            "6 memory",
            f"peak RSS (VmHWM) after {calls:,} calls",
            peak(ours),
            peak(peer),
            ratio(ours.hwm_kb[-1] if ours.hwm_kb else None, peer.hwm_kb[-1] if peer.hwm_kb else None),
        ),
        Row(
            "6 memory",
            f"VmHWM growth, {block:,} → {calls:,} calls",
            f"{g_ours:+.1f} MB" if g_ours is not None else "–",
            f"{g_peer:+.1f} MB" if g_peer is not None else "–",
            "",
            f"≤ {TARGET_GROWTH_MB:.0f} MB",
            verdict(g_ours <= TARGET_GROWTH_MB if g_ours is not None else None),
        ),
    ]
    return Section(
        "6. Memory", rows, notes=["Read from /proc/<server pid>/status in the per-call run (figure 2)."]
    )
