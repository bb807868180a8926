"""Fair shares of one rate budget: callers wait in one queue per agent, served round-robin by weight.

A tenant's budget is shared by every agent bound to it. Served first-come first-served, one agent's 200
concurrent calls would fill the queue and another agent's single call would wait behind all of them (and
be told the budget is used up). ``FairQueue`` is the budget's lock instead: whoever holds it waits for the
next slot, and when it lets go the turn passes to the next *agent* with a waiter, not the next waiter.
An agent of weight 2 gets two turns in a row where an agent of weight 1 gets one.

Who is calling comes from ``budget_caller``, a context variable the executor sets around an upstream call
(the upstream client knows nothing of agents). Calls made outside any agent share one queue ("").

Cancellation is safe at every point: a waiter that gives up leaves its queue, and one that is handed the
turn just as it is cancelled passes the turn on.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import TracebackType

import anyio

_caller: ContextVar[str] = ContextVar("ops_mcp_budget_caller", default="")


@contextmanager
def budget_caller(agent: str) -> Iterator[None]:
    """Budget slots taken inside this block are ``agent``'s turns."""
    token = _caller.set(agent)
    try:
        yield
    finally:
        _caller.reset(token)


def current_caller() -> str:
    return _caller.get()


class _Waiter:
    __slots__ = ("event", "granted")

    def __init__(self) -> None:
        self.event = anyio.Event()
        self.granted = False


class FairQueue:
    """A lock whose waiters are served round-robin across agents (weighted), FIFO within an agent."""

    def __init__(self, weight_of: Callable[[str], int] = lambda agent: 1) -> None:
        self._weight_of = weight_of
        self._queues: dict[str, deque[_Waiter]] = {}
        self._rotation: deque[str] = deque()  # agents with waiters, whose turn is next first
        self._turns_taken = 0  # by the agent at the head of the rotation
        self._held = False

    def locked(self) -> bool:
        """Held, or someone is waiting for it: a newcomer would queue."""
        return self._held or bool(self._rotation)

    @property
    def waiting(self) -> dict[str, int]:
        return {agent: len(queue) for agent, queue in self._queues.items()}

    async def acquire(self, agent: str | None = None) -> None:
        agent = current_caller() if agent is None else agent
        if not self._held and not self._rotation:
            self._held = True
            return
        waiter = _Waiter()
        queue = self._queues.get(agent)
        if queue is None:
            queue = self._queues[agent] = deque()
            self._rotation.append(agent)
        queue.append(waiter)
        try:
            await waiter.event.wait()
        except BaseException:
            if waiter.granted:
                self.release()  # handed the turn while being cancelled: pass it on
            else:
                self._leave(agent, waiter)
            raise

    def release(self) -> None:
        waiter = self._next()
        if waiter is None:
            self._held = False
            return
        waiter.granted = True  # the lock passes straight to it: nobody can barge in between
        waiter.event.set()

    def _next(self) -> _Waiter | None:
        while self._rotation:
            agent = self._rotation[0]
            queue = self._queues[agent]
            waiter = queue.popleft()
            self._turns_taken += 1
            if not queue:
                del self._queues[agent]
                self._rotation.popleft()
                self._turns_taken = 0
            elif self._turns_taken >= max(1, self._weight_of(agent)):
                self._rotation.rotate(-1)  # its share of this round is used: the next agent's turn
                self._turns_taken = 0
            return waiter
        return None

    def _leave(self, agent: str, waiter: _Waiter) -> None:
        queue = self._queues.get(agent)
        if queue is None or waiter not in queue:
            return
        queue.remove(waiter)
        if not queue:
            del self._queues[agent]
            head = self._rotation[0] == agent
            self._rotation.remove(agent)
            if head:
                self._turns_taken = 0

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
