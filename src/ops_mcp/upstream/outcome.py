"""What a call produces: the public ``CallOutcome`` and the internal records of one call.

``Answer`` is one upstream response read in full; ``CallState`` is what a call has spent so far
(attempts, rate-limit waits, the last request id) across its pages and retries; ``CallFailed``
carries an ``UpstreamError`` out of the steps to ``UpstreamClient.call``, which turns it into an
outcome.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from ..records import Frozen, Record, set_fields
from .errors import UpstreamError


class BinaryContent(Frozen):
    __slots__ = ("data", "mime_type", "filename")
    _unshown = frozenset({"data"})
    data: bytes
    mime_type: str
    filename: str | None

    def __init__(self, data: bytes, mime_type: str, filename: str | None = None) -> None:
        set_fields(self, data=data, mime_type=mime_type, filename=filename)


class CallOutcome(Record):
    __slots__ = (
        "ok", "status", "data", "binary", "error", "request_id", "attempts", "rate_limit_wait_s", "duration_ms",
    )
    ok: bool
    status: int | None
    data: dict[str, Any] | None
    binary: BinaryContent | None
    error: UpstreamError | None
    request_id: str | None
    attempts: int
    rate_limit_wait_s: float
    duration_ms: float

    def __init__(
        self,
        ok: bool,
        status: int | None,
        data: dict[str, Any] | None,
        binary: BinaryContent | None = None,
        error: UpstreamError | None = None,
        request_id: str | None = None,
        attempts: int = 0,
        rate_limit_wait_s: float = 0.0,
        duration_ms: float = 0.0,
    ) -> None:
        self.ok = ok
        self.status = status
        self.data = data
        self.binary = binary
        self.error = error
        self.request_id = request_id
        self.attempts = attempts
        self.rate_limit_wait_s = rate_limit_wait_s
        self.duration_ms = duration_ms


class Answer(Frozen):
    """One upstream response, read in full (any status)."""

    __slots__ = ("status", "headers", "content", "body")
    status: int
    headers: httpx.Headers
    content: bytes
    body: Any  # the parsed JSON, or None when the body is not JSON

    def __init__(self, status: int, headers: httpx.Headers, content: bytes, body: Any) -> None:
        set_fields(self, status=status, headers=headers, content=content, body=body)

    @property
    def is_json(self) -> bool:
        return self.body is not None


class CallFailed(Exception):
    """A step gave up; ``error`` is what the model will read."""

    def __init__(self, error: UpstreamError) -> None:
        super().__init__(error.message)
        self.error = error


class CallState(Record):
    """What one tool call has spent so far (across pages and retries)."""

    __slots__ = ("attempts", "rate_wait_s", "request_id", "started")
    attempts: int
    rate_wait_s: float
    request_id: str | None
    started: float  # time.perf_counter() when the call began

    def __init__(
        self, attempts: int = 0, rate_wait_s: float = 0.0, request_id: str | None = None, started: float | None = None
    ) -> None:
        self.attempts = attempts
        self.rate_wait_s = rate_wait_s
        self.request_id = request_id
        self.started = time.perf_counter() if started is None else started

    def outcome(
        self,
        status: int | None,
        data: dict[str, Any] | None = None,
        binary: BinaryContent | None = None,
        error: UpstreamError | None = None,
    ) -> CallOutcome:
        return CallOutcome(
            ok=error is None,
            status=status,
            data=data,
            binary=binary,
            error=error,
            request_id=self.request_id,
            attempts=self.attempts,
            rate_limit_wait_s=round(self.rate_wait_s, 3),
            duration_ms=round((time.perf_counter() - self.started) * 1000, 2),
        )
