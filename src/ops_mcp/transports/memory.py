"""Give freed heap memory back to the OS now and then (glibc only).

A long-running server that parses and builds many short-lived JSON documents fragments glibc's heap:
Python frees the objects, but the allocator keeps the pages, so RSS creeps up while live memory stays
flat. ``malloc_trim(0)`` returns those pages; elsewhere it is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from collections.abc import Callable

import anyio

log = logging.getLogger("ops_mcp.memory")


def _malloc_trim() -> Callable[[], None] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to do
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return lambda: trim(0)


async def trim_periodically(interval_s: float) -> None:
    trim = _malloc_trim()
    if trim is None or interval_s <= 0:
        return
    while True:
        await anyio.sleep(interval_s)
        trim()
