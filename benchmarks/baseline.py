"""The figures of the previous RESULTS.md (2026-11-24, before issue 17), kept as the baseline.

Issue 17 asks that every figure without a target of its own be "no worse than today". Timed figures
are compared as ratios to the peer (both sides share the machine's load, so a ratio carries across
days; an absolute time does not); counts and sizes are compared as they are. Those figures were
measured with a byte-at-a-time stdio client and without interleaving, so per-call times are not
comparable and are not used here.
"""

from __future__ import annotations

from .report import verdict

DATE = "2026-11-24"

COLD_START_RATIO = 0.41  # ops-mcp ÷ peer, spawn → tools/list
HTTP_RATIO = {1: 0.89, 8: 1.13, 32: 1.00}  # calls/s ratios, handshake era (the only era measured then)
OWN_OVERHEAD_MS = 0.53  # figure 2b, call_tool − the same GET through the same client
TOKENS_FULL = 15_386
TOKENS_MEDIAN_PER_TOOL = 148
TOKENS_NARROW = 3_640
TOKENS_DISCOVERY = 538
PEAK_RSS_RATIO = 0.79
RATE_LIMIT_ERRORS = 0
RATE_LIMIT_SHARE = 1.05


def target_at_most(previous: float, fmt: str = "{}") -> str:
    return f"≤ previous {fmt.format(previous)}"


def target_at_least(previous: float, fmt: str = "{}") -> str:
    return f"≥ previous {fmt.format(previous)}"


def no_worse(value: float | None, previous: float, *, digits: int = 2, lower_is_better: bool = True) -> str:
    """Says "yes" or "no" against the previous figure, compared at the precision it was published with;
    blank when this run has no value."""
    if value is None:
        return verdict(None)
    shown = round(value, digits)
    return verdict(shown <= previous if lower_is_better else shown >= previous)
