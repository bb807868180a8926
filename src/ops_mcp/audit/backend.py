"""What ops-mcp needs of an audit store, so that another one (PostgreSQL for replicas) can stand in for the
embedded SQLite store (``store.AuditStore``). Both are ``base.ChainedAuditStore``s, which does all of this
but the SQL.

The contract, whatever the storage:

- **Append-only and hash-chained.** Every stored row is ``hash = sha256(prev_hash + canonical_json(record
  + seq))`` (``chain.canonical_json``/``chain.chain_hash``), the first chaining from 64 zeros, with the
  last (seq, hash) kept as the chain head. Nothing is ever updated in place.
- **Written ahead.** A write is stored as a ``started`` record before its request leaves the process and
  completed by a second, chained ``completed`` record naming the first (``completes``). ``write`` returns
  once the row is durable; it raises when the store cannot take it (the caller refuses the write).
- **One call, one entry.** ``tail``/``search``/``count`` show a started record and its completion as one
  entry (the started record's ``seq``); a started record never completed reads as decision ``unknown``.
- **Off the event loop, with back-pressure.** ``write`` never blocks the event loop: redaction
  (``prepare``), encoding and I/O happen elsewhere, and a full queue makes the caller wait its turn.
  ``write_nowait`` is for completions that must be recorded while the caller is being cancelled: it
  never waits and is never refused for space.
- ``verify`` walks the whole chain and accepts open (crash-left) started records.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from .writer import Prepare

if TYPE_CHECKING:
    from .chain import AuditEntry, VerifyResult
    from .records import AuditRecord
    from .writer import Written

__all__ = ["AuditBackend", "Prepare"]


class AuditBackend(Protocol):
    async def write(
        self,
        record: AuditRecord,
        *,
        prepare: Prepare | None = None,
        opens: Written | None = None,
        ticket: Written | None = None,
    ) -> Written: ...

    def write_nowait(
        self, record: AuditRecord, *, prepare: Prepare | None = None, opens: Written | None = None
    ) -> Written: ...

    def append(self, record: AuditRecord) -> int: ...

    def count(self) -> int: ...

    def head(self) -> tuple[int, str]: ...

    def tail(self, n: int = 20) -> list[AuditEntry]: ...

    def entry(self, seq: int) -> AuditEntry | None: ...

    def search(
        self,
        agent: str | None = None,
        tool: str | None = None,
        decision: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]: ...

    def verify(self) -> VerifyResult: ...

    def close(self) -> None: ...
