"""``make profile``: where a call's time goes in ops-mcp's server process, per transport, written to
PROFILE.md. The peer gets the same workloads, for comparison.

    python -m benchmarks.profiling            # the committed profile (about 4 minutes on 2 cores)
    python -m benchmarks.profiling --quick    # a smoke run of the method

Method: the servers are started exactly as ``make bench`` starts them (the ``ops-mcp`` command line;
the peer's script), against the same sandbox, warmed up, and then sampled from outside by py-spy
(``py-spy record --pid``: ``--rate`` samples a second, ``--nonblocking`` so the process is never
paused, ``--threads``, idle threads left out) for a fixed workload: sequential read calls over stdio,
sequential write calls over stdio, and 32 HTTP clients for a fixed time in each protocol era (load
from separate processes, as in figure 3). No environment variable or code path of the server is
involved. ``stacks.py`` turns the samples into shares; the same command and plan give the same
workload, and shares move by a few points between runs (sampling, and a shared machine).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import mcp_http, peer_env, servers, stacks, throughput, workload
from .configs import FULL_AGENT, WORK, bench_toml
from .peer_launch import peer_stdio
from .sandbox_proc import Sandbox

OUT = Path(__file__).resolve().parent / "PROFILE.md"
WARMUP = 50
TOP = 10


@dataclass(frozen=True)
class Plan:
    rate: int = 200
    read_calls: int = 3000
    write_calls: int = 1500
    http_seconds: float = 15.0
    http_clients: int = 32

    @classmethod
    def quick(cls) -> Plan:
        return cls(read_calls=300, write_calls=150, http_seconds=3.0)


@dataclass
class Scenario:
    side: str
    transport: str
    calls: int = 0
    seconds: float = 0.0
    cpu_s: float = 0.0  # the server process's user + system CPU over the sampled window (/proc)
    profile: stacks.Profile = field(default_factory=stacks.Profile)
    failure: str | None = None

    @property
    def cpu_ms_per_call(self) -> float:
        return self.cpu_s / self.calls * 1000 if self.calls else 0.0

    def ms(self, count: int) -> float:
        """A share of the samples as CPU time per call: share × the server's measured CPU per call."""
        return self.profile.share(count) * self.cpu_ms_per_call


def log(message: str) -> None:
    print(f"[profile {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def py_spy() -> str:
    found = Path(sys.executable).with_name("py-spy")
    if found.is_file():
        return str(found)
    which = shutil.which("py-spy")
    if which is None:
        raise RuntimeError("py-spy is not installed: pip install -e '.[bench]'")
    return which


@contextmanager
def sampled(pid: int, raw: Path, rate: int, into: Scenario):
    """py-spy on ``pid`` for the duration of the block; its stacks parsed into ``into.profile``."""
    log_path = raw.with_suffix(".log")
    with open(log_path, "wb") as spy_log:
        spy = subprocess.Popen(
            [py_spy(), "record", "--pid", str(pid), "--rate", str(rate), "--format", "raw", "--output", str(raw),
             "--nonblocking", "--function", "--threads", "--full-filenames"],
            stdin=subprocess.DEVNULL, stdout=spy_log, stderr=spy_log,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while b"Sampling process" not in log_path.read_bytes():  # attached and sampling
            if spy.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"py-spy did not start: {log_path.read_text()[-400:]}")
            time.sleep(0.05)
        began, cpu = time.perf_counter(), throughput.server_cpu_s(pid)
        yield
        into.seconds = time.perf_counter() - began
        into.cpu_s = throughput.server_cpu_s(pid) - cpu
    finally:
        spy.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
        try:
            spy.wait(timeout=60)
        except subprocess.TimeoutExpired:
            spy.kill()
            spy.wait()
    if raw.is_file():
        into.profile = stacks.parse(raw.read_text().splitlines())


def stdio_scenario(side: str, kind: str, launch, tool: str | None, args, calls: int, rate: int) -> Scenario:
    scenario = Scenario(side, f"stdio {kind} call")
    if tool is None:
        scenario.failure = f"the {kind} tool is missing from the tool list"
        return scenario
    try:
        with launch() as server:
            server.start()
            for _ in range(WARMUP):
                server.call(tool, args())
            with sampled(server.pid, WORK / f"profile-{side}-stdio-{kind}.txt", rate, scenario):
                for _ in range(calls):
                    server.call(tool, args())
            scenario.calls = calls
    except Exception as exc:
        scenario.failure = f"{type(exc).__name__}: {exc}"
    return scenario


def http_scenario(side: str, target: throughput.Target, era: str, plan: Plan) -> Scenario:
    scenario = Scenario(side, f"HTTP, {plan.http_clients} clients, {throughput.ERA_LABEL[era]}")
    raw = WORK / f"profile-{side}-http-{era}.txt"
    done = throughput.run_slice(
        target,
        era,
        plan.http_clients,
        plan.http_seconds,
        around=lambda: sampled(target.pid, raw, plan.rate, scenario),
    )
    scenario.calls = done.calls + done.late
    scenario.failure = done.failure
    return scenario


def run(plan: Plan) -> list[Scenario]:
    peer_python = None
    try:
        peer_python = peer_env.ensure(log=log)
    except Exception as exc:
        log(f"peer unavailable, profiling ops-mcp only: {exc}")
    config = WORK / "profile.toml"
    sandbox = Sandbox(config, name="sandbox-profile")
    config.write_text(bench_toml(sandbox.url, WORK / "state-profile"))
    out: list[Scenario] = []
    with sandbox:
        call = workload.discover(sandbox.base("remote"))
        sides = {"ops-mcp": (lambda: servers.ops_stdio(config), workload.OPS_TOOL, workload.OPS_WRITE_TOOL)}
        if peer_python:
            with peer_stdio(peer_python, sandbox.url) as listing:
                listing.start()
                call = call.with_peer(listing.tools)
            sides["peer"] = (
                lambda: peer_stdio(peer_python, sandbox.url),
                call.peer_tool,
                call.peer_write_tool,
            )
        writes = {"ops-mcp": workload.ops_write_arguments, "peer": workload.peer_write_arguments}
        for side, (launch, read_tool, write_tool) in sides.items():
            log(f"{side}: stdio read, {plan.read_calls} calls")
            out.append(
                stdio_scenario(
                    side,
                    "read",
                    launch,
                    read_tool,
                    workload.constant(call.arguments),
                    plan.read_calls,
                    plan.rate,
                )
            )
            log(f"{side}: stdio write, {plan.write_calls} calls")
            out.append(
                stdio_scenario(side, "write", launch, write_tool, writes[side], plan.write_calls, plan.rate)
            )
        token = servers.agent_token(config, FULL_AGENT)
        for era in mcp_http.ERAS:
            log(f"ops-mcp: HTTP, {plan.http_clients} clients, {era}, {plan.http_seconds:g} s")
            with servers.ops_http(config) as ours:
                target = throughput.Target(ours.url, ours.pid, token, workload.OPS_TOOL, call.arguments)
                out.append(http_scenario("ops-mcp", target, era, plan))
            if peer_python:
                log(f"peer: HTTP, {plan.http_clients} clients, {era}, {plan.http_seconds:g} s")
                with servers.peer_http(peer_python, sandbox.url) as peer:
                    target = throughput.Target(peer.url, peer.pid, None, call.peer_tool, call.arguments)
                    out.append(http_scenario("peer", target, era, plan))
    return out


# -- PROFILE.md ---------------------------------------------------------------------------------------
PLUMBING = stacks.PLUMBING


def _pct(profile: stacks.Profile, count: int) -> str:
    return f"{profile.share(count):.1%}"


def _cell(scenario: Scenario, count: int) -> str:
    if scenario.failure or not scenario.profile.samples:
        return "–"
    return f"{_pct(scenario.profile, count)} ({scenario.ms(count):.2f} ms)"


def owner_rows(scenarios: list[Scenario]) -> list[str]:
    """Owners as the summary shows them: parties, ops-mcp grouped, then ops-mcp modules ≥ 1% anywhere."""
    parties = sorted(
        {o for s in scenarios for o in s.profile.by_owner if not o.startswith("ops-mcp: ")},
        key=lambda o: -max(s.profile.share(s.profile.by_owner[o]) for s in scenarios),
    )
    modules = sorted(
        {
            o
            for s in scenarios
            for o, n in s.profile.by_owner.items()
            if o.startswith("ops-mcp: ") and s.profile.share(n) >= 0.01
        },
        key=lambda o: -max(s.profile.share(s.profile.by_owner[o]) for s in scenarios),
    )
    has_ops = any(s.profile.owner_group("ops-mcp") for s in scenarios)
    return (["ops-mcp"] if has_ops else []) + parties + modules


def summary_table(scenarios: list[Scenario]) -> list[str]:
    lines = [
        "| owner | " + " | ".join(s.transport for s in scenarios) + " |",
        "|---|" + "---|" * len(scenarios),
    ]
    for owner in owner_rows(scenarios):
        label = "ops-mcp (every module)" if owner == "ops-mcp" else owner.replace("ops-mcp: ", "  ↳ ")
        cells = []
        for s in scenarios:
            count = (
                s.profile.owner_group("ops-mcp") if owner == "ops-mcp" else s.profile.by_owner.get(owner, 0)
            )
            cells.append(_cell(s, count))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append(
        "| **server CPU per call (/proc), = 100%** | "
        + " | ".join(f"{s.cpu_ms_per_call:.2f} ms" if s.calls else "–" for s in scenarios)
        + " |"
    )
    return lines


def _ranked(title: str, profile: stacks.Profile, counter) -> list[str]:
    rows = stacks.top(counter, TOP)
    out = [f"| {title} | share |", "|---|---|"]
    out += [f"| `{name}` | {_pct(profile, n)} |" for name, n in rows]
    return out


def detail(scenario: Scenario) -> list[str]:
    p = scenario.profile
    head = f"### {scenario.side}: {scenario.transport}"
    if scenario.failure:
        return [head, "", f"Not profiled: {scenario.failure}", ""]
    rps = scenario.calls / scenario.seconds if scenario.seconds else 0
    sdk = p.owner_group("mcp SDK")
    lines = [
        head,
        "",
        f"{scenario.calls:,} calls in {scenario.seconds:.1f} s under the profiler ({rps:.0f} calls/s); server CPU "
        f"{scenario.cpu_ms_per_call:.2f} ms per call; {p.samples:,} busy samples ({p.waiting:,} more of threads "
        f"waiting, left out). **The SDK's own work: {p.share(sdk):.1%} of the samples, ≈ {scenario.ms(sdk):.2f} ms "
        "of CPU per call**"
        + (
            f"; with its SSE framing {p.share(sdk + p.by_owner.get('SSE framing (sse-starlette)', 0)):.1%}."
            if p.by_owner.get("SSE framing (sse-starlette)")
            else "."
        ),
        "",
    ]
    modules_self = {k: v for k, v in p.by_package_self.items() if k.startswith("ops_mcp")}
    modules_cum = {k: v for k, v in p.by_package_cum.items() if k.startswith("ops_mcp")}
    from collections import Counter

    lines += _ranked(
        "package, cumulative (on the stack, below the dispatching frame)", p, p.by_package_cum
    ) + [""]
    lines += _ranked("package, self (running)", p, p.by_package_self) + [""]
    lines += _ranked("ops-mcp module, cumulative", p, Counter(modules_cum)) + [""]
    lines += _ranked("ops-mcp module, self", p, Counter(modules_self)) + [""]
    lines += _ranked("function, self", p, p.by_function_self) + [""]
    lines += _ranked("function, cumulative (below the dispatching frame)", p, p.by_function_cum)
    lines += [""] + _ranked("thread", p, p.by_thread) + [""]
    return lines


def _method() -> str:
    text = " ".join((__doc__ or "").split("Method: ", 1)[-1].split())
    return text[:1].upper() + text[1:]


def render(
    scenarios: list[Scenario], plan: Plan, argv: list[str], minutes: float, load: tuple[float, float]
) -> str:
    ours = [s for s in scenarios if s.side == "ops-mcp"]
    peer = [s for s in scenarios if s.side == "peer"]
    command = "make profile" if not argv else "python -m benchmarks.profiling " + " ".join(argv)
    lines = [
        "# Profile: where a call's time goes, per transport",
        "",
        f"Generated by `{command}` — do not edit; rerun it. {_method()}",
        "",
        f"- Date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}; whole run {minutes:.1f} min; "
        f"{os.cpu_count()} cores; 1-min load average {load[0]:.2f} at the start, {load[1]:.2f} at the end",
        f"- Plan: {plan.__dict__}",
        "- Shares are of busy samples (threads of the server process neither idle nor waiting); the ms in brackets "
        "is that share of the server's CPU per call as /proc measured it over the same window. A thread that is "
        "runnable but waiting for a core counts as busy where it stands, so on a loaded machine shares lean "
        "towards code that hands work between threads. The profiler's own CPU competes for the same cores, so "
        "calls/s under it are lower than in RESULTS.md.",
        "- **Owner**: walking a sample's stack from the running frame toward the root, the first frame of a "
        "named party (ops-mcp by module, the mcp SDK, httpx/httpcore, uvicorn/h11, starlette, sse-starlette, "
        "jsonschema, fastmcp); standard library, anyio and pydantic frames count for whoever called them. "
        f'"{PLUMBING}" is a sample with no named frame between the running frame and the callback or thread '
        "that dispatched it. **The SDK's own work** is what the mcp SDK owns.",
        "",
        "## ops-mcp: top costs by owner, per transport",
        "",
        *summary_table(ours),
        "",
    ]
    if peer:
        lines += [
            "## The peer (FastMCP from_openapi), same workloads",
            "",
            *summary_table(peer),
            "",
        ]
    lines += ["## Detail", ""]
    for scenario in ours + peer:
        lines += detail(scenario)
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a short run of the same method")
    parser.add_argument("--out", type=Path, default=OUT)
    raw = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(raw)
    plan = Plan.quick() if args.quick else Plan()
    for stale in WORK.glob("state-profile*"):
        shutil.rmtree(stale, ignore_errors=True)
    WORK.mkdir(parents=True, exist_ok=True)
    started, before = time.monotonic(), os.getloadavg()[0]
    log(f"load average at the start: {before:.2f}")
    scenarios = run(plan)
    after = os.getloadavg()[0]
    log(f"load average at the end: {after:.2f}")
    text = render(scenarios, plan, raw, (time.monotonic() - started) / 60, (before, after))
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
