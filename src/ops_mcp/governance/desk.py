"""The approvals desk: what a person uses to list, read and decide pending writes.

``ops-mcp approvals`` and the console's approval pages (``/admin/approvals``, ``/admin/approvals/{id}``)
both go through here. A decision always names a ``Person`` taken from that person's own credential — the
OS user running the CLI, the signed-in console account — never from anything an agent or its client
sent: an agent has no way to reach this object (no tool, no MCP method, no agent-token route calls it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from .approvals import Approval, ApprovalStore

Via = Literal["cli", "console"]
MAX_NAME = 128


@dataclass(frozen=True)
class Person:
    """Who decides, as their own credential names them, and where they signed in."""

    name: str
    via: Via

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError("a decision needs the name of the person making it")
        if len(self.name) > MAX_NAME or not self.name.isprintable():
            raise ValueError(f"a person's name is printable text of at most {MAX_NAME} characters")
        if self.via not in ("cli", "console"):
            raise ValueError("via: 'cli' or 'console'")


class ApprovalDesk:
    def __init__(self, store: ApprovalStore, *, clock: Callable[[], float] = time.time,
                 on_decision: Callable[[Approval, Person], None] | None = None) -> None:
        self.store = store
        self.clock = clock
        # Told of every decision (the console records it as an admin action in the audit chain).
        self.on_decision = on_decision

    def waiting(self) -> list[Approval]:
        """Pending approvals that can still be decided, newest first."""
        return self.store.list(now=self.clock())

    def everything(self) -> list[Approval]:
        """Every approval (pending, approved, denied, used, expired), newest first."""
        return self.store.list(include_done=True, now=self.clock())

    def show(self, approval_id: str) -> Approval | None:
        return self.store.get(approval_id)

    def approve(self, approval_id: str, person: Person) -> Approval:
        """Let the agent's next identical call through, once; ``ValueError`` says why not."""
        return self._decide(approval_id, person, approve=True)

    def deny(self, approval_id: str, person: Person) -> Approval:
        """Refuse it: the agent's retry is refused and names the person."""
        return self._decide(approval_id, person, approve=False)

    def _decide(self, approval_id: str, person: Person, *, approve: bool) -> Approval:
        decided = self.store.decide(approval_id, approve=approve, by=person.name, via=person.via, now=self.clock())
        if self.on_decision is not None:
            self.on_decision(decided, person)
        return decided
