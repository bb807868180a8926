"""What a call produces: the public ``CallOutcome`` and the internal records of one call.

``Answer`` is one upstream response read in full; ``CallState`` is what a call has spent so far
(attempts, rate-limit waits, the last request id) across its pages and retries; ``CallFailed``
carries an ``UpstreamError`` out of the steps to ``UpstreamClient.call``, which turns it into an
outcome.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from .errors import UpstreamError


@dataclass(frozen=True)
class BinaryContent:
    data: bytes = field(repr=False)
    mime_type: str
    filename: str | None = None


@dataclass
class CallOutcome:
    ok: bool
    status: int | None
    data: dict[str, Any] | None
    binary: BinaryContent | None = None
    error: UpstreamError | None = None
    request_id: str | None = None
    attempts: int = 0
    rate_limit_wait_s: float = 0.0
    duration_ms: float = 0.0


@dataclass(frozen=True)
class Answer:
    """One upstream response, read in full (any status)."""

    status: int
    headers: httpx.Headers
    content: bytes
    body: Any  # the parsed JSON, or None when the body is not JSON

    @property
    def is_json(self) -> bool:
        return self.body is not None


class CallFailed(Exception):
    """A step gave up; ``error`` is what the model will read."""

    def __init__(self, error: UpstreamError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass
class CallState:
    """What one tool call has spent so far (across pages and retries)."""

    attempts: int = 0
    rate_wait_s: float = 0.0
    request_id: str | None = None
    started: float = field(default_factory=time.perf_counter)

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
