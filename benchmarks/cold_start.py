"""Figure 1: cold start (spawn → first ``tools/list`` reply over stdio, full catalogue) and the first
call after start.

Each round spawns every server once, the order rotating from round to round (ops-mcp, peer, floor;
then peer, floor, ops-mcp; …) so drift and "who goes first" land on all alike; ratios and gaps are
taken within a round, then the median over rounds. One untimed round first: "cold" here means a new
process, not an empty page cache or stale bytecode, which no user restarting an agent sees either.

After ``tools/list`` the server answers the read call once (the first call, timed) and then
``LATER`` more; the first call's excess over the median of the later ones is what the first agent
request after a start pays for lazy imports and caches. A second launch per round and side waits
``HOST_PAUSE_S`` after ``tools/list`` before that first call, as a host does while its model decides
what to call: what a server loads in the background once it is idle shows there (ops-mcp warms up after
its first ``tools/list``), and not in the immediate figure, which is kept as the worst case.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import baseline
from .rawclient import StdioServer
from .report import Row, Section, verdict
from .stats import Spread, paired_ratios, show_ratio

TARGET_RATIO = 0.6  # issue 7
TARGET_FLOOR_MS = 100  # issue 17
TARGET_FIRST_CALL_MS = 20  # issue 17
LATER = 20
HOST_PAUSE_S = 1.0


@dataclass
class Launcher:
    launch: Callable[[], StdioServer]
    tool: str | None = None  # the read call timed after start; None: start only (the SDK floor)
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass
class ColdStart:
    seconds: dict[str, list[float]] = field(default_factory=dict)  # per round, index-aligned
    first_excess_ms: dict[str, list[float]] = field(default_factory=dict)
    paused_excess_ms: dict[str, list[float]] = field(default_factory=dict)  # after HOST_PAUSE_S idle
    tools: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def measure(launchers: dict[str, Launcher], runs: int) -> ColdStart:
    out = ColdStart()
    names = list(launchers)
    for rep in range(runs + 1):
        shift = rep % len(names)
        for name in names[shift:] + names[:shift]:
            if name in out.errors:
                continue
            try:
                elapsed, excess = _one(launchers[name], out, name)
            except Exception as exc:  # one side failing must not stop the others
                out.errors[name] = f"{type(exc).__name__}: {exc}"
                continue
            if rep > 0:  # rep 0 warms the page cache and bytecode
                out.seconds.setdefault(name, []).append(elapsed)
                if excess is not None:
                    out.first_excess_ms.setdefault(name, []).append(excess)
                    try:
                        _, paused = _one(launchers[name], out, name, pause_s=HOST_PAUSE_S)
                    except Exception as exc:
                        out.errors[f"{name} (paused)"] = f"{type(exc).__name__}: {exc}"
                        continue
                    if paused is not None:
                        out.paused_excess_ms.setdefault(name, []).append(paused)
    return out


def _one(launcher: Launcher, out: ColdStart, name: str, pause_s: float = 0.0) -> tuple[float, float | None]:
    with launcher.launch() as server:
        elapsed = server.start()
        out.tools.setdefault(name, server.tools)
        if launcher.tool is None:
            return elapsed, None
        time.sleep(pause_s)
        began = time.perf_counter()
        server.call(launcher.tool, launcher.arguments)
        first = time.perf_counter() - began
        later = []
        for _ in range(LATER):
            began = time.perf_counter()
            server.call(launcher.tool, launcher.arguments)
            later.append(time.perf_counter() - began)
        return elapsed, (first - statistics.median(later)) * 1000


def section(result: ColdStart) -> Section:
    def ms(name: str) -> list[float]:
        return [v * 1000 for v in result.seconds.get(name, [])]

    ours, peer, floor = ms("ops-mcp"), ms("peer"), ms("sdk-floor")

    def show(values: list[float], name: str) -> str:
        if not values:
            return f"not measured: {result.errors.get(name, 'no runs')}"
        return Spread.of(values).show(unit=" ms")

    pair = paired_ratios(ours, peer)
    ok = None
    if pair:
        ok = (
            pair.median <= TARGET_RATIO and baseline.no_worse(pair.median, baseline.COLD_START_RATIO) == "yes"
        )
    gaps_ours = [a - b for a, b in zip(ours, floor, strict=False)] if floor else []
    gaps_peer = [a - b for a, b in zip(peer, floor, strict=False)] if floor else []
    gap = Spread.of(gaps_ours) if gaps_ours else None
    first_ours = result.first_excess_ms.get("ops-mcp", [])
    first_peer = result.first_excess_ms.get("peer", [])
    first = Spread.of(first_ours) if first_ours else None
    paused_ours = result.paused_excess_ms.get("ops-mcp", [])
    paused_peer = result.paused_excess_ms.get("peer", [])
    paused = Spread.of(paused_ours) if paused_ours else None
    rows = [
        Row(
            "1 cold start",
            f"spawn → tools/list, ms ({_count(result, 'ops-mcp')} vs {_count(result, 'peer')} tools)",
            show(ours, "ops-mcp"),
            show(peer, "peer"),
            show_ratio(pair),
            f"≤ {TARGET_RATIO}× peer; {baseline.target_at_most(baseline.COLD_START_RATIO, '{}×')}",
            verdict(ok),
        ),
        Row(
            "1 cold start",
            f"over a bare mcp-SDK server listing 1 tool (floor: {show(floor, 'sdk-floor')})",
            _gap(gap),
            _gap(Spread.of(gaps_peer) if gaps_peer else None),
            "",
            f"≤ {TARGET_FLOOR_MS} ms over floor",
            verdict(gap.median <= TARGET_FLOOR_MS if gap else None),
        ),
        Row(
            "1 first call",
            f"first read call after start − median of the next {LATER}",
            _gap(first, "{:+.1f}"),
            _gap(Spread.of(first_peer) if first_peer else None, "{:+.1f}"),
            "",
            f"≤ {TARGET_FIRST_CALL_MS} ms",
            verdict(first.median <= TARGET_FIRST_CALL_MS if first else None),
        ),
        Row(
            "1 first call",
            f"the same, {HOST_PAUSE_S:g} s after tools/list (a host waiting for its model)",
            _gap(paused, "{:+.1f}"),
            _gap(Spread.of(paused_peer) if paused_peer else None, "{:+.1f}"),
            "",
            f"≤ {TARGET_FIRST_CALL_MS} ms",
            verdict(paused.median <= TARGET_FIRST_CALL_MS if paused else None),
        ),
    ]
    runs = max((len(v) for v in result.seconds.values()), default=0)
    return Section(
        "1. Cold start and first call",
        rows,
        notes=[
            f"{runs} rounds, each spawning every server once in a rotating order, after one untimed round; the "
            "ratio and the gaps are taken within each round, then the median over rounds (min–max in brackets). "
            "Raw JSON-RPC client: spawn → initialize → initialized → tools/list.",
            "ops-mcp: `ops-mcp serve --transport stdio` for an agent with every area at `full` and "
            '`tool_mode = "static"` (the full catalogue). Peer: FastMCP `from_openapi` over both OpenAPI documents.',
            f"First call: the read call right after `tools/list`, less the median of the {LATER} that follow it "
            f"in the same process; then again in a second launch of each server per round that waits "
            f"{HOST_PAUSE_S:g} s after `tools/list` first (ops-mcp loads what the first call needs in the "
            "background once it has answered `tools/list`; the immediate row is the worst case).",
        ]
        + [f"{name}: {why}" for name, why in result.errors.items()],
    )


def _gap(spread: Spread | None, fmt: str = "{:+.0f}") -> str:
    return spread.show(fmt, " ms") if spread else "–"


def _count(result: ColdStart, name: str) -> str:
    return str(len(result.tools[name])) if name in result.tools else "?"
