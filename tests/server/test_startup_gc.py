"""Garbage collection while a server starts (``startup_gc``): off, then start-up's objects frozen and
collection back on; ``end`` leaves the interpreter as it found it (``serve`` run in-process)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from ops_mcp import startup_gc


@pytest.fixture(autouse=True)
def collection_restored() -> Iterator[None]:
    assert gc.isenabled() and gc.get_freeze_count() == 0
    try:
        yield
    finally:
        startup_gc.end()
        gc.enable()
        gc.unfreeze()


def test_pause_then_resume_freezes_what_start_up_made_and_collects_again() -> None:
    startup_gc.pause()
    assert not gc.isenabled()
    made_while_starting = [object() for _ in range(100)]
    startup_gc.resume()
    assert gc.isenabled()
    assert gc.get_freeze_count() >= len(made_while_starting)
    startup_gc.resume()  # a second "ready" (the backstop timer after the first listing) changes nothing
    assert gc.isenabled()
    startup_gc.end()
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_resume_does_nothing_unless_collection_was_paused_by_it() -> None:
    startup_gc.resume()
    assert gc.isenabled() and gc.get_freeze_count() == 0
    gc.disable()  # someone else's choice: not ours to undo
    try:
        startup_gc.pause()
        startup_gc.resume()
        assert not gc.isenabled() and gc.get_freeze_count() == 0
    finally:
        gc.enable()


def test_end_turns_collection_back_on_even_if_the_server_never_became_ready() -> None:
    startup_gc.pause()
    startup_gc.end()
    assert gc.isenabled() and gc.get_freeze_count() == 0
