"""Figures 2 and 6: per-call cost over stdio (a read and a write) and memory, interleaved with the peer.

Every server stays up for the whole figure (ops-mcp, the peer, a bare mcp-SDK echo server); an idle
one waits on its stdin and costs nothing. Each round runs one block of each series back to back —
ops-mcp read, peer read, ops-mcp write, peer write, then the SDK echo and the same GET made directly
with httpx — and the side that goes first alternates from round to round. A ratio is taken within
a round (ops-mcp's block ÷ the peer's block just beside it), then the median over rounds, so load
drift lands on both sides alike. The memory figure reads each server's peak RSS (``VmHWM``) after the
first round and after the last.

The raw client reads buffered and counts its own CPU per call (``client_cpu_s``); that cost is shown
apart, so it cannot be mistaken for the server's.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import httpx

from . import baseline, workload
from .procstat import process_cpu_s
from .rawclient import StdioServer
from .report import Row, Section, verdict
from .stats import Spread, paired_ratios, show_ratio

WARMUP = 20
TARGET_READ_RATIO = 0.8  # issue 17
TARGET_OVERHEAD_MS = 1.5  # issue 7
TARGET_GROWTH_MB = 5.0


@dataclass
class Series:
    """One kind of call against one server, one median per round."""

    block_ms: list[float] = field(default_factory=list)
    client_cpu_ms: list[float] = field(default_factory=list)  # the raw client's own CPU per call
    server_cpu_ms: list[float] = field(default_factory=list)  # the server process's CPU per call (/proc)
    reply_bytes: int = 0
    errors: int = 0
    sample_error: str = ""
    failure: str | None = None

    def spread(self) -> Spread | None:
        return Spread.of(self.block_ms) if self.block_ms else None


@dataclass
class Side:
    """A stdio server and the calls it is timed on: kind → (tool, arguments per call)."""

    launch: Callable[[], StdioServer]
    calls: dict[str, tuple[str | None, Callable[[], dict[str, Any]]]]
    server: StdioServer | None = None
    hwm_kb: list[int] = field(default_factory=list)  # after the first round, after the last
    calls_made: int = 0
    failure: str | None = None


@dataclass
class StdioFigures:
    series: dict[tuple[str, str], Series] = field(default_factory=dict)  # (side, kind)
    sides: dict[str, Side] = field(default_factory=dict)
    rounds: int = 0
    block: int = 0
    write_block: int = 0

    def get(self, side: str, kind: str) -> Series:
        return self.series.setdefault((side, kind), Series())


def measure(
    sides: dict[str, Side], direct: Callable[[], float], rounds: int, block: int, write_block: int
) -> StdioFigures:
    """``sides`` in pair order ("ops-mcp", "peer", then "sdk-echo"); ``direct`` times one bare GET."""
    out = StdioFigures(sides=sides, rounds=rounds, block=block, write_block=write_block)
    with ExitStack() as stack:
        for name, side in sides.items():
            if side.failure:  # known unavailable (the peer venv could not be built)
                for kind in side.calls:
                    out.get(name, kind).failure = side.failure
                continue
            try:
                side.server = stack.enter_context(side.launch())
                side.server.start()
                for tool, args in side.calls.values():
                    for _ in range(WARMUP if tool else 0):
                        side.server.call(tool, args())
            except Exception as exc:
                side.failure = f"{type(exc).__name__}: {exc}"
                for kind in side.calls:
                    out.get(name, kind).failure = side.failure
        for _ in range(WARMUP):
            direct()
        pair = [n for n in sides if n != "sdk-echo"]
        for rnd in range(rounds):
            order = pair if rnd % 2 == 0 else pair[::-1]
            for kind, size in (("read", block), ("write", write_block)):
                for name in order:
                    _block(out, name, kind, size)
            _block(out, "sdk-echo", "echo", block)
            out.get("floor", "direct").block_ms.append(_direct_block(direct, block))
            if rnd == 0 or rnd == rounds - 1:
                for side in sides.values():
                    if side.server is not None and side.failure is None:
                        side.hwm_kb.append(side.server.memory_kb("VmHWM"))
    return out


def _block(out: StdioFigures, name: str, kind: str, size: int) -> None:
    side = out.sides.get(name)
    series = out.get(name, kind)
    if side is None or side.server is None or series.failure or kind not in side.calls:
        return
    tool, args = side.calls[kind]
    if tool is None:
        series.failure = f"the {kind} tool is missing from its tool list"
        return
    server, samples = side.server, []
    cpu, received, served = server.client_cpu_s, server.received_bytes, process_cpu_s(server.pid)
    try:
        for _ in range(size):
            arguments = args()
            began = time.perf_counter()
            result = server.call(tool, arguments)
            samples.append(time.perf_counter() - began)
            if workload.is_error(result):
                series.errors += 1
                series.sample_error = series.sample_error or workload.result_text(result)[:200]
    except Exception as exc:
        series.failure = side.failure = f"{type(exc).__name__}: {exc}"
        return
    side.calls_made += size
    series.block_ms.append(statistics.median(samples) * 1000)
    series.client_cpu_ms.append((server.client_cpu_s - cpu) / size * 1000)
    series.server_cpu_ms.append((process_cpu_s(server.pid) - served) / size * 1000)
    series.reply_bytes = (server.received_bytes - received) // size


def _direct_block(direct: Callable[[], float], size: int) -> float:
    return statistics.median(direct() for _ in range(size)) * 1000


def direct_get(remote_base: str, call: workload.ReadCall) -> tuple[httpx.Client, Callable[[], float]]:
    """One keep-alive httpx client and a function timing one GET of the read call through it."""
    client = httpx.Client(base_url=remote_base, headers=workload.headers(), timeout=30)

    def once() -> float:
        began = time.perf_counter()
        client.get(call.path).raise_for_status()
        return time.perf_counter() - began

    return client, once


def _show(series: Series) -> str:
    spread = series.spread()
    if spread is None:
        return f"not measured: {series.failure or 'no runs'}"
    text = spread.show("{:.2f}", " ms")
    return text + (f", {series.errors} errors" if series.errors else "")


def _minus(series: Series, *floors: Series) -> Spread | None:
    """Per round: the server's block less the floors' blocks of the same round."""
    rows = zip(series.block_ms, *(f.block_ms for f in floors), strict=False)
    values = [r[0] - sum(r[1:]) for r in rows]
    return Spread.of(values) if values and all(f.block_ms for f in floors) else None


def _ms(spread: Spread | None) -> str:
    return spread.show("{:.2f}", " ms") if spread else "–"


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ms" if values else "–"


def _cpu(series: Series) -> str:
    return f"{statistics.median(series.client_cpu_ms):.3f} ms" if series.client_cpu_ms else "–"


def overhead_section(fig: StdioFigures) -> Section:
    ours_r, peer_r = fig.get("ops-mcp", "read"), fig.get("peer", "read")
    ours_w, peer_w = fig.get("ops-mcp", "write"), fig.get("peer", "write")
    direct = fig.get("floor", "direct")
    read_ratio = paired_ratios(ours_r.block_ms, peer_r.block_ms)
    over_ours, over_peer = _minus(ours_r, direct), _minus(peer_r, direct)
    rows = [
        Row(
            "2 per-call",
            f"read call over stdio, median (`{workload.OPS_TOOL}`, {ours_r.reply_bytes:,} vs "
            f"{peer_r.reply_bytes:,} bytes per reply)",
            _show(ours_r),
            _show(peer_r),
            show_ratio(read_ratio),
            f"≤ {TARGET_READ_RATIO}× peer",
            verdict(read_ratio.median <= TARGET_READ_RATIO if read_ratio else None),
        ),
        Row(
            "2 per-call",
            f"write call over stdio, median (`{workload.OPS_WRITE_TOOL}`, a POST with an Idempotency-Key)",
            _show(ours_w),
            _show(peer_w),
            show_ratio(paired_ratios(ours_w.block_ms, peer_w.block_ms)),
            "new figure (no previous)",
            "",
        ),
        Row(
            "2 per-call",
            "server process CPU per call (/proc), read / write: less sensitive to load than times",
            f"{_median(ours_r.server_cpu_ms)} / {_median(ours_w.server_cpu_ms)}",
            f"{_median(peer_r.server_cpu_ms)} / {_median(peer_w.server_cpu_ms)}",
            " / ".join(
                show_ratio(paired_ratios(a.server_cpu_ms, b.server_cpu_ms))
                for a, b in ((ours_r, peer_r), (ours_w, peer_w))
            ),
        ),
        Row(
            "2 per-call",
            "the benchmark client's own CPU per call, read / write (not the server's)",
            f"{_cpu(ours_r)} / {_cpu(ours_w)}",
            f"{_cpu(peer_r)} / {_cpu(peer_w)}",
        ),
        Row(
            "2 per-call",
            f"read: overhead = server − the same GET direct with httpx ({_ms(direct.spread())})",
            _ms(over_ours),
            _ms(over_peer),
            "",
            f"≤ {TARGET_OVERHEAD_MS} ms",
            verdict(over_ours.median <= TARGET_OVERHEAD_MS if over_ours else None),
        ),
    ]
    rows += _echo_rows(fig)
    return Section("2. Per-call cost over stdio", rows, notes=_notes(fig))


def _echo_rows(fig: StdioFigures) -> list[Row]:
    """What is left once the SDK's own stdio round trip (a bare echo tool) is taken out too."""
    ours_r, peer_r = fig.get("ops-mcp", "read"), fig.get("peer", "read")
    direct, echo = fig.get("floor", "direct"), fig.get("sdk-echo", "echo")
    echo_spread = echo.spread()
    if echo_spread is None:
        return []
    share = [
        f"{echo_spread.median / s.median:.0%} of {name}'s read call"
        for name, s in (("ops-mcp", ours_r.spread()), ("the peer", peer_r.spread()))
        if s
    ]
    return [
        Row(
            "2 per-call",
            f"read: overhead less a bare mcp-SDK echo call over stdio ({_ms(echo_spread)}: "
            + ", ".join(share)
            + ")",
            _ms(_minus(ours_r, direct, echo)),
            _ms(_minus(peer_r, direct, echo)),
        )
    ]


def _notes(fig: StdioFigures) -> list[str]:
    rounds = max(len(fig.get("ops-mcp", "read").block_ms), len(fig.get("peer", "read").block_ms))
    notes = [
        f"{rounds} rounds; each round runs, back to back, {fig.block:,} "
        f"sequential read calls and {fig.write_block:,} write calls on each side (the side going first "
        f"alternates by round), {fig.block:,} SDK echo calls and {fig.block:,} direct GETs. Each block's median; "
        "a ratio is ops-mcp's block ÷ the peer's block of the same round; medians over rounds (min–max in "
        "brackets). Every server stays up for the whole figure, after "
        f"{WARMUP} warm-up calls of each kind.",
        f"Read: `{workload.OPS_TOOL}` (peer: `{workload.OPERATION_ID}`). Write: `{workload.OPS_WRITE_TOOL}` "
        f"(peer: `{workload.WRITE_OPERATION_ID}`, given a fresh `{workload.IDEMPOTENCY_ARGUMENT}` per call; "
        "ops-mcp makes its own key and writes its audit record).",
        "Raw JSON-RPC client with a buffered reader; its own CPU per call (encode, write, read, decode) is "
        "shown on its own row and is part of every time above, on both sides alike.",
        "The sandbox is a separate process on loopback, rate limits raised; client, servers and sandbox share "
        "the machine's cores.",
    ]
    for (side, kind), series in fig.series.items():
        if series.sample_error:
            notes.append(f"{side} {kind}: {series.errors} errors, e.g. {series.sample_error}")
    return notes


def memory_section(fig: StdioFigures) -> Section:
    ours, peer = fig.sides.get("ops-mcp"), fig.sides.get("peer")

    def peak(side: Side | None) -> str:
        if side is None or not side.hwm_kb:
            return f"not measured: {side.failure if side else 'no server'}"
        return f"{side.hwm_kb[-1] / 1024:.1f} MB"

    def growth(side: Side | None) -> float | None:
        return (side.hwm_kb[-1] - side.hwm_kb[0]) / 1024 if side and len(side.hwm_kb) > 1 else None

    rss = ours.hwm_kb[-1] / peer.hwm_kb[-1] if ours and peer and ours.hwm_kb and peer.hwm_kb else None
    calls = max((s.calls_made for s in (ours, peer) if s), default=0)
    first = fig.block + fig.write_block
    g_ours, g_peer = growth(ours), growth(peer)
    rows = [
        Row(
            "6 memory",
            f"peak RSS (VmHWM) after {calls:,} calls",
            peak(ours),
            peak(peer),
            f"{rss:.2f}×" if rss is not None else "–",
            baseline.target_at_most(baseline.PEAK_RSS_RATIO, "{}×"),
            baseline.no_worse(rss, baseline.PEAK_RSS_RATIO),
        ),
        Row(
            "6 memory",
            f"VmHWM growth, {first:,} → {calls:,} calls",
            f"{g_ours:+.1f} MB" if g_ours is not None else "–",
            f"{g_peer:+.1f} MB" if g_peer is not None else "–",
            "",
            f"≤ {TARGET_GROWTH_MB:.0f} MB",
            verdict(g_ours <= TARGET_GROWTH_MB if g_ours is not None else None),
        ),
    ]
    return Section(
        "6. Memory",
        rows,
        notes=[
            "Read from /proc/<server pid>/status during the per-call figure (figure 2): reads and writes."
        ],
    )
