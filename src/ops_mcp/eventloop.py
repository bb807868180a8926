"""The event loop a server process runs on: uvloop where it is installed, else asyncio's own.

uvloop (libuv, in C) runs the same asyncio programs with less work per callback, socket read and write;
with the HTTP/1.1 upstream transport on protocol callbacks (``upstream/http1.py``) a hosted call costs
~0.3× less server CPU on it (benchmarks/RESULTS.md). It is a dependency wherever it builds (not Windows).
``OPS_MCP_EVENT_LOOP=asyncio`` keeps asyncio's loop, e.g. to rule the loop out when chasing a problem.
Tests that run servers in-process use asyncio's loop; the upstream transport is tested on both.
"""

from __future__ import annotations

import importlib.util
import os

ENV = "OPS_MCP_EVENT_LOOP"


def uvloop_chosen() -> bool:
    if os.environ.get(ENV, "").strip().lower() == "asyncio":
        return False
    return importlib.util.find_spec("uvloop") is not None


def anyio_backend_options() -> dict[str, bool]:
    """For ``anyio.run(..., backend_options=...)``."""
    return {"use_uvloop": True} if uvloop_chosen() else {}


def uvicorn_loop() -> str:
    """For ``uvicorn.Config(loop=...)``: named, so that ``OPS_MCP_EVENT_LOOP`` holds over HTTP too."""
    return "uvloop" if uvloop_chosen() else "asyncio"
