"""Webhook delivery with retries, jitter and a dead-letter list, shared by both emulators.

The first attempt runs at once (in a background task started on first use: httpx's
ASGITransport runs no lifespan, so nothing can be started up front), then ``retries`` more
attempts after ``backoff_seconds[i] * time_scale`` seconds, each with ±20 % jitter. Any 2xx is
success; 410 means the receiver wants no more deliveries (``on_disable`` is called and the
delivery stops); ``Retry-After`` stretches the next wait. After the last failure the delivery
is dead-lettered.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

Signer = Callable[[bytes, str, int], dict[str, str]]


@dataclass
class DeliveryAttempt:
    event_id: str
    url: str
    attempt: int  # 1 = first attempt, 2.. = retries
    at: float  # epoch seconds
    status_code: int | None  # None when the request failed at the network level
    error: str | None
    duration_ms: float
    outcome: str  # "delivered" | "retrying" | "dead_lettered" | "disabled"
    next_attempt_at: float | None = None
    context: Any = None


@dataclass
class DeadLetter:
    event_id: str
    url: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    at: float
    context: Any = None


@dataclass
class _Job:
    url: str
    event_id: str
    body: bytes
    context: Any
    attempts: list[DeliveryAttempt] = field(default_factory=list)


class WebhookDeliverer:
    def __init__(
        self,
        sign: Signer,
        *,
        retries: int = 3,
        backoff_seconds: tuple[float, ...] = (60, 300, 1500),
        time_scale: float = 1.0,
        timeout: float = 15,
        transport: httpx.AsyncBaseTransport | None = None,
        on_attempt: Callable[[DeliveryAttempt], None] | None = None,
        on_disable: Callable[[str, Any], None] | None = None,
        on_dead_letter: Callable[[DeadLetter], None] | None = None,
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sign = sign
        self.retries = retries
        self.backoff_seconds = tuple(backoff_seconds) or (60,)
        self.time_scale = time_scale
        self.timeout = timeout
        self.transport = transport
        self.on_attempt = on_attempt
        self.on_disable = on_disable
        self.on_dead_letter = on_dead_letter
        self.clock = clock
        self.attempts: list[DeliveryAttempt] = []
        self.dead_letters: list[DeadLetter] = []
        self._rng = random.Random(seed)
        self._tasks: set[asyncio.Task[None]] = set()

    async def deliver(self, url: str, event_id: str, body: bytes, *, context: Any = None) -> None:
        """Schedule delivery of ``body`` to ``url``; returns at once.

        ``context`` (e.g. the endpoint id) is handed back in attempts, dead letters and callbacks.
        """
        job = _Job(url, event_id, body, context)
        task = asyncio.get_running_loop().create_task(self._run(job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def drain(self, timeout: float = 5.0) -> bool:
        """Wait until every scheduled delivery has finished; False if ``timeout`` ran out first."""
        deadline = time.monotonic() + timeout
        while self._tasks:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            await asyncio.wait(set(self._tasks), timeout=remaining)
        return True

    async def close(self) -> None:
        """Cancel deliveries still waiting (used on shutdown)."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _delay(self, retry_index: int, retry_after: float | None) -> float:
        base = self.backoff_seconds[min(retry_index, len(self.backoff_seconds) - 1)]
        base *= self._rng.uniform(0.8, 1.2)
        if retry_after is not None:
            base = max(base, retry_after)
        # Retry-After is scaled like every other wait: the sandbox's whole timeline is compressed.
        return base * self.time_scale

    async def _run(self, job: _Job) -> None:
        total = self.retries + 1
        for number in range(1, total + 1):
            status, error, retry_after, duration = await self._attempt(job)
            now = self.clock()
            if status is not None and 200 <= status < 300:
                self._note(job, number, now, status, error, duration, "delivered")
                return
            if status == 410:
                self._note(job, number, now, status, error, duration, "disabled")
                if self.on_disable is not None:
                    self.on_disable(job.url, job.context)
                self._dead_letter(job, number, status, "receiver answered 410 Gone; endpoint disabled")
                return
            if number == total:
                self._note(job, number, now, status, error, duration, "dead_lettered")
                self._dead_letter(job, number, status, error)
                return
            delay = self._delay(number - 1, retry_after)
            self._note(job, number, now, status, error, duration, "retrying", now + delay)
            await asyncio.sleep(delay)

    async def _attempt(self, job: _Job) -> tuple[int | None, str | None, float | None, float]:
        timestamp = int(self.clock())
        headers = {"content-type": "application/json", "user-agent": "ops-mcp-sandbox-webhooks/1"}
        headers.update(self.sign(job.body, job.event_id, timestamp))
        started = time.monotonic()
        try:
            async with httpx.AsyncClient(transport=self.transport, timeout=self.timeout) as client:
                response = await client.post(job.url, content=job.body, headers=headers)
        except Exception as exc:  # any failure to get an answer is a failed attempt
            return None, f"{type(exc).__name__}: {exc}", None, (time.monotonic() - started) * 1000
        duration = (time.monotonic() - started) * 1000
        error = None if response.is_success else f"HTTP {response.status_code}"
        return response.status_code, error, _retry_after(response), duration

    def _note(self, job: _Job, number: int, at: float, status: int | None, error: str | None,
              duration: float, outcome: str, next_at: float | None = None) -> None:
        attempt = DeliveryAttempt(job.event_id, job.url, number, at, status, error, duration, outcome,
                                  next_at, job.context)
        job.attempts.append(attempt)
        self.attempts.append(attempt)
        if self.on_attempt is not None:
            self.on_attempt(attempt)

    def _dead_letter(self, job: _Job, attempts: int, status: int | None, error: str | None) -> None:
        letter = DeadLetter(job.event_id, job.url, attempts, status, error, self.clock(), job.context)
        self.dead_letters.append(letter)
        if self.on_dead_letter is not None:
            self.on_dead_letter(letter)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
