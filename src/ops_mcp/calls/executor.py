"""One tool call, start to finish: policy → validation → confirmation → upstream → audit → result.

Every path through here writes exactly one audit record, and nothing reaches the upstream before the
policy and the arguments have been checked.
"""

from __future__ import annotations

import time
from typing import Any

import mcp_types as t

from ..audit import AuditRecord
from ..catalogue.models import Endpoint, Manifest
from ..policy import AgentPolicy, Policies
from ..telemetry import Tracing, step
from ..tenants import Tenants
from ..upstream.fairshare import budget_caller
from .context import CallContext, Confirmed, Confirmer, UpstreamCaller
from .recorder import CallRecorder, endpoint_backend, printable
from .results import error_result, outcome_result
from .validation import ArgumentValidator


class ToolExecutor:
    def __init__(self, *, catalogue: dict[str, Manifest], policies: Policies, tenants: Tenants,
                 upstream: UpstreamCaller, recorder: CallRecorder, confirmer: Confirmer | None,
                 tracing: Tracing | None = None) -> None:
        self.policies = policies
        self.tracing = tracing
        self.tenants = tenants
        self.upstream = upstream
        self.recorder = recorder
        self.confirmer = confirmer
        self.validator = ArgumentValidator()
        # Names that identify a resource somewhere in the catalogue (path parameters such as
        # employment_id, work_order_id): only these, found in a result, link a call to other objects.
        self._resource_ids = frozenset(
            name for m in catalogue.values() for e in m.endpoints
            for name in e.parameters.path.get("properties", {}) if name.endswith("_id")
        )

    async def call(self, call: CallContext, name: str, arguments: dict[str, Any] | None) -> Any:
        started = time.perf_counter()
        arguments = arguments if arguments is not None else {}
        record = self.recorder.start(call, name)
        policy = self.policies.get(call.agent)
        if policy is None:
            return self._end(record, started, "denied", "no agent identity",
                             error_result("This connection has no agent identity; no tools are available."))
        with step(self.tracing, "ops_mcp.policy", {"ops_mcp.agent": policy.name}) as span:
            decision = policy.decide(name)
            if span is not None:
                span.set_attribute("ops_mcp.decision", "allowed" if decision.allowed else "denied")
        if decision.endpoint is not None:
            self.recorder.describe(record, policy, decision.endpoint)
        if not decision.allowed or decision.endpoint is None:
            # Hidden and unknown tools get the same answer: the agent learns nothing about the catalogue.
            return self._end(record, started, "denied", decision.reason,
                             error_result(f"Unknown tool: {printable(name)}"))
        return await self._allowed(call, policy, decision.endpoint, decision.needs_confirmation, arguments,
                                   record, started)

    async def _allowed(self, call: CallContext, policy: AgentPolicy, endpoint: Endpoint, needs_confirmation: bool,
                       arguments: dict[str, Any], record: AuditRecord, started: float) -> Any:
        if self.confirmer is not None:
            arguments = self.confirmer.strip(arguments)
        self.recorder.arguments(record, arguments)
        record.target_ids = target_ids(endpoint, arguments)
        problems = self.validator.errors(endpoint, arguments)
        if problems:
            message = f"Invalid arguments for {endpoint.tool}: " + "; ".join(problems)
            return self._end(record, started, "invalid", "; ".join(problems), error_result(message))
        if needs_confirmation:
            refused = await self._confirm(call, endpoint, arguments, record, started)
            if refused is not None:
                return refused
        return await self._send(call, policy, endpoint, arguments, record, started)

    async def _confirm(self, call: CallContext, endpoint: Endpoint, arguments: dict[str, Any],
                       record: AuditRecord, started: float) -> Any:
        """None when a person said yes (recorded on ``record``), else the answer to give the agent."""
        if self.confirmer is None:
            return self._end(record, started, "denied", "confirmation unavailable",
                             error_result(f"{endpoint.title} needs a person's approval, and this server has no "
                                          "way to ask for it."))
        verdict = await self.confirmer.confirm(call, endpoint, arguments)
        if isinstance(verdict, Confirmed):
            record.confirmed_by = verdict.by
            return None
        decision, decided_by = _confirmation_outcome(verdict)
        if decided_by:
            record.confirmed_by = decided_by  # the person who said no
        return self._end(record, started, decision, _text_of(verdict), verdict)

    async def _send(self, call: CallContext, policy: AgentPolicy, endpoint: Endpoint, arguments: dict[str, Any],
                    record: AuditRecord, started: float) -> Any:
        backend = endpoint_backend(endpoint)
        binding = policy.bindings.get(backend)
        tenant = self.tenants.get(backend, binding) if binding is not None else None
        if tenant is None:
            message = f"No {backend} connection is configured for this agent."
            return self._end(record, started, "denied", message, error_result(message))
        with budget_caller(policy.name):  # the tenant's budget is shared fairly between its agents
            outcome = await self.upstream.call(tenant.connection, endpoint, arguments, progress=call.progress)
        record.http_status = outcome.status
        record.upstream_request_id = outcome.request_id
        record.attempts = outcome.attempts
        if outcome.ok:
            record.target_ids = target_ids(endpoint, arguments, outcome.data, self._resource_ids)
            return self._end(record, started, "allowed", None, outcome_result(endpoint, outcome))
        error = outcome.error
        decision = "rate_limited" if error is not None and error.kind == "rate_limited" else "failed"
        message = error.message if error is not None else "The back end call failed."
        return self._end(record, started, decision, message, error_result(message))

    def _end(self, record: AuditRecord, started: float, decision: str, error: str | None, result: Any) -> Any:
        self.recorder.finish(record, started, decision, error=error)
        return result


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


# The confirmer's outcome (its result's structuredContent "status", see governance/outcomes.py) → the
# audit decision. A question just asked waits for a person; ops-mcp refusing what the agent sent is a
# denial, not a person declining.
_CONFIRMATION_DECISIONS = {
    "pending_approval": "pending_approval",
    "declined": "declined",
    "cancelled": "declined",
    "refused": "denied",
    "not_found": "invalid",
}


def _confirmation_outcome(result: Any) -> tuple[str, str | None]:
    if isinstance(result, t.InputRequiredResult):
        return "pending_approval", None
    meta = getattr(result, "structured_content", None) or {}
    status = meta.get("status") if isinstance(meta, dict) else None
    decided_by = meta.get("decided_by") if isinstance(meta, dict) else None
    return _CONFIRMATION_DECISIONS.get(status, "declined"), decided_by if isinstance(decided_by, str) else None


def _text_of(result: t.CallToolResult | t.InputRequiredResult | Any) -> str | None:
    content = getattr(result, "content", None) or []
    return next((c.text for c in content if getattr(c, "type", None) == "text"), None)
