"""Prometheus metrics at ``/metrics`` when ``prometheus-client`` is installed (the ``metrics`` extra).

Calls and decisions come from the audit records (every call writes exactly one), upstream status and
rate-limit waits from the upstream client's counters (read at scrape time), HTTP and webhook outcomes
from the app itself. Labels are bounded (agent, back end, decision, status, route): never a token, an
argument value or an id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

if TYPE_CHECKING:
    from ..audit import AuditRecord
    from ..upstream.events import UpstreamStats

StatsSource = Callable[[], "UpstreamStats | None"]

ROUTES = ("/mcp", "/sse", "/messages/", "/healthz", "/readyz", "/metrics", "/webhooks/", "/.well-known/")


def create_metrics(upstream_stats: StatsSource) -> Metrics | None:
    """Metrics, when ``prometheus-client`` is installed; ``upstream_stats`` is read at scrape time only."""
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        return None
    return Metrics(upstream_stats)


class Metrics:
    def __init__(self, upstream_stats: StatsSource) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        # A registry per app: several apps (replicas in tests) in one process must not collide.
        self.registry = CollectorRegistry()
        self.calls = Counter("ops_mcp_tool_calls", "Tool calls by agent, back end and decision.",
                             ["agent", "backend", "decision"], registry=self.registry)
        self.latency = Histogram("ops_mcp_tool_call_seconds", "Tool call latency, end to end.", ["backend"],
                                 registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
        self.http = Counter("ops_mcp_http_requests", "HTTP requests by route and status.", ["route", "status"],
                            registry=self.registry)
        self.webhooks = Counter("ops_mcp_webhooks", "Webhook deliveries by back end and outcome.",
                                ["backend", "outcome"], registry=self.registry)
        self.registry.register(_UpstreamCollector(upstream_stats))

    def record_call(self, record: AuditRecord) -> None:
        """Count one finished call (the recorder hands over every audit record)."""
        backend = record.backend or "ops-mcp"
        self.calls.labels(record.agent, backend, record.decision).inc()
        if record.duration_ms is not None:
            self.latency.labels(backend).observe(record.duration_ms / 1000)

    def webhook(self, backend: str, outcome: str) -> None:
        self.webhooks.labels(backend, outcome).inc()

    def route(self) -> Route:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        async def metrics(request: Request) -> Response:
            return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)

        return Route("/metrics", metrics, methods=["GET"])

    def middleware(self, app: Any) -> Any:
        return _HttpMetrics(app, self)


class _HttpMetrics:
    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        route = next((r for r in ROUTES if path == r or (r.endswith("/") and path.startswith(r))), "other")
        status = {"code": 500}

        async def capture(message: Any) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            self.metrics.http.labels(route, str(status["code"])).inc()


class _UpstreamCollector:
    """Upstream responses, retries, 429s and rate-limit waits, from the upstream client's counters."""

    def __init__(self, stats: StatsSource) -> None:
        self._stats = stats

    def collect(self):
        from prometheus_client.core import CounterMetricFamily

        requests = CounterMetricFamily("ops_mcp_upstream_requests", "Upstream HTTP attempts by back end and status.",
                                       labels=["backend", "status"])
        other = CounterMetricFamily("ops_mcp_upstream_events", "Upstream retries, 429s, waits and token requests.",
                                    labels=["backend", "kind"])
        waited = CounterMetricFamily("ops_mcp_rate_limit_wait_seconds", "Time calls waited for rate-limit budget.")
        stats = self._stats()
        if stats is not None:
            # Sum over the detail label (retry reasons...), which is not bounded enough to export.
            by_status: dict[tuple[str, str], int] = {}
            by_kind: dict[tuple[str, str], int] = {}
            for (kind, backend, label), count in list(stats.counts.items()):
                if kind == "request":
                    key = (backend, str(label) if label is not None else "none")
                    by_status[key] = by_status.get(key, 0) + count
                else:
                    by_kind[(backend, kind)] = by_kind.get((backend, kind), 0) + count
            for labels, count in sorted(by_status.items()):
                requests.add_metric(list(labels), count)
            for labels, count in sorted(by_kind.items()):
                other.add_metric(list(labels), count)
            waited.add_metric([], stats.rate_limit_wait_s)
        yield requests
        yield other
        yield waited
