"""One tool call, start to finish: policy → validation → confirmation → upstream → audit → result.

Every path through here writes exactly one audit record, and nothing reaches the upstream before the
policy and the arguments have been checked.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import mcp_types as t

from ..catalogue.models import Endpoint
from ..runtime import Runtime
from .results import error_result, outcome_result
from .validation import ArgumentValidator

log = logging.getLogger("ops_mcp.calls")

Progress = Callable[[float, float | None, str], Awaitable[None]]


@dataclass
class CallContext:
    """What the executor needs from the transport: who, how, and the session's abilities."""

    agent: str | None
    transport: str
    session_id: str | None = None
    progress: Progress | None = None
    mcp_context: Any = None  # mcpserver Context, for confirmation requests


@dataclass
class Confirmed:
    by: str  # who or what confirmed, for the audit record


class Confirmer(Protocol):
    async def confirm(
        self, call: CallContext, endpoint: Endpoint, arguments: dict[str, Any]
    ) -> Confirmed | t.CallToolResult | t.InputRequiredResult: ...

    def strip(self, arguments: dict[str, Any]) -> dict[str, Any]: ...


class ToolExecutor:
    def __init__(self, runtime: Runtime, confirmer: Confirmer | None = None) -> None:
        self.runtime = runtime
        self.validator = ArgumentValidator()
        self.confirmer = confirmer
        # Names that identify a resource somewhere in the catalogue (path parameters such as
        # employment_id, work_order_id): only these, found in a result, link a call to other objects.
        self._resource_ids = frozenset(
            name for m in runtime.catalogue.values() for e in m.endpoints
            for name in e.parameters.path.get("properties", {}) if name.endswith("_id")
        )

    async def call(self, call: CallContext, name: str, arguments: dict[str, Any] | None) -> Any:
        started = time.perf_counter()
        arguments = arguments if arguments is not None else {}
        record = self._record(call, name, arguments)
        if call.agent is None or call.agent not in self.runtime.policies:
            return self._finish(record, started, "denied", error="no agent identity",
                                result=error_result("This connection has no agent identity; no tools are available."))
        policy = self.runtime.policy(call.agent)
        decision = policy.decide(name)
        if decision.endpoint is not None:
            self._describe_endpoint(record, call.agent, decision.endpoint)
        if not decision.allowed:
            # Hidden and unknown tools get the same answer: the agent learns nothing about the catalogue.
            return self._finish(record, started, "denied", error=decision.reason,
                                result=error_result(f"Unknown tool: {_printable(name)}"))
        endpoint = decision.endpoint
        assert endpoint is not None
        if self.confirmer is not None:
            arguments = self.confirmer.strip(arguments)
        record.arguments = self._redact(arguments)
        record.target_ids = target_ids(endpoint, arguments)
        problems = self.validator.errors(endpoint, arguments)
        if problems:
            message = f"Invalid arguments for {endpoint.tool}: " + "; ".join(problems)
            return self._finish(record, started, "invalid", error="; ".join(problems),
                                result=error_result(message))
        if decision.needs_confirmation:
            if self.confirmer is None:
                return self._finish(record, started, "denied", error="confirmation unavailable",
                                    result=error_result(f"{endpoint.title} needs a person's approval, and this "
                                                        "server has no way to ask for it."))
            verdict = await self.confirmer.confirm(call, endpoint, arguments)
            if not isinstance(verdict, Confirmed):
                decision_name = "pending_approval" if _is_pending(verdict) else "declined"
                return self._finish(record, started, decision_name, result=verdict,
                                    error=_text_of(verdict))
            record.confirmed_by = verdict.by
        tenant = self.runtime.tenant_for(call.agent, endpoint_backend(endpoint))
        outcome = await self.runtime.upstream.call(tenant.connection, endpoint, arguments, progress=call.progress)
        record.http_status = outcome.status
        record.upstream_request_id = outcome.request_id
        record.attempts = outcome.attempts
        if outcome.ok:
            record.target_ids = target_ids(endpoint, arguments, outcome.data, self._resource_ids)
            return self._finish(record, started, "allowed", result=outcome_result(endpoint, outcome))
        error = outcome.error
        decision_name = "rate_limited" if error is not None and error.kind == "rate_limited" else "failed"
        message = error.message if error is not None else "The back end call failed."
        return self._finish(record, started, decision_name, error=message, result=error_result(message))

    def audit_local(
        self, call: CallContext, *, tool: str, title: str, area: str | None, access: str, decision: str,
        arguments: dict[str, Any], started: float, result: Any, error: str | None = None,
    ) -> Any:
        """Audit a call answered by ops-mcp itself (meta-tools, the events feed); returns ``result``."""
        record = self._record(call, tool, arguments)
        record.tool_title, record.area, record.access = title, area, access
        record.arguments = self._redact(arguments)
        return self._finish(record, started, decision, result=result, error=error)

    # -- audit ---------------------------------------------------------------------------------

    def _record(self, call: CallContext, name: str, arguments: dict[str, Any]):
        from ..audit import AuditRecord

        return AuditRecord(
            agent=call.agent or "(none)", tenant=None, tenant_label=None, backend=None, backend_title=None,
            tool=_printable(name)[:128], tool_title=None, area=None, access=None, decision="denied",
            target_ids={}, http_status=None, duration_ms=None, upstream_request_id=None,
            arguments={}, error=None, confirmed_by=None, transport=call.transport,
            session_id=call.session_id, sentence="",
        )

    def _describe_endpoint(self, record, agent: str, endpoint: Endpoint) -> None:
        backend = endpoint_backend(endpoint)
        record.backend = backend
        record.backend_title = self.runtime.catalogue[backend].backend.title
        record.tool_title = endpoint.title
        record.area = endpoint.area
        record.access = endpoint.access
        binding = self.runtime.bindings.get(agent, {}).get(backend)
        if binding is not None:
            tenant = self.runtime.tenants[(backend, binding)]
            record.tenant, record.tenant_label = tenant.name, tenant.label

    def _redact(self, arguments: dict[str, Any]) -> dict[str, Any]:
        from ..audit import redact

        return redact(arguments, fields=self.runtime.redact_fields, secrets=self.runtime.secrets)

    def _finish(self, record, started: float, decision: str, *, result: Any, error: str | None = None) -> Any:
        from ..audit import render

        record.decision = decision
        record.error = error
        record.duration_ms = round((time.perf_counter() - started) * 1000, 1)
        record.sentence = render(record)
        try:
            self.runtime.audit.append(record)
        except Exception:  # the call's answer must not depend on the audit disk, but the operator must know
            log.exception("audit append failed")
        log.debug("%s", record.sentence)  # the audit store has it; stderr stays quiet on the hot path
        return result


def endpoint_backend(endpoint: Endpoint) -> str:
    return endpoint.area.split(".", 1)[0]


def target_ids(endpoint: Endpoint, arguments: dict[str, Any], result: Any = None,
               resource_ids: frozenset[str] = frozenset()) -> dict[str, str]:
    """Path parameters first (the call's target), then the ids the result links it to (the time off's
    employment), then other ``*_id`` arguments (an approver)."""
    ids: dict[str, str] = {}
    for name in endpoint.parameters.path.get("properties", {}):
        if name in arguments:
            ids[name] = str(arguments[name])[:128]
    if isinstance(result, dict) and endpoint.response.list_key is None:
        linked = [(k, v) for k, v in result.items() if k in resource_ids and isinstance(v, str) and k not in ids]
        if not ids and isinstance(result.get("id"), str):
            ids["id"] = result["id"][:128]  # a create: the new object's id
        for name, value in linked[:2]:
            ids[name] = value[:128]
    for name, value in arguments.items():
        if name.endswith("_id") and name not in ids and isinstance(value, str | int):
            ids[name] = str(value)[:128]
    return ids


def _printable(name: Any) -> str:
    text = name if isinstance(name, str) else repr(name)
    return "".join(ch if ch.isprintable() else "?" for ch in text)[:128]


def _is_pending(result: Any) -> bool:
    meta = getattr(result, "structured_content", None) or {}
    return isinstance(meta, dict) and meta.get("status") == "pending_approval"


def _text_of(result: Any) -> str | None:
    content = getattr(result, "content", None) or []
    return next((c.text for c in content if getattr(c, "type", None) == "text"), None)
