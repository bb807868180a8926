"""Shared test configuration: async tests run on asyncio via anyio's pytest plugin."""

import pytest


@pytest.fixture
def anyio_backend():
    return "asyncio"


def pytest_xdist_auto_num_workers(config) -> int:
    """``-n auto``: one worker per core, plus one. About a fifth of the suite's time is a worker waiting —
    for an ``ops-mcp`` subprocess to start, a socket, a rate-limit window — and the extra worker runs a test
    meanwhile (2 cores: 134 s with two workers, 118 s with three)."""
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cores + 1 if cores > 1 else 1
