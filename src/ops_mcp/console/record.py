"""Every change made in the console is an audit record in the same hash chain as the agents' calls.

The record names the affected agent (so filtering the audit by agent shows who changed its access), the
area where there is one, and the person in plain words: "admin dana set people-ops remote.timeoff to
full (was read)". Tool names start with ``console.`` so they never collide with a catalogue tool.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from ..audit import AuditRecord
from ..text import neutralise
from .web import Signed

log = logging.getLogger("ops_mcp.console")


def record_action(
    audit: Any,
    who: Signed,
    action: str,
    clause: str,
    *,
    agent: str,
    area: str | None = None,
    tenant: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append "<role> <name> <clause>" to the audit chain; a failing disk is logged, not hidden."""
    sentence = f"{who.account.role} {neutralise(who.name, 64)} {neutralise(clause, 400)}"
    record = AuditRecord(
        ts=time.time(),
        agent=agent,
        tool=f"console.{action}",
        tool_title=f"Console: {action.replace('_', ' ')}",
        area=area,
        access="admin",
        decision="allowed",
        transport="console",
        tenant=tenant,
        arguments={"by": who.name, "role": who.account.role, **(details or {})},
        confirmed_by=who.name,
        sentence=sentence,
    )
    try:
        audit.append(record)
    except Exception:
        log.exception("could not record the console action: %s", sentence)
        raise
