"""What a tool call carries through the pipeline: who is calling, over what, and what the session can do.

Also the seams of the pipeline that other packages implement: a confirmer (governance), the upstream
caller and the audit sink. They are protocols so that ``calls`` depends on no concrete implementation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

import mcp_types as t

from ..catalogue.models import Endpoint
from ..records import Record

if TYPE_CHECKING:
    from ..audit import AuditRecord
    from ..audit.writer import Written
    from ..upstream.client import CallOutcome
    from ..upstream.connection import Connection

Progress = Callable[[float, float | None, str], Awaitable[None]]


class CallContext(Record):
    """What the executor needs from the transport: who, how, and the session's abilities."""

    __slots__ = ("agent", "transport", "session_id", "progress", "mcp_context")
    agent: str | None
    transport: str
    session_id: str | None
    progress: Progress | None
    mcp_context: Any  # the SDK's request context, for confirmation requests

    def __init__(self, agent: str | None, transport: str, session_id: str | None = None,
                 progress: Progress | None = None, mcp_context: Any = None) -> None:
        self.agent = agent
        self.transport = transport
        self.session_id = session_id
        self.progress = progress
        self.mcp_context = mcp_context


class Confirmed(Record):
    __slots__ = ("by",)
    by: str  # who or what confirmed, for the audit record

    def __init__(self, by: str) -> None:
        self.by = by


class Confirmer(Protocol):
    async def confirm(
        self, call: CallContext, endpoint: Endpoint, arguments: dict[str, Any]
    ) -> Confirmed | t.CallToolResult | t.InputRequiredResult: ...

    def strip(self, arguments: dict[str, Any]) -> dict[str, Any]: ...


class UpstreamCaller(Protocol):
    async def call(self, connection: Connection, endpoint: Endpoint, arguments: dict[str, Any], *,
                   progress: Any = None, idempotency_key: str | None = None) -> CallOutcome: ...

    async def request_json(self, connection: Connection, method: str, path: str, *,
                           params: dict[str, Any] | None = None) -> tuple[int, Any]: ...


class AuditSink(Protocol):
    """The part of an audit store (``audit.backend.AuditBackend``) the recorder writes through."""

    async def write(self, record: AuditRecord, *, prepare: Callable[[AuditRecord], None] | None = None,
                    opens: Written | None = None, ticket: Written | None = None) -> Written: ...

    def write_nowait(self, record: AuditRecord, *, prepare: Callable[[AuditRecord], None] | None = None,
                     opens: Written | None = None) -> Written: ...


CallObserver = Callable[["AuditRecord"], None]
