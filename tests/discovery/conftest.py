"""Fixtures for discovery-mode tests: runtimes on the embedded sandbox in a temp state dir."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from ops_mcp.runtime import Runtime
from tests.support.runtime import runtime_factory

EVERYTHING = {"areas": {"remote.*": "full", "remoteops.*": "full"}}


@pytest.fixture
def make_runtime(tmp_path) -> Iterator[Callable[..., Runtime]]:
    with runtime_factory(tmp_path, agents={"ops": EVERYTHING}) as make:
        yield make
