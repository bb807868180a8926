"""Virtual time for the client and the emulators: a clock that moves only when a task sleeps.

``VirtualTime`` is both the clock (``time``/``now``, the emulators' ``Clock`` protocol) and the
``sleep`` the client is given, and it records every sleep. Sleepers take turns like a
discrete-event simulation: each one first lets every other task run until it blocks (a fixed
number of event-loop turns), then the sleeper with the earliest wake-up moves the clock to its
wake-up time and goes on. Concurrent sleeps therefore overlap as they would in real time, no sleep
is ever shorter than asked, and a test that waits minutes of rate-limit windows runs in
milliseconds, the same way every run (asyncio schedules ready tasks in FIFO order).
"""

from __future__ import annotations

import heapq
import itertools
import math
from datetime import UTC, datetime

import anyio
import anyio.lowlevel

START = datetime(2025, 6, 2, 9, 0, tzinfo=UTC).timestamp()
# Event-loop turns a sleeper waits so that every task that can run has run before time moves.
_SETTLE_TURNS = 50


class VirtualTime:
    def __init__(self, start: float = START) -> None:
        self._now = start
        self.sleeps: list[float] = []  # every sleep asked for, in order
        self._sleepers: list[tuple[float, int]] = []  # heap of (wake-up time, arrival order)
        self._arrivals = itertools.count()
        self._moved: anyio.Event | None = None

    # -- the clock (the client's ``clock`` and the emulators' Clock protocol) --------------------
    def time(self) -> float:
        return self._now

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._now, UTC)

    def advance(self, seconds: float) -> None:
        """Move the clock without sleeping (a test skipping ahead)."""
        self._now += seconds

    # -- the sleep -------------------------------------------------------------------------------
    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        wake = self._now + max(0.0, seconds)
        if seconds > 0 and wake == self._now:
            # Too short to show at this clock's magnitude: a real sleep still lets time pass.
            wake = math.nextafter(self._now, math.inf)
        me = (wake, next(self._arrivals))
        heapq.heappush(self._sleepers, me)
        try:
            while True:
                for _ in range(_SETTLE_TURNS):
                    await anyio.lowlevel.checkpoint()
                if self._sleepers[0] == me:
                    self._now = max(self._now, me[0])
                    return
                await self._next_move()
        finally:
            self._sleepers.remove(me)
            heapq.heapify(self._sleepers)
            if self._moved is not None:  # wake the other sleepers: one of them may be next
                self._moved.set()
                self._moved = None

    async def _next_move(self) -> None:
        if self._moved is None:
            self._moved = anyio.Event()
        await self._moved.wait()
