"""Figure 2b: ops-mcp's own per-call overhead — policy, validation, audit write and shaping — apart
from the MCP transport and the HTTP request.

The governed server's ``call_tool`` runs in this process against the same loopback sandbox as the
stdio figures; the same GET made through the same upstream client (``request_json``: auth, rate
budget, the pooled connection, JSON decoding) is the floor. Their difference is what ops-mcp adds to a
call beyond transport and network, which is what issue 7's 1.5 ms target names. The peer has no
comparable seam (its pipeline is the generated tool), so this figure is ops-mcp only.
"""

from __future__ import annotations

import statistics
import tempfile
import time

import anyio

from . import workload
from .configs import sandbox_token
from .report import Row, Section, verdict
from .stats import Spread

TARGET_MS = 1.5
WARMUP = 50


def measure(remote_base: str, call: workload.ReadCall, runs: int, block: int) -> tuple[list[float], list[float]]:
    """Per-run medians (ms) of ``call_tool`` and of the bare upstream request, interleaved by run."""
    from ops_mcp.config import Settings
    from ops_mcp.runtime import build_runtime
    from ops_mcp.transports.stdio import build_stdio_server

    with tempfile.TemporaryDirectory() as state:
        settings = Settings(
            storage={"dir": state},
            backends={
                "remote": {"base_url": remote_base, "token": sandbox_token("remote"), "per_minute": 1_000_000},
                "remoteops": {"enabled": False},
            },
            agents={"bench": {"areas": {"remote.*": "full"}, "tool_mode": "static"}},
        )
        runtime = build_runtime(settings)
        server = build_stdio_server(runtime, "bench")
        connection = runtime.tenant_for("bench", "remote").connection

        async def tool() -> None:
            result = await server.call_tool(workload.OPS_TOOL, dict(call.arguments))
            assert not result.is_error, result.content

        async def bare() -> None:
            status, _ = await runtime.upstream.request_json(connection, "GET", call.path)
            assert status == 200

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
    rows = [
        Row("2b own overhead", "ops-mcp call_tool in-process (policy, validation, audit, shaping, upstream)",
            Spread.of(tools).show(**ms), "peer: no comparable seam"),
        Row("2b own overhead", "the same GET through the same upstream client (floor)",
            Spread.of(bares).show(**ms), ""),
        Row("2b own overhead", "ops-mcp's own overhead = call_tool − floor", spread.show(**ms), "",
            target=f"≤ {TARGET_MS} ms", met=verdict(spread.median <= TARGET_MS)),
    ]
    notes = [
        f"{len(tools)} interleaved runs of {block} sequential `{workload.OPS_TOOL}` calls and of {block} bare "
        "GETs, in one process against the loopback sandbox; per-run medians, then the median (min–max).",
        "Includes the audit record's SQLite append (WAL) and the argument validation of every call.",
    ]
    return Section("2b. ops-mcp's own overhead", rows=rows, notes=notes)

