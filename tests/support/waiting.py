"""Waiting for something another component finishes on its own schedule: a subprocess becoming ready, a
webhook delivered by the sandbox, a registration done in the background.

The condition itself is checked, every ``POLL_S``, until it holds; the timeout only bounds a hang (it is
not an expectation of speed, so it is generous). Nothing here sleeps a fixed time and hopes.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

T = TypeVar("T")
POLL_S = 0.02
TIMEOUT_S = 60.0


async def eventually(probe: Callable[[], Awaitable[T]], timeout: float = TIMEOUT_S) -> T:
    """The first truthy value ``await probe()`` returns; its last value if none came within ``timeout``."""
    value = await probe()
    with anyio.move_on_after(timeout):
        while not value:
            await anyio.sleep(POLL_S)
            value = await probe()
    return value


def eventually_sync(probe: Callable[[], T], timeout: float = TIMEOUT_S) -> T:
    """As :func:`eventually`, for a plain function, from synchronous code."""
    deadline = time.monotonic() + timeout
    value = probe()
    while not value and time.monotonic() < deadline:
        time.sleep(POLL_S)
        value = probe()
    return value
