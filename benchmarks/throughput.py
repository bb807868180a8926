"""Figure 3: hosted throughput over streamable HTTP, 1 / 8 / 32 concurrent agent sessions, in both
protocol eras (the handshake era and 2026-07-28).

The load comes from separate processes (``benchmarks.load_client``: SDK ``Client`` sessions; one
process for one client, two for more), never from the server's or this process; each server is one
process (one worker) on each side. Every level is measured in slices: an ops-mcp slice, then a peer
slice, and so on, the side going first alternating, with both servers up all along (the idle one
costs nothing). calls/s is a slice's completed calls ÷ its length; a ratio is ops-mcp's slice ÷ the
peer's slice beside it, then the median over pairs; p50/p99 are over every call of the level. The
server's CPU per call (from /proc) and the load generator's are kept too, to tell who was busy.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import baseline, mcp_http
from .procstat import process_cpu_s
from .report import Row, Section, verdict
from .stats import Spread, paired_ratios, percentile, show_ratio

LEVELS = (1, 8, 32)
TARGET_RATIO = 1.5  # issue 17, at 32 clients, both eras
ROOT = Path(__file__).resolve().parent.parent
ERA_LABEL = {mcp_http.LEGACY: "handshake era", mcp_http.MODERN: "2026-07-28"}
SIDES = ("ops-mcp", "peer")


@dataclass(frozen=True)
class Target:
    """One side's server under load: where it listens, its pid, and the call to make."""

    url: str
    pid: int
    token: str | None
    tool: str | None
    arguments: dict
    fresh_key: str | None = None  # an argument given a new UUID on every call (the peer's write)


@dataclass
class Slice:
    seconds: float
    calls: int = 0
    late: int = 0  # finished after the window: their CPU is in the slice's, so they count per call
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    sample_error: str = ""
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    failure: str | None = None

    @property
    def rate(self) -> float:
        return self.calls / self.seconds


@dataclass
class Level:
    era: str
    clients: int
    slices: dict[str, list[Slice]] = field(default_factory=lambda: {s: [] for s in SIDES})

    def rates(self, side: str) -> list[float]:
        return [s.rate for s in self.slices[side] if s.failure is None]

    def latencies_ms(self, side: str) -> list[float]:
        return [x * 1000 for s in self.slices[side] for x in s.latencies]

    def failure(self, side: str) -> str | None:
        return next((s.failure for s in self.slices[side] if s.failure), None)


def load_processes(clients: int) -> int:
    return 1 if clients < 8 else 2


def measure(
    targets: dict[str, Target], seconds: float, slices: int, log: Callable[[str], None] = print
) -> list[Level]:
    levels = []
    for era in mcp_http.ERAS:
        for clients in LEVELS:
            level = Level(era, clients)
            log(f"  {ERA_LABEL[era]}, {clients} clients: load average {os.getloadavg()[0]:.2f}")
            for n in range(slices):
                for side in SIDES if n % 2 == 0 else SIDES[::-1]:
                    target = targets.get(side)
                    if target is None:
                        level.slices[side].append(Slice(seconds, failure="server not available"))
                    else:
                        level.slices[side].append(run_slice(target, era, clients, seconds))
            levels.append(level)
    return levels


def run_slice(
    target: Target, era: str, clients: int, seconds: float, around: Callable[[], Any] | None = None
) -> Slice:
    """One slice of load; ``around`` (a context manager factory, e.g. a profiler) wraps the timed part."""
    out = Slice(seconds)
    if target.tool is None:
        out.failure = "the tool is missing from its tool list"
        return out
    procs = load_processes(clients)
    shares = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
    children = [_spawn() for _ in shares]
    watchdog = threading.Timer(seconds + 120, lambda: [c.kill() for c in children])
    watchdog.start()
    try:
        for child, share in zip(children, shares, strict=True):
            job = {
                "url": target.url,
                "token": target.token,
                "tool": target.tool,
                "arguments": target.arguments,
                "idempotency_argument": target.fresh_key,
                "era": era,
                "clients": share,
                "seconds": seconds,
            }
            child.stdin.write(json.dumps(job) + "\n")
            child.stdin.flush()
        for child in children:
            child.stdout.readline()  # "ready": sessions open and warmed up
        with around() if around else contextlib.nullcontext():
            cpu = server_cpu_s(target.pid)
            for child in children:
                child.stdin.write("go\n")
                child.stdin.flush()
            results = [
                json.loads(child.stdout.readline() or '{"failure": "the load process died"}')
                for child in children
            ]
            out.server_cpu_s = server_cpu_s(target.pid) - cpu
    except Exception as exc:
        out.failure = f"{type(exc).__name__}: {exc}"
        return out
    finally:
        watchdog.cancel()
        for child in children:
            _reap(child)
    for result in results:
        if "failure" in result:
            out.failure = result["failure"]
            continue
        out.calls += len(result["latencies"])
        out.late += result["late"]
        out.latencies += result["latencies"] + result["late_latencies"]
        out.errors += result["errors"]
        out.sample_error = out.sample_error or result["sample_error"]
        out.client_cpu_s += result["cpu_s"]
    return out


def _spawn() -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "benchmarks.load_client"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )


def _reap(child: subprocess.Popen) -> None:
    try:
        child.wait(timeout=30)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
    for stream in (child.stdin, child.stdout):
        with contextlib.suppress(OSError):
            stream.close()


server_cpu_s = process_cpu_s  # user + system CPU seconds of a process so far (/proc)


def _target(level: Level) -> tuple[str, Callable[[Spread | None, list[float], list[float]], bool | None]]:
    if level.clients == LEVELS[-1]:

        def at_top(ratio: Spread | None, ours: list[float], peer: list[float]) -> bool | None:
            if ratio is None or not ours or not peer:
                return None
            return ratio.median >= TARGET_RATIO and percentile(ours, 99) <= percentile(peer, 99)

        return f"≥ {TARGET_RATIO}× peer, p99 ≤ peer", at_top
    previous = baseline.HTTP_RATIO.get(level.clients) if level.era == mcp_http.LEGACY else None
    if previous is None:
        return "new figure (no previous)", lambda *_: None

    def no_worse(ratio: Spread | None, *_: list[float]) -> bool | None:
        return (
            None
            if ratio is None
            else baseline.no_worse(ratio.median, previous, lower_is_better=False) == "yes"
        )

    return baseline.target_at_least(previous, "{}×"), no_worse


def section(levels: list[Level], seconds: float, slices: int) -> Section:
    rows, notes = [], []
    for level in levels:
        ratio = paired_ratios(level.rates("ops-mcp"), level.rates("peer"))
        target, check = _target(level)
        ours, peer = level.latencies_ms("ops-mcp"), level.latencies_ms("peer")
        rows.append(
            Row(
                "3 HTTP throughput",
                f"{ERA_LABEL[level.era]}, {level.clients} client{'s' if level.clients > 1 else ''}: calls/s; "
                "p50 / p99 ms; server CPU per call",
                _show(level, "ops-mcp"),
                _show(level, "peer"),
                show_ratio(ratio),
                target,
                verdict(check(ratio, ours, peer)),
            )
        )
        for side in SIDES:
            errors = sum(s.errors for s in level.slices[side])
            sample = next((s.sample_error for s in level.slices[side] if s.sample_error), "")
            if sample:
                notes.append(
                    f"{side}, {ERA_LABEL[level.era]}, {level.clients} clients: {errors} errors, e.g. {sample}"
                )
    top = [lv for lv in levels if lv.clients == LEVELS[-1]]
    load = "; ".join(
        f"{ERA_LABEL[lv.era]}: ops-mcp {_client_cpu(lv, 'ops-mcp')}, peer {_client_cpu(lv, 'peer')}"
        for lv in top
    )
    notes[:0] = [
        f"{slices} slices of {seconds:.0f} s per side and level, ops-mcp and peer slices interleaved (the side going "
        "first alternates); calls/s: median over a side's slices (min–max in brackets); ratio: median over "
        "pairs of ops-mcp's slice ÷ the peer's slice beside it; p50/p99 over every call of the level, calls still "
        "running when a slice's window closed included (they are waited for before the next slice starts).",
        'Load: SDK `Client` sessions (mcp, `mode="legacy"` for the handshake era, `mode="2026-07-28"` for the '
        "stateless era) in separate load-generator processes (`benchmarks/load_client.py`; one process for one "
        "client, two otherwise), opened and warmed up before a slice starts.",
        "Servers: one process each. ops-mcp: `ops-mcp serve --transport http`, one agent bearer token for every "
        "client, with that credential's share of the server (`[server.limits]`: calls, sessions and streams at "
        "once) raised to 256 so that no client is refused; peer: "
        'FastMCP `run("http")`. Both reach the sandbox over loopback with rate limits raised. The load, the '
        "servers and the sandbox share the machine's cores.",
        "Server CPU per call: user + system time of the server process from the start of a slice until its last "
        "call (calls running at the window's end are waited for, not timed) ÷ every call it answered. Load generator "
        f"CPU per call at {LEVELS[-1]} clients — {load}.",
    ]
    return Section("3. Hosted throughput", rows, notes=notes)


def _client_cpu(level: Level, side: str) -> str:
    done = [s for s in level.slices[side] if s.failure is None and s.calls + s.late]
    if not done:
        return "–"
    return f"{sum(s.client_cpu_s for s in done) / sum(s.calls + s.late for s in done) * 1000:.1f} ms"


def _show(level: Level, side: str) -> str:
    failure = level.failure(side)
    rates = level.rates(side)
    if not rates:
        return f"not measured: {failure or 'no slices'}"
    ms = level.latencies_ms(side)
    if not ms:
        return "no calls completed"
    done = [s for s in level.slices[side] if s.failure is None]
    cpu = sum(s.server_cpu_s for s in done) / max(1, sum(s.calls + s.late for s in done)) * 1000
    text = (
        f"{Spread.of(rates).show('{:.0f}')}/s; {percentile(ms, 50):.1f} / {percentile(ms, 99):.1f} ms; "
        f"{cpu:.1f} ms CPU"
    )
    errors = sum(s.errors for s in level.slices[side])
    text += f"; {errors} errors" if errors else ""
    return text + (f"; a slice failed: {failure}" if failure else "")
