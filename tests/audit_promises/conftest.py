"""Fixtures for the audit promises (issue 12, items 1–7): runtimes on the embedded sandbox, optionally behind
a gate that holds upstream requests, so a test can look at the audit log while a write is in flight."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ops_mcp.runtime import Runtime
from tests.support.hostile import Gate
from tests.support.runtime import runtime_factory

# writer acts on time off and expenses with no confirmation (the write goes straight out); reader reads
# employments; other is another agent of the same deployment, on another back end.
AGENTS: dict[str, dict[str, Any]] = {
    "writer": {
        "areas": {"remote.timeoff": "full", "remote.expenses": "full", "remote.employments": "read"},
        "tool_mode": "static",
    },
    "other": {"areas": {"remoteops.work_orders": "read"}, "tool_mode": "static"},
}


def gated_sandbox(prefix: str = "/remote/") -> tuple[Gate, Any]:
    """The embedded sandbox behind a gate for requests under ``prefix`` (the seed data stays readable)."""
    from ops_mcp.sandbox.app import create_sandbox_app

    app = create_sandbox_app()
    gate = Gate(prefix).wrap(app)
    gate.state = app.state  # type: ignore[attr-defined]  # tests.support.seed reads the emulators' data
    return gate, gate


@pytest.fixture
def make_runtime(tmp_path) -> Iterator[Callable[..., Runtime]]:
    with runtime_factory(tmp_path, agents=AGENTS) as make:
        yield make
