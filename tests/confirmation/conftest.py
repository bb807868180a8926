"""Fixtures for confirmation tests: runtimes on the embedded sandbox in a temp state dir."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from ops_mcp.runtime import Runtime
from tests.support.runtime import runtime_factory

from .agents import HR_CONFIRM


@pytest.fixture
def make_runtime(tmp_path) -> Iterator[Callable[..., Runtime]]:
    with runtime_factory(tmp_path, agents={"hr": HR_CONFIRM}) as make:
        yield make


@pytest.fixture
def runtime(make_runtime) -> Runtime:
    return make_runtime()
