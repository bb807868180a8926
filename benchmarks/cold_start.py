"""Figure 1: cold start, process spawn → first ``tools/list`` reply over stdio, full catalogue.

Servers are spawned in turn (ops-mcp, peer, SDK floor, then again) so load drift hits all three
alike. One untimed spawn of each first: "cold" here means a new process, not an empty page cache
or stale bytecode, which no user restarting an agent sees either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .rawclient import StdioServer
from .report import Row, Section, verdict
from .stats import Spread, ratio

TARGET_RATIO = 0.6
TARGET_FLOOR_MS = 150


@dataclass
class ColdStart:
    seconds: dict[str, list[float]] = field(default_factory=dict)
    tools: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def measure(launchers: dict[str, Callable[[], StdioServer]], runs: int) -> ColdStart:
    out = ColdStart()
    for rep in range(runs + 1):
        for name, launch in launchers.items():
            if name in out.errors:
                continue
            try:
                with launch() as server:
                    elapsed = server.start()
                    out.tools.setdefault(name, server.tools)
            except Exception as exc:  # one side failing must not stop the others
                out.errors[name] = f"{type(exc).__name__}: {exc}"
                continue
            if rep > 0:  # rep 0 warms the page cache and bytecode
                out.seconds.setdefault(name, []).append(elapsed)
    return out


def section(result: ColdStart) -> Section:
    def ms(name: str) -> Spread | None:
        values = result.seconds.get(name)
        return Spread.of([v * 1000 for v in values]) if values else None

    ours, peer, floor = ms("ops-mcp"), ms("peer"), ms("sdk-floor")

    def show(spread: Spread | None, name: str) -> str:
        return spread.show(unit=" ms") if spread else f"not measured: {result.errors.get(name, 'no runs')}"

    rows = [
        Row(
            "1 cold start",
            f"spawn → tools/list, ms ({_count(result, 'ops-mcp')} vs {_count(result, 'peer')} tools)",
            show(ours, "ops-mcp"),
            show(peer, "peer"),
            ratio(ours and ours.median, peer and peer.median),
            f"≤ {TARGET_RATIO}× peer",
            verdict(ours.median <= TARGET_RATIO * peer.median if ours and peer else None),
        )
    ]
    gap = ours.median - floor.median if ours and floor else None
    rows.append(
        Row(
            "1 cold start",
            f"bare mcp-SDK server, 1 tool (floor): {show(floor, 'sdk-floor')}",
            f"+{gap:.0f} ms over floor" if gap is not None else "–",
            f"+{peer.median - floor.median:.0f} ms over floor" if peer and floor else "–",
            "",
            f"≤ {TARGET_FLOOR_MS} ms over floor",
            verdict(gap <= TARGET_FLOOR_MS if gap is not None else None),
        )
    )
    runs = max((len(v) for v in result.seconds.values()), default=0)
    return Section(
        "1. Cold start",
        rows,
        notes=[
            f"Median of {runs} spawns per server (min–max in brackets), after one untimed spawn each; servers "
            "alternate so drift hits all alike. Raw JSON-RPC client: spawn → initialize → initialized → tools/list.",
            "ops-mcp: `ops-mcp serve --transport stdio` for an agent with every area at `full` and "
            '`tool_mode = "static"` (the full catalogue). Peer: FastMCP `from_openapi` over both OpenAPI documents.',
        ],
    )


def _count(result: ColdStart, name: str) -> str:
    return str(len(result.tools[name])) if name in result.tools else "?"
