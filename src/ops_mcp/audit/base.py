"""What every chained audit store does the same way, whatever holds the rows (see ``backend.py`` for the
contract): hand records to the writer thread, finish and scrub them there, seal a batch into the chain in
one commit (one bad record at a time if the batch fails), and read a written-ahead pair back as one call.

A store on top of this (SQLite in ``store.py``, PostgreSQL in ``storage/postgres/audit.py``) supplies only
its SQL: ``_commit`` (store a batch under the chain's head and call ``_sealed``), ``_query``, ``head``,
``verify`` and ``_release``; ``PARAM`` and ``NOT_COMPLETED`` say how its SQL spells a placeholder and
"the phase is not 'completed'" (NULL included).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .chain import RECORD_FIELDS, AuditEntry, VerifyResult
from .records import DECISIONS, AuditRecord
from .redact import DEFAULT_SECRET_PATTERNS, make_scrubber
from .sentence import render
from .writer import ChainWriter, Prepare, Written

Prepared = list[tuple[Written, dict[str, Any]]]

# One entry per call: a started row with its first completion; completions are not entries themselves.
_ENTRIES = """
SELECT s.seq, s.hash, s.record_json, c.hash, c.record_json
FROM audit s LEFT JOIN audit c ON c.seq = (
    SELECT min(seq) FROM audit WHERE completes = s.seq AND phase = 'completed' AND s.phase = 'started')
WHERE {open} {where}
ORDER BY s.seq DESC LIMIT {param}
"""
_EFFECTIVE_DECISION = "coalesce(c.decision, CASE WHEN s.phase = 'started' THEN 'unknown' ELSE s.decision END)"


class ChainedAuditStore:
    """The storage-independent half of an ``AuditBackend``.

    ``secrets``: strings (upstream tokens, client secrets) scrubbed from every field of every
    record before it is written — a last net in case a caller forgot to redact an error message;
    ``patterns``: credential shapes scrubbed the same way; ``held``: credentials learned while running
    (webhook signing secrets), read before each batch.
    """

    PARAM = "?"
    NOT_COMPLETED = "s.phase IS NOT 'completed'"

    def __init__(
        self,
        *,
        secrets: Iterable[str] = (),
        patterns: Iterable[str] = DEFAULT_SECRET_PATTERNS,
        capacity: int | None = None,
        held: Callable[[], Iterable[str]] | None = None,
    ) -> None:
        self._secrets, self._patterns, self._held = tuple(secrets), tuple(patterns), held
        self._held_now: tuple[str, ...] = ()
        self._scrub = make_scrubber(self._secrets, self._patterns)
        self._in_flight: set[int] = set()  # started rows of this process whose request is still out
        self._writer = ChainWriter(self._write_batch, **({"capacity": capacity} if capacity else {}))
        self._closed = False

    # -- what a store supplies ------------------------------------------------------------------

    def _commit(self, prepared: Prepared) -> None:
        """Seal ``prepared`` onto the chain in one transaction, then ``_sealed(prepared, rows)``."""
        raise NotImplementedError

    def _query(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """The rows of a read (after everything handed over so far is stored)."""
        raise NotImplementedError

    def _release(self) -> None:
        """Let go of connections (after the writer stopped)."""

    def head(self) -> tuple[int, str]:
        raise NotImplementedError

    def verify(self) -> VerifyResult:
        raise NotImplementedError

    # -- lifetime -------------------------------------------------------------------------------

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._writer.close()
        self._release()

    # -- writing --------------------------------------------------------------------------------

    async def write(
        self,
        record: AuditRecord,
        *,
        prepare: Prepare | None = None,
        opens: Written | None = None,
        ticket: Written | None = None,
    ) -> Written:
        """Store ``record`` (as ``ticket`` when the caller made one, to refer to it if this is cancelled);
        returns once it is committed. Raises when the store cannot take it."""
        job = ticket if ticket is not None else Written(record, prepare, opens)
        try:
            await self._writer.put(job)
        except BaseException:
            # Cancelled while waiting for room: a record once handed over is never dropped.
            if not isinstance(job, Written) or job.done or self._closed:
                raise
            self._writer.put_nowait(job)
            raise
        await job.wait_async()
        job.result()
        return job

    def write_nowait(
        self, record: AuditRecord, *, prepare: Prepare | None = None, opens: Written | None = None
    ) -> Written:
        """Queue ``record`` and return at once (a completion while the caller is being cancelled)."""
        job = Written(record, prepare, opens)
        self._writer.put_nowait(job)
        return job

    def append(self, record: AuditRecord) -> int:
        """Seal and store one record; returns its sequence number (blocks the calling thread)."""
        job = Written(record)
        self._writer.put_blocking(job)
        job.wait()
        return job.result()

    def append_many(self, records: list[AuditRecord]) -> list[int]:
        """Seal and store ``records`` in order, in one transaction when it can (a group commit: contiguous in
        the chain); returns their sequence numbers (blocks the calling thread)."""
        jobs = [Written(record, follows=index > 0) for index, record in enumerate(records)]
        if jobs:
            self._writer.put_many_blocking(jobs)
        for job in jobs:
            job.wait()
        return [job.result() for job in jobs]

    def flush(self) -> None:
        """Wait until everything handed over so far is stored."""
        self._writer.flush()

    @property
    def backlog(self) -> int:
        """Records handed over and not yet taken by the writer."""
        return self._writer.backlog

    @property
    def capacity(self) -> int:
        """How many records may wait for the writer before callers wait for room."""
        return self._writer.capacity

    @capacity.setter
    def capacity(self, value: int) -> None:
        self._writer.capacity = max(1, int(value))

    def _payload(self, job: Written) -> dict[str, Any]:
        record = job.record
        if job.opens is not None:  # first, so that prepare knows whether the started row holds the arguments
            opened = job.opens.seq
            record.phase, record.completes = ("completed", opened) if opened is not None else ("call", None)
        if job.prepare is not None:
            try:
                job.prepare(record)
            except Exception as exc:  # the record still goes in, saying what went wrong
                record.error = f"[the record could not be fully prepared: {type(exc).__name__}]"
        if not record.sentence:
            record.sentence = render(record)
        data = {name: getattr(record, name) for name in RECORD_FIELDS}
        # Normalise into JSON-safe values (no NaN, bytes, sets, lone surrogates), drop known
        # secrets and bound the size, so that neither the hash nor the insert can fail on an odd value.
        scrubbed: dict[str, Any] = self._scrub(data)
        return scrubbed

    def _refresh_secrets(self) -> None:
        if self._held is None:
            return
        try:
            held = tuple(self._held())
        except Exception:
            return
        if held != self._held_now:
            self._held_now = held
            self._scrub = make_scrubber((*self._secrets, *held), self._patterns)

    def _write_batch(self, batch: list[Written]) -> None:
        """One transaction for the whole batch; if it fails, each record alone (one bad apple)."""
        self._refresh_secrets()
        prepared: Prepared = []
        for job in batch:
            try:
                prepared.append((job, self._payload(job)))
            except Exception as exc:
                job.error = exc
        if not prepared:
            return
        try:
            self._commit(prepared)
        except Exception as exc:
            if len(prepared) == 1:
                prepared[0][0].error = exc
                return
            for job, data in prepared:
                try:
                    self._commit([(job, data)])
                except Exception as single:
                    job.error = single

    def _sealed(self, prepared: Prepared, rows: list[tuple[Any, ...]]) -> None:
        """The batch is committed: tell its callers their seq, and remember which writes are in flight."""
        for (job, data), row in zip(prepared, rows, strict=True):
            job.seq = row[0]
            job.record.sentence = data["sentence"]
            if data.get("phase") == "started":
                self._in_flight.add(row[0])
            elif data.get("completes") is not None:
                self._in_flight.discard(data["completes"])

    # -- reading --------------------------------------------------------------------------------

    def count(self) -> int:
        """Calls recorded (a write recorded ahead and completed counts once)."""
        rows = self._query(f"SELECT count(*) FROM audit s WHERE {self.NOT_COMPLETED}", ())
        return int(rows[0][0]) if rows else 0

    def tail(self, n: int = 20) -> list[AuditEntry]:
        """The last ``n`` calls, oldest first."""
        return self._select("", [], max(0, int(n)))

    def entry(self, seq: int) -> AuditEntry | None:
        """The record at ``seq`` (the console's detail page), or None."""
        found = self._select(f" AND s.seq = {self.PARAM}", [int(seq)], 1)
        return found[0] if found else None

    def search(
        self,
        agent: str | None = None,
        tool: str | None = None,
        decision: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """The most recent ``limit`` calls matching every given filter, oldest first."""
        if decision is not None and decision not in DECISIONS:
            raise ValueError(f"unknown decision {decision!r}; expected one of {', '.join(sorted(DECISIONS))}")
        p = self.PARAM
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("s.agent", agent), ("s.tool", tool)):
            if value is not None:
                where.append(f"{column} = {p}")
                params.append(value)
        if decision is not None:
            # "started" (still in flight here) and "unknown" are both open rows; told apart below.
            where.append(f"{_EFFECTIVE_DECISION} = {p}")
            params.append("unknown" if decision == "started" else decision)
        if since is not None:
            where.append(f"s.ts >= {p}")
            params.append(float(since))
        if until is not None:
            where.append(f"s.ts < {p}")
            params.append(float(until))
        clause = "".join(f" AND {w}" for w in where)
        entries = self._select(clause, params, max(0, int(limit)))
        return [e for e in entries if decision is None or e.record.decision == decision]

    def _select(self, clause: str, params: list[Any], limit: int) -> list[AuditEntry]:
        sql = _ENTRIES.format(open=self.NOT_COMPLETED, where=clause, param=self.PARAM)
        rows = self._query(sql, (*params, limit))
        return [self._entry(*row) for row in reversed(rows)]

    def _entry(
        self, seq: int, digest: str, started_json: str, done_hash: str | None, done_json: str | None
    ) -> AuditEntry:
        first = AuditRecord.from_dict(json.loads(started_json))
        if done_json is not None and done_hash is not None:
            # The completion says what happened; the started row holds the arguments, stored once.
            record = AuditRecord.from_dict(json.loads(done_json))
            record.arguments, record.ts = first.arguments, first.ts
            return AuditEntry(int(seq), done_hash, record)
        if first.phase == "started" and seq not in self._in_flight:
            first.decision = "unknown"
            first.sentence = render(first)
        return AuditEntry(int(seq), digest, first)
