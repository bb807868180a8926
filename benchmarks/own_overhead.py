"""Figure 2b: ops-mcp's own per-call overhead — policy, validation, audit write and shaping — apart
from the MCP transport and the HTTP request.

The governed server's ``call_tool`` runs in this process against the same loopback sandbox as the
stdio figures; the same GET made through the same upstream client (auth, rate budget, the pooled
connection, JSON decoding) is the floor. Their difference is what ops-mcp adds to a call beyond
transport and network, which is what issue 7's 1.5 ms target names. The peer has no comparable seam
(its pipeline is the generated tool), so this figure is ops-mcp only. Internals are reached through
``ops_internals`` alone.
"""

from __future__ import annotations

import statistics
import tempfile
import time

import anyio

from . import baseline, ops_internals, workload
from .configs import sandbox_token
from .report import Row, Section, verdict
from .stats import Spread

TARGET_MS = 1.5
WARMUP = 50


def measure(
    remote_base: str, call: workload.ReadCall, runs: int, block: int
) -> tuple[list[float], list[float]]:
    """Per-run medians (ms) of ``call_tool`` and of the bare upstream request, interleaved by run."""
    with tempfile.TemporaryDirectory() as state:
        runtime, server = ops_internals.governed_stdio_server(
            {
                "storage": {"dir": state},
                "backends": {
                    "remote": {
                        "base_url": remote_base,
                        "token": sandbox_token("remote"),
                        "per_minute": 1_000_000,
                    },
                    "remoteops": {"enabled": False},
                },
                "agents": {"bench": {"areas": {"remote.*": "full"}, "tool_mode": "static"}},
            },
            "bench",
        )
        get = ops_internals.upstream_get(runtime, "bench", "remote")

        async def tool() -> None:
            result = await server.call_tool(workload.OPS_TOOL, dict(call.arguments))
            assert not result.is_error, result.content

        async def bare() -> None:
            assert await get(call.path) == 200

        async def block_median(step) -> float:
            samples = []
            for _ in range(block):
                began = time.perf_counter()
                await step()
                samples.append(time.perf_counter() - began)
            return statistics.median(samples) * 1000

        async def main() -> tuple[list[float], list[float]]:
            for _ in range(WARMUP):
                await tool()
                await bare()
            tools, bares = [], []
            for _ in range(runs):
                tools.append(await block_median(tool))
                bares.append(await block_median(bare))
            await runtime.aclose()
            return tools, bares

        return anyio.run(main)


def section(tools: list[float], bares: list[float], block: int) -> Section:
    overheads = [t - b for t, b in zip(tools, bares, strict=True)]
    spread = Spread.of(overheads)
    ms = {"fmt": "{:.2f}", "unit": " ms"}
    ok = spread.median <= TARGET_MS and baseline.no_worse(spread.median, baseline.OWN_OVERHEAD_MS) == "yes"
    rows = [
        Row(
            "2b own overhead",
            "ops-mcp call_tool in-process (policy, validation, audit, shaping, upstream)",
            Spread.of(tools).show(**ms),
            "peer: no comparable seam",
        ),
        Row(
            "2b own overhead",
            "the same GET through the same upstream client (floor)",
            Spread.of(bares).show(**ms),
            "",
        ),
        Row(
            "2b own overhead",
            "ops-mcp's own overhead = call_tool − floor",
            spread.show(**ms),
            "",
            target=f"≤ {TARGET_MS} ms; {baseline.target_at_most(baseline.OWN_OVERHEAD_MS, '{} ms')}",
            met=verdict(ok),
        ),
    ]
    notes = [
        f"{len(tools)} interleaved runs of {block} sequential `{workload.OPS_TOOL}` calls and of {block} bare "
        "GETs, in one process against the loopback sandbox; per-run medians, then the median (min–max).",
        "Includes the audit record's SQLite append (WAL) and the argument validation of every call.",
    ]
    return Section("2b. ops-mcp's own overhead", rows=rows, notes=notes)
