"""One audit record per tool call: built as the call goes, handed to the audit store, observed.

Both the executor and the tools ops-mcp answers itself (discovery's meta-tools, the events feed) record
through here, and the server's witness (``server/witness.py``) records every ``tools/call`` that none of
them reached (one the SDK rejected before any of our code ran), so every ``tools/call`` that reaches the
server leaves exactly one record.

The event loop only fills in fields. Redaction (of the arguments, and of every stored text that could
quote them), the sentence, encoding and I/O run on the store's writer thread (``prepare``), so a huge
call costs its own agent time, not everyone's. A write is recorded ahead (``open``) and refused when
that fails; a read is answered even when its record cannot be stored, and the log says so.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import time
from typing import Any

from ..audit import AuditRecord, Redaction, render
from ..audit.writer import Written
from ..catalogue.models import Endpoint, Manifest
from ..policy import AgentPolicy
from ..records import Record
from ..tenants import Tenants
from .context import AuditSink, CallContext, CallObserver

log = logging.getLogger("ops_mcp.calls")


def endpoint_backend(endpoint: Endpoint) -> str:
    return endpoint.area.split(".", 1)[0]


class AuditUnavailable(Exception):
    """The audit store could not take a record written ahead: the write must not be sent."""


class Witness(Record):
    """Whether the ``tools/call`` being served has been recorded (one per request, see server/witness.py)."""

    __slots__ = ("recorded",)
    recorded: bool

    def __init__(self, recorded: bool = False) -> None:
        self.recorded = recorded


_witness: contextvars.ContextVar[Witness | None] = contextvars.ContextVar("ops_mcp_call_witness", default=None)


class Recording(Record):
    """One call's record while the executor runs it: the record, the write-ahead row, whether it is done."""

    __slots__ = ("record", "started", "opened", "sent", "finished")
    record: AuditRecord
    started: float
    opened: Written | None  # the write-ahead row (handed to the store, maybe not stored yet)
    sent: bool  # the request may have left: its outcome is unknown unless the answer came
    finished: bool

    def __init__(self, record: AuditRecord, started: float, opened: Written | None = None, sent: bool = False,
                 finished: bool = False) -> None:
        self.record = record
        self.started = started
        self.opened = opened
        self.sent = sent
        self.finished = finished


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

    # -- building a record -----------------------------------------------------------------------

    @contextlib.contextmanager
    def witnessing(self) -> Any:
        """Within this block, say whether any record was started (for the server's witness). Nested blocks
        share the outer witness, so the HTTP door and the server's middleware never both record one call."""
        outer = _witness.get()
        if outer is not None:
            yield outer
            return
        witness = Witness()
        token = _witness.set(witness)
        try:
            yield witness
        finally:
            _witness.reset(token)

    def start(self, call: CallContext, name: Any) -> AuditRecord:
        witness = _witness.get()
        if witness is not None:
            witness.recorded = True
        return AuditRecord(
            agent=call.agent or "(none)", tool=printable(name)[:128], decision="denied",
            transport=call.transport, session_id=call.session_id,
        )

    def recording(self, call: CallContext, name: Any) -> Recording:
        return Recording(self.start(call, name), time.perf_counter())

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
        # Raw until the writer thread prepares the record (see _prepare): redaction is not loop work.
        record.arguments = arguments

    # -- storing it ------------------------------------------------------------------------------

    def _prepare(self, raw_arguments: Any) -> Any:
        redaction = self.redaction

        def prepare(record: AuditRecord) -> None:
            # A completion's arguments are its started row's: stored once.
            record.arguments = redaction.arguments(raw_arguments) if record.phase != "completed" else {}
            if record.error:
                # Errors quote values ("email: 'bob@…' is not a valid email"): what the arguments hide, they hide.
                record.error = redaction.text(record.error, raw_arguments)
            ids = record.target_ids or {}
            kept = redaction.arguments(dict(ids)) if ids else {}  # one pass for all of them
            record.target_ids = {k: v for k, v in ids.items() if kept.get(k) == v}
            record.sentence = render(record)

        return prepare

    def _close(self, record: AuditRecord, started: float, decision: str, error: str | None) -> Any:
        record.decision = decision
        record.error = error
        record.duration_ms = round((time.perf_counter() - started) * 1000, 1)
        return record.arguments  # still raw: see arguments()

    def _observed(self, record: AuditRecord) -> None:
        for observer in self._observers:
            with contextlib.suppress(Exception):
                observer(record)

    def finish(self, record: AuditRecord, started: float, decision: str, *, error: str | None = None) -> None:
        """Record a finished call without waiting for the store (for callers that cannot await)."""
        raw = self._close(record, started, decision, error)
        try:
            self.audit.write_nowait(record, prepare=self._prepare(raw))
        except Exception:  # the call's answer must not depend on the audit disk, but the operator must know
            log.exception("audit store could not take the record of %s", printable(record.tool))
        self._observed(record)

    async def finish_async(self, recording: Recording, decision: str, *, error: str | None = None) -> None:
        """Record how the call ended; returns once the record is stored (back-pressure for floods)."""
        record = recording.record
        recording.finished = True
        raw = self._close(record, recording.started, decision, error)
        opened = recording.opened
        prepare = self._prepare(raw)
        try:
            await self.audit.write(record, prepare=prepare, opens=opened)
        except Exception:
            what = "write (it was sent)" if opened is not None else (record.access or "call")
            log.error("audit store could not take the record of a %s of %s; answered anyway",
                      what, printable(record.tool), exc_info=True)
        self._observed(record)

    async def open(self, recording: Recording) -> None:
        """Record a write ahead of its request; ``AuditUnavailable`` when the store cannot take it."""
        ahead = recording.record.replace(decision="started", phase="started", error=None, duration_ms=None,
                                         sentence="")
        # Known before awaiting: if the call is cancelled meanwhile, its completion still names this row.
        recording.opened = Written(ahead, self._prepare(recording.record.arguments))
        try:
            await self.audit.write(ahead, ticket=recording.opened)
        except Exception as exc:
            recording.opened = None
            log.error("audit store could not record a write of %s ahead of its request; refusing it (%s)",
                      printable(recording.record.tool), type(exc).__name__)
            raise AuditUnavailable(str(exc)) from None

    def abandon(self, recording: Recording, exc: BaseException) -> None:
        """The call is being cancelled (or crashed): complete its record now, without waiting."""
        if recording.finished:
            return
        recording.finished = True
        sent = recording.sent
        if isinstance(exc, Exception):
            decision, error = "failed", f"internal error ({type(exc).__name__})"
        else:
            decision = "cancelled"
            error = "while the back end was being called" if sent else "before any request was sent"
        if sent:
            error += "; outcome unknown"
        record = recording.record
        raw = self._close(record, recording.started, decision, error)
        try:
            self.audit.write_nowait(record, prepare=self._prepare(raw),
                                    opens=recording.opened)
        except Exception:
            log.exception("audit store could not take the record of a cancelled call of %s", printable(record.tool))
        self._observed(record)

    def local(self, call: CallContext, *, tool: str, title: str, access: str, decision: str,
              arguments: Any, started: float, error: str | None = None) -> None:
        """Record a call answered by ops-mcp itself (meta-tools, the events feed)."""
        record = self.start(call, tool)
        record.tool_title, record.access = title, access
        self.arguments(record, arguments)
        self.finish(record, started, decision, error=error)

    async def rejected(self, call: CallContext, *, tool: Any, arguments: Any, error: str, outcome: str,
                       nowait: bool = False) -> None:
        """Record a ``tools/call`` the SDK refused before any tool ran (malformed or forged)."""
        recording = self.recording(call, tool if isinstance(tool, str) else "(no tool name)")
        record = recording.record
        record.outcome = outcome
        self.arguments(record, arguments)
        # A forged or altered confirmation state is ops-mcp refusing what the agent sent, like a replay.
        decision = "denied" if outcome.startswith("refused:") else "invalid"
        if nowait:
            self.finish(record, recording.started, decision, error=error)
        else:
            await self.finish_async(recording, decision, error=error)


def printable(name: Any) -> str:
    text = name if isinstance(name, str) else repr(name)
    return "".join(ch if ch.isprintable() else "?" for ch in text)[:128]
