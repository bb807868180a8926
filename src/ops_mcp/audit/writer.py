"""The audit store's writer: one thread, a bounded queue, group commit.

Callers on the event loop hand a record over and await a ``Written`` ticket; redaction, rendering, JSON
encoding, hashing and SQLite I/O all happen on the writer thread, so a flood of huge calls costs the
flooding agent its turn, not every other agent's event loop. The queue holds ``capacity`` records: an
async caller that finds it full waits (without blocking the loop) until the writer has taken a batch.
Completions of calls being cancelled skip the bound (``put_nowait``): each completes a record that was
admitted, so they cannot grow it by more than the writes in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..records import Record

if TYPE_CHECKING:
    from .records import AuditRecord

log = logging.getLogger("ops_mcp.audit")

Prepare = Callable[["AuditRecord"], None]
"""Finishes a record where the store writes it (redaction, the sentence): never on the event loop."""

CAPACITY = 1024
MAX_BATCH = 256


class Written(Record):
    """One record handed to the writer; ``seq`` once it is stored, ``error`` if it could not be."""

    __slots__ = ("record", "prepare", "opens", "seq", "error", "follows", "_done", "_waiters", "_lock")
    _unshown = frozenset({"_done", "_waiters", "_lock"})
    record: AuditRecord
    prepare: Prepare | None
    opens: Written | None  # the started record this one completes
    seq: int | None
    error: BaseException | None
    follows: bool  # committed in the same transaction as the job queued just before it
    _done: threading.Event
    _waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]]
    _lock: threading.Lock

    def __init__(self, record: AuditRecord, prepare: Prepare | None = None, opens: Written | None = None,
                 seq: int | None = None, error: BaseException | None = None, follows: bool = False) -> None:
        self.record = record
        self.prepare = prepare
        self.opens = opens
        self.seq = seq
        self.error = error
        self.follows = follows
        self._done = threading.Event()
        self._waiters = []
        self._lock = threading.Lock()

    # A ticket is the one object its writer and waiters share: equal only to itself, hashable by identity.
    __eq__ = object.__eq__
    __hash__ = object.__hash__  # type: ignore[assignment]

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def finish(self) -> None:
        with self._lock:
            self._done.set()
            waiters, self._waiters = self._waiters, []
        for loop, future in waiters:
            _wake(loop, future)

    def wait(self, timeout: float | None = None) -> None:
        self._done.wait(timeout)

    async def wait_async(self) -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if self._done.is_set():
                return
            self._waiters.append((loop, future))
        await future

    def result(self) -> int:
        if self.error is not None:
            raise self.error
        assert self.seq is not None
        return self.seq


def _wake(loop: asyncio.AbstractEventLoop, future: asyncio.Future[None]) -> None:
    def settle() -> None:
        if not future.done():
            future.set_result(None)

    with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
        loop.call_soon_threadsafe(settle)


class ChainWriter:
    """Runs ``write_batch(jobs)`` on one thread for everything submitted, in order."""

    def __init__(self, write_batch: Callable[[list[Written]], None], capacity: int = CAPACITY) -> None:
        self._write_batch = write_batch
        self.capacity = capacity
        self._cond = threading.Condition()
        self._queue: deque[Written] = deque()
        self._space: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._submitted = 0
        self._finished = 0
        self._closed = False
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    # -- submitting -----------------------------------------------------------------------------

    async def put(self, job: Written) -> None:
        """Queue ``job``, waiting (off the loop) while the queue is full."""
        loop = asyncio.get_running_loop()
        while True:
            with self._cond:
                self._check()
                if len(self._queue) < self.capacity:
                    self._enqueue(job)
                    return
                future: asyncio.Future[None] = loop.create_future()
                self._space.append((loop, future))
            await future

    def put_blocking(self, job: Written) -> None:
        with self._cond:
            self._check()
            while len(self._queue) >= self.capacity:
                self._cond.wait()
                self._check()
            self._enqueue(job)

    def put_many_blocking(self, jobs: list[Written]) -> None:
        """Queue ``jobs`` together (a group the writer never splits), once there is room."""
        with self._cond:
            self._check()
            while len(self._queue) >= self.capacity:
                self._cond.wait()
                self._check()
            for job in jobs:
                self._enqueue(job)

    def put_nowait(self, job: Written) -> None:
        with self._cond:
            self._check()
            self._enqueue(job)

    def _check(self) -> None:
        if self._closed:
            raise RuntimeError("audit store is closed")
        if self._pid != os.getpid():
            # A forked child: the writer thread stayed in the parent. Start afresh.
            self._queue.clear()
            self._space.clear()
            self._thread = None
            self._submitted = self._finished = 0
            self._pid = os.getpid()

    def _enqueue(self, job: Written) -> None:
        self._queue.append(job)
        self._submitted += 1
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="ops-mcp-audit-writer", daemon=True)
            self._thread.start()
        self._cond.notify_all()

    # -- waiting --------------------------------------------------------------------------------

    def flush(self, timeout: float = 60.0) -> None:
        """Return once everything submitted before this call is stored (or failed)."""
        with self._cond:
            if self._thread is None or self._pid != os.getpid():
                return
            target = self._submitted
            self._cond.wait_for(lambda: self._finished >= target or self._thread is None, timeout)

    @property
    def backlog(self) -> int:
        with self._cond:
            return len(self._queue)

    def close(self, timeout: float = 30.0) -> None:
        with self._cond:
            self._closed = True
            thread = self._thread if self._pid == os.getpid() else None
            self._cond.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    # -- the writer thread ----------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    self._thread = None
                    self._cond.notify_all()
                    return
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), MAX_BATCH))]
                while self._queue and self._queue[0].follows:  # a group is one commit, never split
                    batch.append(self._queue.popleft())
                space, self._space = self._space, []
                self._cond.notify_all()  # room for blocked synchronous submitters
            for loop, future in space:
                _wake(loop, future)
            try:
                self._write_batch(batch)
            except BaseException as exc:  # the thread must survive anything a batch throws
                log.exception("audit writer failed a batch")
                for job in batch:
                    if job.seq is None and job.error is None:
                        job.error = exc
            for job in batch:
                job.finish()
            with self._cond:
                self._finished += len(batch)
                self._cond.notify_all()
