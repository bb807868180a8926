"""Coordination in the Prometheus metrics: is the budget shared, and by how many replicas."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from .base import CoordinationStatus


class CoordinationCollector:
    """``ops_mcp_coordination_ok`` (0: Redis unreachable, budgets cut to this replica's share) and
    ``ops_mcp_coordination_replicas`` (live replicas sharing each budget), read at scrape time."""

    def __init__(self, status: Callable[[], CoordinationStatus]) -> None:
        self._status = status

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        status = self._status()
        ok = GaugeMetricFamily(
            "ops_mcp_coordination_ok",
            "1 when budgets are shared as configured; 0 when cut to a local share.",
            labels=["engine"],
        )
        ok.add_metric([status.engine], 1.0 if status.ok else 0.0)
        replicas = GaugeMetricFamily("ops_mcp_coordination_replicas", "Live replicas sharing each budget.")
        replicas.add_metric([], float(status.replicas))
        yield ok
        yield replicas
