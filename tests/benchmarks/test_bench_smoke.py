"""Smoke test of the benchmark harness pieces that need no peer venv and no timing: token counting of
ops-mcp's own tool lists, the results table, and the helpers figures rely on. No timed assertions."""

from __future__ import annotations

from benchmarks import rate_limit, report, schema_check, stats, tool_tokens


def test_tool_tokens_of_ops_mcp_without_the_peer():
    rows = tool_tokens.measure(peer=None)
    full = rows["full"]
    assert full.tools == len(tool_tokens.full_catalogue()) > 0
    assert full.total > full.median > 0
    narrow = rows["narrow"]
    assert 0 < narrow.tools < full.tools and narrow.total < full.total
    discovery = rows["discovery"]
    assert isinstance(discovery, str) or discovery.total < narrow.total
    assert rows["peer"].startswith("not measured")
    section = tool_tokens.section(rows)
    text = report.render([section], "# header")
    assert "| 4 tool-list tokens | full catalogue, cl100k tokens |" in text
    assert "not measured" in text


def test_spread_and_percentile():
    spread = stats.Spread.of([3.0, 1.0, 2.0])
    assert (spread.median, spread.low, spread.high) == (2.0, 1.0, 3.0)
    assert spread.show() == "2 (1–3)"
    assert stats.percentile(list(range(1, 101)), 99) == 99


def test_rate_limit_errors_are_recognised_on_both_sides():
    assert rate_limit.is_rate_limited(
        "Remote (acme) rate limit is used up for now. Retry in about 12 seconds"
    )
    assert rate_limit.is_rate_limited("HTTP error 429: Too Many Requests")
    assert not rate_limit.is_rate_limited("Employment not found")
    assert rate_limit.Outcome(600, succeeded=600, elapsed=120.0).share == 1.0


def test_schema_check_names_the_mismatch():
    tools = [{"name": "t", "outputSchema": {"type": "object", "properties": {"a": {"type": "string"}}}}]
    assert schema_check.check(tools, "t", {"structuredContent": {"a": "x"}}).startswith("result matches")
    assert "`a`" in schema_check.check(tools, "t", {"structuredContent": {"a": {"b": 1}}})
