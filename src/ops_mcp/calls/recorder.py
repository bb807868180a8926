"""One audit record per tool call: built as the call goes, redacted, rendered, appended, observed.

Both the executor and the tools ops-mcp answers itself (discovery's meta-tools, the events feed) record
through here, so every ``tools/call`` that reaches the server leaves exactly one record.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from ..audit import AuditRecord, Redaction, render
from ..catalogue.models import Endpoint, Manifest
from ..policy import AgentPolicy
from ..tenants import Tenants
from .context import AuditSink, CallContext, CallObserver

log = logging.getLogger("ops_mcp.calls")


def endpoint_backend(endpoint: Endpoint) -> str:
    return endpoint.area.split(".", 1)[0]


class CallRecorder:
    def __init__(self, audit: AuditSink, redaction: Redaction, catalogue: dict[str, Manifest],
                 tenants: Tenants) -> None:
        self.audit = audit
        self.redaction = redaction
        self._titles = {name: manifest.backend.title for name, manifest in catalogue.items()}
        self._tenants = tenants
        self._observers: list[CallObserver] = []

    def observe(self, observer: CallObserver) -> None:
        """Also hand every finished record to ``observer`` (metrics); it can never fail a call."""
        self._observers.append(observer)

    def start(self, call: CallContext, name: Any) -> AuditRecord:
        return AuditRecord(
            agent=call.agent or "(none)", tool=printable(name)[:128], decision="denied",
            transport=call.transport, session_id=call.session_id,
        )

    def describe(self, record: AuditRecord, policy: AgentPolicy | None, endpoint: Endpoint) -> None:
        """Fill in what the record says about the endpoint and the agent's tenant of its back end."""
        backend = endpoint_backend(endpoint)
        record.backend = backend
        record.backend_title = self._titles.get(backend, backend)
        record.tool_title, record.area, record.access = endpoint.title, endpoint.area, endpoint.access
        binding = policy.bindings.get(backend) if policy is not None else None
        tenant = self._tenants.get(backend, binding) if binding is not None else None
        if tenant is not None:
            record.tenant, record.tenant_label = tenant.name, tenant.label

    def arguments(self, record: AuditRecord, arguments: Any) -> None:
        record.arguments = self.redaction.arguments(arguments)

    def finish(self, record: AuditRecord, started: float, decision: str, *, error: str | None = None) -> None:
        record.decision = decision
        record.error = error
        record.duration_ms = round((time.perf_counter() - started) * 1000, 1)
        record.sentence = render(record)
        try:
            self.audit.append(record)
        except Exception:  # the call's answer must not depend on the audit disk, but the operator must know
            log.exception("audit append failed")
        for observer in self._observers:
            with contextlib.suppress(Exception):
                observer(record)
        log.debug("%s", record.sentence)  # the audit store has it; stderr stays quiet on the hot path

    def local(self, call: CallContext, *, tool: str, title: str, access: str, decision: str,
              arguments: Any, started: float, error: str | None = None) -> None:
        """Record a call answered by ops-mcp itself (meta-tools, the events feed)."""
        record = self.start(call, tool)
        record.tool_title, record.access = title, access
        self.arguments(record, arguments)
        self.finish(record, started, decision, error=error)


def printable(name: Any) -> str:
    text = name if isinstance(name, str) else repr(name)
    return "".join(ch if ch.isprintable() else "?" for ch in text)[:128]
