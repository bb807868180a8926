"""The audit record: one ``tools/call`` and what became of it.

The record is plain data so that it can be hashed, stored and rendered without knowing anything
about MCP or HTTP. The server fills it in as the call progresses; the store seals it.

A write is recorded ahead (``phase = "started"``, decision ``started``) before its request leaves the
process, and completed by a second, chained record (``phase = "completed"``, ``completes`` = the
first one's ``seq``) whatever happens. Readers show the pair as one call; a started record that was
never completed (the process died) reads as decision ``unknown``: the write may have happened.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, get_args

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


# kw_only: a record has ~20 fields, positional construction would be an accident waiting to
# happen, and it lets `ts` (defaulted) come first in the order people read it.
@dataclass(slots=True, kw_only=True)
class AuditRecord:
    ts: float = field(default_factory=time.time)
    agent: str
    tenant: str | None = None
    tenant_label: str | None = None
    backend: str | None = None
    backend_title: str | None = None
    tool: str
    tool_title: str | None = None
    area: str | None = None
    access: str | None = None
    decision: str
    target_ids: dict[str, str] = field(default_factory=dict)
    http_status: int | None = None
    duration_ms: float | None = None
    upstream_request_id: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    confirmed_by: str | None = None
    transport: str | None = None
    session_id: str | None = None
    # Number of upstream attempts, so a failure can read "upstream 503 after 3 tries".
    attempts: int | None = None
    # What exactly happened when the decision alone is too coarse (see governance/outcomes.py):
    # "asked", "pending_approval", "declined", "cancelled", "refused:replayed", "rejected_by_sdk"…
    outcome: str | None = None
    approval_id: str | None = None
    phase: str = "call"
    completes: int | None = None
    sentence: str = ""

    def __post_init__(self) -> None:
        # A wrong decision string is a programming error in the caller; failing at construction
        # time surfaces it in tests instead of writing an unrenderable record.
        if self.decision not in DECISIONS:
            raise ValueError(f"unknown audit decision {self.decision!r}; expected one of {sorted(DECISIONS)}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditRecord:
        # Ignore keys we do not know (e.g. `seq`, or fields added by a newer version) so old
        # readers can still display new logs.
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(AuditRecord))
