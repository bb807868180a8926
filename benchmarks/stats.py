"""Small statistics helpers shared by the figures (medians, spreads, percentiles)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Spread:
    """The median of repeated runs and their min–max range."""

    median: float
    low: float
    high: float
    runs: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if not values:
            raise ValueError("no values")
        return cls(statistics.median(values), min(values), max(values), len(values))

    def show(self, fmt: str = "{:.0f}", unit: str = "") -> str:
        body = fmt.format(self.median) + unit
        if self.runs > 1:
            body += f" ({fmt.format(self.low)}–{fmt.format(self.high)})"
        return body


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile; enough for latency tails of thousands of samples."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, round(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def ratio(ours: float | None, theirs: float | None) -> str:
    if ours is None or theirs is None or theirs == 0:
        return "–"
    return f"{ours / theirs:.2f}×"


def paired_ratios(ours: Sequence[float], theirs: Sequence[float]) -> Spread | None:
    """Ratios of blocks measured back to back (ours[i] beside theirs[i]): drift cancels within a pair."""
    pairs = [a / b if b else math.inf for a, b in zip(ours, theirs, strict=False) if a or b]
    return Spread.of(pairs) if pairs else None


def show_ratio(spread: Spread | None) -> str:
    """A paired ratio: its median, and the range over pairs when there is more than one. A pair whose
    peer block finished nothing (a saturated peer's throughput slice) is an unbounded ratio, shown ∞."""
    return spread.show("{:.2f}", "×").replace("inf", "∞") if spread else "–"
