"""One in-memory span exporter for the whole test process (a tracer provider can be set only once).

Spans reach the exporter only while a test records (``recording``): once a provider is installed the MCP
SDK's client spans of every later test in the process would otherwise pile up in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_EXPORTER: Any = None
_GATE: dict[str, bool] = {"open": False}


def memory_exporter() -> Any:
    """The process's in-memory exporter, on the global SDK tracer provider (installed on first use)."""
    global _EXPORTER
    if _EXPORTER is None:
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        class GatedProcessor(SimpleSpanProcessor):
            def on_end(self, span: Any) -> None:
                if _GATE["open"]:
                    super().on_end(span)

        provider = trace.get_tracer_provider()
        if not isinstance(provider, TracerProvider):
            provider = TracerProvider()
            trace.set_tracer_provider(provider)
        _EXPORTER = InMemorySpanExporter()
        provider.add_span_processor(GatedProcessor(_EXPORTER))
    return _EXPORTER


@contextmanager
def recording() -> Iterator[Any]:
    exporter = memory_exporter()
    exporter.clear()
    _GATE["open"] = True
    try:
        yield exporter
    finally:
        _GATE["open"] = False
        exporter.clear()


def tree(spans: list[Any], root: Any) -> dict[str, Any]:
    """``{name: subtree}`` of the spans under ``root``, for readable assertions."""
    children = [s for s in spans if s.parent is not None and s.parent.span_id == root.context.span_id]
    return {s.name: tree(spans, s) for s in sorted(children, key=lambda s: s.start_time)}
