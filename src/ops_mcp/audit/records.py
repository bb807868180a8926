"""The audit record: one ``tools/call`` and what became of it.

The record is plain data so that it can be hashed, stored and rendered without knowing anything
about MCP or HTTP. The server fills it in as the call progresses; the store seals it.

A write is recorded ahead (``phase = "started"``, decision ``started``) before its request leaves the
process, and completed by a second, chained record (``phase = "completed"``, ``completes`` = the
first one's ``seq``) whatever happens. Readers show the pair as one call; a started record that was
never completed (the process died) reads as decision ``unknown``: the write may have happened.
"""

from __future__ import annotations

import copy
import time
from typing import Any, Literal, get_args

from ..records import Record

Decision = Literal[
    "allowed",
    "denied",
    "invalid",
    "failed",
    "rate_limited",
    "pending_approval",
    "declined",
    "cancelled",
    "started",
    "unknown",
]
# ``call``: the whole call in one record; ``started``: a write recorded ahead of its request;
# ``completed``: what became of a started write (it names the started record's seq in ``completes``).
Phase = Literal["call", "started", "completed"]
PHASES: frozenset[str] = frozenset(get_args(Phase))

# The single list of outcomes. Everything else (rendering, search validation, tests) reads it from
# here so that a new outcome cannot be stored without the sentence renderer knowing about it.
DECISIONS: frozenset[str] = frozenset(get_args(Decision))


# Keyword-only: a record has ~20 fields, positional construction would be an accident waiting to
# happen, and it lets `ts` (defaulted) come first in the order people read it.
class AuditRecord(Record):
    __slots__ = (
        "ts", "agent", "tenant", "tenant_label", "backend", "backend_title", "tool", "tool_title", "area",
        "access", "decision", "target_ids", "http_status", "duration_ms", "upstream_request_id", "arguments",
        "error", "confirmed_by", "transport", "session_id", "attempts", "outcome", "approval_id", "phase",
        "completes", "sentence",
    )  # fmt: skip
    ts: float
    agent: str
    tenant: str | None
    tenant_label: str | None
    backend: str | None
    backend_title: str | None
    tool: str
    tool_title: str | None
    area: str | None
    access: str | None
    decision: str
    target_ids: dict[str, str]
    http_status: int | None
    duration_ms: float | None
    upstream_request_id: str | None
    arguments: dict[str, Any]
    error: str | None
    confirmed_by: str | None
    transport: str | None
    session_id: str | None
    # Number of upstream attempts, so a failure can read "upstream 503 after 3 tries".
    attempts: int | None
    # What exactly happened when the decision alone is too coarse (see governance/outcomes.py):
    # "asked", "pending_approval", "declined", "cancelled", "refused:replayed", "rejected_by_sdk"…
    outcome: str | None
    approval_id: str | None
    phase: str
    completes: int | None
    sentence: str

    def __init__(
        self, *, ts: float | None = None, agent: str, tenant: str | None = None,
        tenant_label: str | None = None, backend: str | None = None, backend_title: str | None = None,
        tool: str, tool_title: str | None = None, area: str | None = None, access: str | None = None,
        decision: str,
        target_ids: dict[str, str] | None = None, http_status: int | None = None,
        duration_ms: float | None = None, upstream_request_id: str | None = None,
        arguments: dict[str, Any] | None = None, error: str | None = None, confirmed_by: str | None = None,
        transport: str | None = None, session_id: str | None = None, attempts: int | None = None,
        outcome: str | None = None, approval_id: str | None = None, phase: str = "call",
        completes: int | None = None, sentence: str = "",
    ) -> None:
        # A wrong decision string is a programming error in the caller; failing at construction
        # time surfaces it in tests instead of writing an unrenderable record.
        if decision not in DECISIONS:
            raise ValueError(f"unknown audit decision {decision!r}; expected one of {sorted(DECISIONS)}")
        self.ts = time.time() if ts is None else ts
        self.agent = agent
        self.tenant = tenant
        self.tenant_label = tenant_label
        self.backend = backend
        self.backend_title = backend_title
        self.tool = tool
        self.tool_title = tool_title
        self.area = area
        self.access = access
        self.decision = decision
        self.target_ids = {} if target_ids is None else target_ids
        self.http_status = http_status
        self.duration_ms = duration_ms
        self.upstream_request_id = upstream_request_id
        self.arguments = {} if arguments is None else arguments
        self.error = error
        self.confirmed_by = confirmed_by
        self.transport = transport
        self.session_id = session_id
        self.attempts = attempts
        self.outcome = outcome
        self.approval_id = approval_id
        self.phase = phase
        self.completes = completes
        self.sentence = sentence

    def to_dict(self) -> dict[str, Any]:
        # Every field, in order; the dicts are deep copies, as ``dataclasses.asdict`` made them.
        return {name: copy.deepcopy(value) if isinstance(value, dict) else value
                for name, value in zip(self._fields, self._values(), strict=True)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditRecord:
        # Ignore keys we do not know (e.g. `seq`, or fields added by a newer version) so old
        # readers can still display new logs.
        known = set(cls._fields)
        return cls(**{k: v for k, v in data.items() if k in known})


FIELD_NAMES: tuple[str, ...] = AuditRecord._fields
