"""Garbage collection while a server starts: off until it has started, then everything alive is frozen.

Start-up builds ~100k objects that live as long as the process (the catalogue, tool definitions, pydantic
schemas), and CPython's full collections walk all of them: several run while the modules load, and the
first one after start-up landed in the first tool call — the warm-up measured 91-105 ms with it and 30-44 ms
after ``gc.freeze()`` (benchmarks/RESULTS.md figure 1). So ``serve`` turns collection off while it starts
and, when it is ready (its first ``tools/list`` answered over stdio, listening over HTTP, or a few seconds
after the loop started at the latest), moves everything alive to the permanent generation and turns
collection back on: later collections look only at what was made since. Cyclic garbage made during
start-up, if any, is kept; start-up runs once. ``end`` undoes both (a ``serve`` run in-process, as tests do).
"""

from __future__ import annotations

import gc

# At the latest this long after the event loop starts, collection is back on (a host that never lists tools).
RESUME_AFTER_S = 5.0

_state = {"paused": False, "frozen": False}


def pause() -> None:
    if gc.isenabled():
        gc.disable()
        _state["paused"] = True


def resume() -> None:
    """Freeze what start-up made and collect again; does nothing unless ``pause`` turned collection off."""
    if _state["paused"]:
        _state["paused"] = False
        gc.freeze()
        _state["frozen"] = True
        gc.enable()


def end() -> None:
    resume()
    if _state["frozen"]:
        _state["frozen"] = False
        gc.unfreeze()
