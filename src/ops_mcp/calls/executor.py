"""One tool call, start to finish: policy → validation → confirmation → upstream → audit → result.

Every path through here writes exactly one audit record, and nothing reaches the upstream before the
policy and the arguments have been checked. A write is recorded ahead of its request (refused when the
audit store cannot take that record) and completed whatever happens: answer, error, timeout, or the
call being cancelled (``abandon``).
"""

from __future__ import annotations

from typing import Any

import mcp_types as t

from ..catalogue.models import Endpoint, Manifest
from ..policy import AgentPolicy, Policies
from ..telemetry import Tracing, step
from ..tenants import Tenants
from ..upstream.fairshare import budget_caller
from .context import CallContext, Confirmed, Confirmer, UpstreamCaller
from .recorder import AuditUnavailable, CallRecorder, Recording, endpoint_backend, printable
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
        arguments = arguments if arguments is not None else {}
        rec = self.recorder.recording(call, name)
        try:
            return await self._call(call, name, arguments, rec)
        except BaseException as exc:  # cancelled (client hung up, notifications/cancelled) or a bug
            self.recorder.abandon(rec, exc)
            raise

    async def _call(self, call: CallContext, name: str, arguments: dict[str, Any], rec: Recording) -> Any:
        policy = self.policies.get(call.agent)
        if policy is None:
            return await self._end(rec, "denied", "no agent identity",
                                   error_result("This connection has no agent identity; no tools are available."))
        with step(self.tracing, "ops_mcp.policy", {"ops_mcp.agent": policy.name}) as span:
            decision = policy.decide(name)
            if span is not None:
                span.set_attribute("ops_mcp.decision", "allowed" if decision.allowed else "denied")
        if decision.endpoint is not None:
            self.recorder.describe(rec.record, policy, decision.endpoint)
        if not decision.allowed or decision.endpoint is None:
            # Hidden and unknown tools get the same answer: the agent learns nothing about the catalogue.
            return await self._end(rec, "denied", decision.reason, error_result(f"Unknown tool: {printable(name)}"))
        return await self._allowed(call, policy, decision.endpoint, decision.needs_confirmation, arguments, rec)

    async def _allowed(self, call: CallContext, policy: AgentPolicy, endpoint: Endpoint, needs_confirmation: bool,
                       arguments: dict[str, Any], rec: Recording) -> Any:
        if self.confirmer is not None:
            arguments = self.confirmer.strip(arguments)
        self.recorder.arguments(rec.record, arguments)
        problems = self.validator.errors(endpoint, arguments)
        if problems:
            # No ids from a rejected call: only validated, known identifiers ever enter a sentence.
            message = f"Invalid arguments for {endpoint.tool}: " + "; ".join(problems)
            return await self._end(rec, "invalid", "; ".join(problems), error_result(message))
        rec.record.target_ids = target_ids(endpoint, arguments)
        if needs_confirmation:
            refused = await self._confirm(call, endpoint, arguments, rec)
            if refused is not None:
                return refused
        return await self._send(call, policy, endpoint, arguments, rec)

    async def _confirm(self, call: CallContext, endpoint: Endpoint, arguments: dict[str, Any],
                       rec: Recording) -> Any:
        """None when a person said yes (recorded on the record), else the answer to give the agent."""
        if self.confirmer is None:
            return await self._end(rec, "denied", "confirmation unavailable",
                                   error_result(f"{endpoint.title} needs a person's approval, and this server "
                                                "has no way to ask for it."))
        verdict = await self.confirmer.confirm(call, endpoint, arguments)
        if isinstance(verdict, Confirmed):
            rec.record.confirmed_by = verdict.by
            return None
        decision, outcome, decided_by, approval_id = confirmation_outcome(verdict)
        rec.record.outcome, rec.record.approval_id = outcome, approval_id
        if decided_by:
            rec.record.confirmed_by = decided_by  # the person who said no
        return await self._end(rec, decision, _text_of(verdict), verdict)

    async def _send(self, call: CallContext, policy: AgentPolicy, endpoint: Endpoint, arguments: dict[str, Any],
                    rec: Recording) -> Any:
        backend = endpoint_backend(endpoint)
        binding = policy.bindings.get(backend)
        tenant = self.tenants.get(backend, binding) if binding is not None else None
        if tenant is None:
            message = f"No {backend} connection is configured for this agent."
            return await self._end(rec, "denied", message, error_result(message))
        if endpoint.access != "read":
            try:
                await self.recorder.open(rec)  # the record exists before the request does
            except AuditUnavailable:
                message = (f"Not done: ops-mcp could not record this {endpoint.title.lower()} in its audit log, "
                           "so it did not send it. Nothing was changed; tell the operator.")
                return await self._end(rec, "denied", "the audit log could not take the record; nothing was sent",
                                       error_result(message))
        rec.sent = True
        with budget_caller(policy.name):  # the tenant's budget is shared fairly between its agents
            outcome = await self.upstream.call(tenant.connection, endpoint, arguments, progress=call.progress)
        record = rec.record
        record.http_status = outcome.status
        record.upstream_request_id = outcome.request_id
        record.attempts = outcome.attempts
        if outcome.ok:
            record.target_ids = target_ids(endpoint, arguments, outcome.data, self._resource_ids)
            return await self._end(rec, "allowed", None, outcome_result(endpoint, outcome))
        error = outcome.error
        decision = "rate_limited" if error is not None and error.kind == "rate_limited" else "failed"
        message = error.message if error is not None else "The back end call failed."
        return await self._end(rec, decision, message, error_result(message))

    async def _end(self, rec: Recording, decision: str, error: str | None, result: Any) -> Any:
        await self.recorder.finish_async(rec, decision, error=error)
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
    # Other ids the call names (an approver): only arguments the tool declares, after validation, so an
    # agent cannot fill a sentence with made-up "*_id" keys.
    declared = _declared(endpoint)
    for name, value in arguments.items():
        if len(ids) >= MAX_TARGET_IDS:
            break
        if name.endswith("_id") and name in declared and name not in ids and isinstance(value, str | int):
            ids[name] = str(value)[:128]
    return ids


MAX_TARGET_IDS = 6


def _declared(endpoint: Endpoint) -> frozenset[str]:
    params = endpoint.parameters
    names = set(params.query.get("properties", {}))
    if isinstance(params.body, dict):
        names |= set(params.body.get("properties", {}))
    return frozenset(names)


# The confirmer's outcome (its result's structuredContent "status", see governance/outcomes.py) → the
# audit decision. A question just asked waits for a person; ops-mcp refusing what the agent sent is a
# denial, not a person declining. The record's ``outcome`` says exactly what happened.
_CONFIRMATION_DECISIONS = {
    "pending_approval": "pending_approval",
    "declined": "declined",
    "cancelled": "declined",
    "refused": "denied",
    "not_found": "invalid",
}


def confirmation_outcome(result: Any) -> tuple[str, str, str | None, str | None]:
    """(decision, outcome, who decided, approval id) of a confirmer's answer that lets nothing through."""
    if isinstance(result, t.InputRequiredResult):
        return "pending_approval", "asked", None, None
    meta = getattr(result, "structured_content", None) or {}
    meta = meta if isinstance(meta, dict) else {}
    found = meta.get("status")
    status: str = found if isinstance(found, str) else "declined"
    outcome = f"refused:{meta.get('reason')}" if status == "refused" else status
    decided_by, approval_id = meta.get("decided_by"), meta.get("approval_id")
    return (_CONFIRMATION_DECISIONS.get(status, "declined"), outcome,
            decided_by if isinstance(decided_by, str) else None, approval_id if isinstance(approval_id, str) else None)


def _text_of(result: t.CallToolResult | t.InputRequiredResult | Any) -> str | None:
    content = getattr(result, "content", None) or []
    return next((c.text for c in content if getattr(c, "type", None) == "text"), None)
