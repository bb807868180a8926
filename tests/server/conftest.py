"""Fixtures for the governed server: runtimes on the embedded sandbox (in process, real HTTP via ASGI),
two tenants per back end."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from ops_mcp.runtime import Runtime
from tests.support.runtime import TWO_TENANTS, runtime_factory

PEOPLE_OPS = {
    "areas": {"remote.employments": "read", "remote.timeoff": "full"},
    "connections": {"remote": "acme", "remoteops": "northwind"},
}


@pytest.fixture
def make_runtime(tmp_path) -> Iterator[Callable[..., Runtime]]:
    with runtime_factory(tmp_path, agents={"people-ops": PEOPLE_OPS}, backends=TWO_TENANTS) as make:
        yield make
