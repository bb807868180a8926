"""Observability: one event per notable thing, and counters built from them.

A metrics exporter can subscribe with ``UpstreamClient(events=callback)`` or read
``client.stats``; neither ever carries a token or an argument value.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from ..records import Frozen, Record, set_fields

# Event kinds
REQUEST = "request"  # one HTTP attempt finished (status None: no response)
RETRY = "retry"  # an attempt is being repeated (reason in `detail`)
RATE_LIMIT_WAIT = "rate_limit_wait"  # a call waited for its budget (`wait_s`)
UPSTREAM_429 = "upstream_429"  # the back end answered 429 despite pacing
TOKEN_REQUEST = "token_request"  # an OAuth token was requested


class UpstreamEvent(Frozen):
    __slots__ = ("kind", "backend", "connection", "tool", "status", "wait_s", "duration_ms", "detail")
    kind: str
    backend: str
    connection: str
    tool: str | None
    status: int | None
    wait_s: float
    duration_ms: float
    detail: str | None

    def __init__(
        self,
        kind: str,
        backend: str,
        connection: str,
        tool: str | None = None,
        status: int | None = None,
        wait_s: float = 0.0,
        duration_ms: float = 0.0,
        detail: str | None = None,
    ) -> None:
        set_fields(self, kind=kind, backend=backend, connection=connection, tool=tool, status=status, wait_s=wait_s,
                   duration_ms=duration_ms, detail=detail)


class UpstreamStats(Record):
    """Counters by (kind, backend, status/detail) plus total rate-limit wait seconds."""

    __slots__ = ("counts", "rate_limit_wait_s")
    counts: Counter[tuple[str, str, object]]
    rate_limit_wait_s: float

    def __init__(self, counts: Counter[tuple[str, str, object]] | None = None, rate_limit_wait_s: float = 0.0) -> None:
        self.counts = Counter() if counts is None else counts
        self.rate_limit_wait_s = rate_limit_wait_s

    def record(self, event: UpstreamEvent) -> None:
        label = event.status if event.kind in (REQUEST, TOKEN_REQUEST) else event.detail
        self.counts[(event.kind, event.backend, label)] += 1
        if event.kind == RATE_LIMIT_WAIT:
            self.rate_limit_wait_s += event.wait_s

    def total(self, kind: str, backend: str | None = None, label: object = ...) -> int:
        return sum(
            n
            for (k, b, lab), n in self.counts.items()
            if k == kind and (backend is None or b == backend) and (label is ... or lab == label)
        )


EventSink = Callable[[UpstreamEvent], None]
