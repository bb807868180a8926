"""One in-memory span exporter for the whole test process (a tracer provider can be set only once)."""

from __future__ import annotations

from typing import Any

_EXPORTER: Any = None


def memory_exporter() -> Any:
    """The process's in-memory exporter, on the global SDK tracer provider (installed on first use)."""
    global _EXPORTER
    if _EXPORTER is None:
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        provider = trace.get_tracer_provider()
        if not isinstance(provider, TracerProvider):
            provider = TracerProvider()
            trace.set_tracer_provider(provider)
        _EXPORTER = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
    return _EXPORTER


def tree(spans: list[Any], root: Any) -> dict[str, Any]:
    """``{name: subtree}`` of the spans under ``root``, for readable assertions."""
    children = [s for s in spans if s.parent is not None and s.parent.span_id == root.context.span_id]
    return {s.name: tree(spans, s) for s in sorted(children, key=lambda s: s.start_time)}
