"""OpenTelemetry traces following the MCP semantic conventions — only when configured.

The MCP SDK opens the server span of every request (``tools/call <tool>``, kind SERVER, with
``mcp.method.name``, ``gen_ai.tool.name``, ``error.type``, its parent read from ``params._meta``'s
``traceparent``). ops-mcp adds ``mcp.session.id`` and the transport to it, and child spans for the steps
of a call: ``ops_mcp.policy``, ``ops_mcp.confirmation``, ``ops_mcp.upstream`` (with one HTTP client span
per attempt under it) and ``ops_mcp.audit``. No argument value, token or result ever goes into a span.

Tracing is off unless ``[telemetry] enabled = true`` or the standard environment asks for it
(``OTEL_TRACES_EXPORTER``, ``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``;
``OTEL_SDK_DISABLED=true`` wins). Off, nothing here imports OpenTelemetry's SDK, and the server carries
no tracing middleware at all. On, it needs the ``otel`` extra (``pip install 'ops-mcp[otel]'``); a
tracer provider the embedding program already installed is used as it is.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from . import __version__
from .config import ConfigError

if TYPE_CHECKING:
    from .config import Settings

_OTEL_SWITCHES = ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
INSTALL_HINT = "pip install 'ops-mcp[otel]'"


def tracing_requested(settings: Settings) -> bool:
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if settings.telemetry.enabled:
        return True
    exporter = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    return any(os.environ.get(name, "").strip() for name in _OTEL_SWITCHES)


def configure_tracing(settings: Settings) -> Tracing | None:
    """A ``Tracing`` when tracing is asked for (installing a tracer provider if none is), else None."""
    if not tracing_requested(settings):
        return None
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        raise ConfigError(f"telemetry: tracing is configured but OpenTelemetry's SDK is missing: {INSTALL_HINT}") from None
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):  # the embedding program (or opentelemetry-instrument) set one up
        return Tracing(current)
    provider = TracerProvider(resource=Resource.create({
        "service.name": os.environ.get("OTEL_SERVICE_NAME") or settings.telemetry.service_name,
        "service.version": __version__,
    }))
    provider.add_span_processor(BatchSpanProcessor(_exporter(settings)))
    trace.set_tracer_provider(provider)
    return Tracing(trace.get_tracer_provider())


def _exporter(settings: Settings) -> Any:
    choice = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() or settings.telemetry.exporter
    if choice == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter(out=sys.stderr)  # stdout is the stdio transport
    if choice != "otlp":
        raise ConfigError(f"telemetry.exporter: {choice!r} is not supported (otlp or console)")
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        raise ConfigError(f"telemetry: the OTLP exporter is missing: {INSTALL_HINT}") from None
    endpoint = settings.telemetry.endpoint
    return OTLPSpanExporter(endpoint=endpoint) if endpoint else OTLPSpanExporter()


class Tracing:
    """ops-mcp's spans, on one tracer provider."""

    def __init__(self, provider: Any) -> None:
        self.provider = provider
        self.tracer = provider.get_tracer("ops-mcp", __version__)

    @contextlib.contextmanager
    def span(self, name: str, attributes: dict[str, Any] | None = None, *, kind: Any = None) -> Iterator[Any]:
        """A span that records an exception by its type only: exception texts may echo agent input."""
        from opentelemetry.trace import SpanKind, StatusCode

        with self.tracer.start_as_current_span(name, kind=kind or SpanKind.INTERNAL, attributes=attributes,
                                               record_exception=False, set_status_on_exception=False) as span:
            try:
                yield span
            except BaseException as exc:
                span.set_attribute("error.type", type(exc).__qualname__)
                span.set_status(StatusCode.ERROR)
                raise

    def annotate_request(self, *, agent: str | None, session_id: str | None, transport: str) -> None:
        """What only ops-mcp knows, on the SDK's server span of this request."""
        from opentelemetry.trace import get_current_span

        span = get_current_span()
        attributes = {"network.transport": "pipe" if transport == "stdio" else "tcp"}
        if transport != "stdio":
            attributes["network.protocol.name"] = "http"
        if session_id:
            attributes["mcp.session.id"] = session_id
        if agent:
            attributes["ops_mcp.agent"] = agent
        span.set_attributes(attributes)

    # -- wrappers the runtime puts around the steps of a call ------------------------------------

    def confirmer(self, confirmer: Any) -> Any:
        return _TracedConfirmer(confirmer, self)

    def upstream(self, upstream: Any) -> Any:
        return _TracedUpstream(upstream, self)

    def audit_sink(self, sink: Any) -> Any:
        return _TracedAuditSink(sink, self)

    def http_transport(self, transport: Any) -> Any:
        """An httpx transport that opens an HTTP client span around every request it sends."""
        return _traced_transport(transport, self)


@contextlib.contextmanager
def step(tracing: Tracing | None, name: str, attributes: dict[str, Any] | None = None) -> Iterator[Any]:
    """A child span when tracing is on; nothing at all (not even an import) when it is off."""
    if tracing is None:
        yield None
        return
    with tracing.span(name, attributes) as span:
        yield span


class _TracedConfirmer:
    def __init__(self, inner: Any, tracing: Tracing) -> None:
        self._inner, self._tracing = inner, tracing

    def strip(self, arguments: dict[str, Any]) -> dict[str, Any]:
        return self._inner.strip(arguments)

    async def confirm(self, call: Any, endpoint: Any, arguments: dict[str, Any]) -> Any:
        with self._tracing.span("ops_mcp.confirmation", {"gen_ai.tool.name": endpoint.tool}) as span:
            verdict = await self._inner.confirm(call, endpoint, arguments)
            span.set_attribute("ops_mcp.confirmation.outcome", _outcome(verdict))
            return verdict

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _outcome(verdict: Any) -> str:
    """confirmed, input_required (a 2026 client is being asked), pending_approval or declined."""
    if hasattr(verdict, "by"):
        return "confirmed"
    if type(verdict).__name__ == "InputRequiredResult":
        return "input_required"
    status = (getattr(verdict, "structured_content", None) or {}).get("status")
    return "pending_approval" if status == "pending_approval" else "declined"


class _TracedUpstream:
    def __init__(self, inner: Any, tracing: Tracing) -> None:
        self._inner, self._tracing = inner, tracing

    async def call(self, connection: Any, endpoint: Any, arguments: dict[str, Any], **options: Any) -> Any:
        attributes = {"ops_mcp.backend": connection.backend, "ops_mcp.tenant": connection.name,
                      "gen_ai.tool.name": endpoint.tool}
        with self._tracing.span("ops_mcp.upstream", attributes) as span:
            outcome = await self._inner.call(connection, endpoint, arguments, **options)
            span.set_attribute("ops_mcp.attempts", outcome.attempts)
            if outcome.status:
                span.set_attribute("http.response.status_code", outcome.status)
            if not outcome.ok:
                from opentelemetry.trace import StatusCode

                kind = outcome.error.kind if outcome.error is not None else "failed"
                span.set_attribute("error.type", kind)
                span.set_status(StatusCode.ERROR)
            return outcome

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _TracedAuditSink:
    def __init__(self, inner: Any, tracing: Tracing) -> None:
        self._inner, self._tracing = inner, tracing

    def append(self, record: Any) -> int:
        with self._tracing.span("ops_mcp.audit", {"ops_mcp.decision": record.decision}):
            return self._inner.append(record)

    async def write(self, record: Any, **options: Any) -> Any:
        if getattr(record, "phase", None) == "started":  # the write-ahead row: part of the call's one audit step
            return await self._inner.write(record, **options)
        with self._tracing.span("ops_mcp.audit", {"ops_mcp.decision": record.decision}):
            return await self._inner.write(record, **options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _traced_transport(inner: Any, tracing: Tracing) -> Any:
    import httpx
    from opentelemetry.trace import SpanKind, StatusCode

    class TracedTransport(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            url = request.url
            attributes = {
                "http.request.method": request.method,
                "server.address": url.host,
                "server.port": url.port or (443 if url.scheme == "https" else 80),
                # No query string: filters may carry personal data (an email address).
                "url.full": str(url.copy_with(query=None, fragment=None)),
            }
            with tracing.span(request.method, attributes, kind=SpanKind.CLIENT) as span:
                response = await inner.handle_async_request(request)
                span.set_attribute("http.response.status_code", response.status_code)
                if response.status_code >= 400:
                    span.set_attribute("error.type", str(response.status_code))
                    span.set_status(StatusCode.ERROR)
                return response

        async def aclose(self) -> None:
            await inner.aclose()

    return TracedTransport()
