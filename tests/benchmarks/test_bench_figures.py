"""Smoke test of the interleaved figures' arithmetic and verdicts, on fixed inputs: paired ratios, the
"met" column against issue 17's targets and the previous RESULTS.md, and the raw stdio client's
buffered reads (against a tiny scripted server). No timing is asserted; nothing is random."""

from __future__ import annotations

import io
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `benchmarks/` is a top-level folder, not part of the installed package
    sys.path.insert(0, str(ROOT))

from benchmarks.rawclient import StdioServer  # noqa: E402

from benchmarks import baseline, cold_start, load_client, report, stats, stdio_calls, throughput  # noqa: E402


def test_paired_ratios_take_each_pair_then_the_median():
    # A drift that doubles both sides' times between pairs leaves every ratio at 0.5.
    spread = stats.paired_ratios([1.0, 2.0, 4.0], [2.0, 4.0, 8.0])
    assert (spread.median, spread.low, spread.high, spread.runs) == (0.5, 0.5, 0.5, 3)
    assert stats.show_ratio(spread) == "0.50× (0.50–0.50)"
    assert stats.paired_ratios([], [1.0]) is None
    assert stats.show_ratio(None) == "–"


def test_no_worse_compares_at_the_published_precision():
    assert baseline.no_worse(0.414, 0.41) == "yes"  # shows as 0.41×, as before
    assert baseline.no_worse(0.416, 0.41) == "no"
    assert baseline.no_worse(1.13, 1.13, lower_is_better=False) == "yes"
    assert baseline.no_worse(1.12, 1.13, lower_is_better=False) == "no"
    assert baseline.no_worse(None, 1.0) == ""


def _row(section: report.Section, starts: str) -> report.Row:
    return next(r for r in section.rows if r.metric.startswith(starts))


def _stdio(ours_read, peer_read, ours_write=(3.0,), peer_write=(3.0,)) -> stdio_calls.StdioFigures:
    fig = stdio_calls.StdioFigures(rounds=len(ours_read), block=100, write_block=50)
    fig.get("ops-mcp", "read").block_ms = list(ours_read)
    fig.get("peer", "read").block_ms = list(peer_read)
    fig.get("ops-mcp", "write").block_ms = list(ours_write)
    fig.get("peer", "write").block_ms = list(peer_write)
    fig.get("floor", "direct").block_ms = [0.5] * len(ours_read)
    fig.get("sdk-echo", "echo").block_ms = [0.4] * len(ours_read)
    for kind in ("read", "write"):
        for side in ("ops-mcp", "peer"):
            fig.get(side, kind).client_cpu_ms = [0.05]
            fig.get(side, kind).server_cpu_ms = [2.0 if side == "ops-mcp" else 2.5] * len(ours_read)
    return fig


def test_stdio_read_target_is_met_only_at_or_below_0_8_of_the_peer():
    met = stdio_calls.overhead_section(_stdio([2.0, 2.1], [2.6, 2.7]))
    row = _row(met, "read call over stdio")
    assert row.ratio.startswith("0.77×") and row.met == "yes"
    missed = _row(stdio_calls.overhead_section(_stdio([2.6, 2.5], [2.5, 2.4])), "read call over stdio")
    assert row.target == missed.target == "≤ 0.8× peer"
    assert missed.met == "no"
    write = _row(met, "write call over stdio")
    assert write.ratio.startswith("1.00×") and write.met == ""
    cpu = _row(met, "server process CPU per call")
    assert (cpu.ours, cpu.peer) == ("2.00 ms / 2.00 ms", "2.50 ms / 2.50 ms")
    assert cpu.ratio == "0.80× (0.80–0.80) / 0.80× (0.80–0.80)"
    client = _row(met, "the benchmark client's own CPU")
    assert client.ours == "0.050 ms / 0.050 ms"
    # Overhead over the direct GET is per round: 2.0 − 0.5 and 2.1 − 0.5.
    assert _row(met, "read: overhead = server").ours == "1.55 ms (1.50–1.60)"


def test_memory_figure_compares_with_the_previous_ratio():
    fig = _stdio([2.0], [2.5])
    fig.sides = {
        "ops-mcp": stdio_calls.Side(lambda: None, {}, hwm_kb=[80_000, 81_024], calls_made=150),
        "peer": stdio_calls.Side(lambda: None, {}, hwm_kb=[110_000, 110_000], calls_made=150),
    }
    rows = stdio_calls.memory_section(fig).rows
    assert rows[0].ratio == "0.74×" and rows[0].met == "yes"
    assert rows[1].ours == "+1.0 MB" and rows[1].met == "yes"


def test_cold_start_ratio_gap_and_first_call_verdicts():
    result = cold_start.ColdStart(
        seconds={"ops-mcp": [0.70, 0.72], "peer": [1.80, 1.75], "sdk-floor": [0.62, 0.60]},
        first_excess_ms={"ops-mcp": [180.0, 190.0], "peer": [5.0, 6.0]},
    )
    rows = cold_start.section(result).rows
    assert rows[0].met == "yes"  # 0.39× and 0.41×: median 0.40×, ≤ 0.6× and ≤ the previous 0.41×
    assert rows[1].ours == "+100 ms (+80–+120)" and rows[1].met == "yes"  # the median gap is 100 ms
    assert rows[2].ours.startswith("+185.0 ms") and rows[2].met == "no"


def _level(era: str, clients: int, ours: list[float], peer: list[float], p99: tuple[float, float]):
    level = throughput.Level(era, clients)
    for rate in ours:
        level.slices["ops-mcp"].append(throughput.Slice(1.0, calls=int(rate), latencies=[p99[0] / 1000] * 10))
    for rate in peer:
        level.slices["peer"].append(throughput.Slice(1.0, calls=int(rate), latencies=[p99[1] / 1000] * 10))
    return level


def test_throughput_targets_at_32_clients_and_against_the_previous_ratios():
    levels = [
        _level("legacy", 8, [120, 130], [100, 110], (50, 60)),  # 1.20×, 1.18×: ≥ previous 1.13×
        _level("legacy", 32, [300, 320], [200, 200], (100, 150)),  # 1.55×, p99 below: met
        _level("2026-07-28", 32, [300, 320], [200, 200], (200, 150)),  # p99 above the peer's: not met
        _level("2026-07-28", 8, [100], [100], (1, 1)),  # no previous figure in this era
    ]
    rows = throughput.section(levels, 5.0, 2).rows
    assert rows[0].met == "yes" and rows[0].target == "≥ previous 1.13×"
    assert rows[1].ratio.startswith("1.55×") and rows[1].met == "yes"
    assert rows[2].met == "no"
    assert rows[3].met == "" and "new figure" in rows[3].target


def test_load_client_gives_the_peer_a_fresh_idempotency_key_per_call():
    first = load_client._arguments({"name": "x"}, "Idempotency-Key")
    second = load_client._arguments({"name": "x"}, "Idempotency-Key")
    assert first["name"] == "x" and first["Idempotency-Key"] != second["Idempotency-Key"]
    assert load_client._arguments({"name": "x"}, None) == {"name": "x"}


FAKE_SERVER = textwrap.dedent(
    """
    import json, sys
    for line in sys.stdin:
        msg = json.loads(line)
        if "id" not in msg:
            continue
        sys.stdout.write(json.dumps({"jsonrpc": "2.0", "method": "notifications/message"}) + "\\n")
        if msg["method"] == "tools/list":
            result = {"tools": [{"name": "big"}]}
        elif msg["method"] == "tools/call":
            result = {"content": [{"type": "text", "text": "x" * 20000}]}
        else:
            result = {}
        sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": result}) + "\\n")
        sys.stdout.flush()
    """
)


def test_raw_client_reads_buffered_and_counts_its_own_cost(tmp_path: Path):
    script = tmp_path / "fake_server.py"
    script.write_text(FAKE_SERVER)
    with StdioServer([sys.executable, str(script)], log_path=tmp_path / "fake.log") as server:
        server.start()
        assert isinstance(server.proc.stdout, io.BufferedReader)  # not one read() per byte
        assert server.tools == [{"name": "big"}]
        received = server.received_bytes
        result = server.call("big", {})
        assert result["content"][0]["text"] == "x" * 20000
        # The notification before the answer is read and skipped, not returned.
        assert server.received_bytes - received > 20000
        assert server.client_cpu_s >= 0.0


def test_a_peer_slice_that_finished_nothing_is_an_unbounded_ratio():
    spread = stats.paired_ratios([30.0, 40.0, 0.0], [0.0, 20.0, 0.0])
    assert spread.runs == 2 and spread.median == float("inf")
    assert stats.show_ratio(spread) == "∞× (2.00–∞)"
