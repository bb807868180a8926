"""Fixtures for the first-hour tests: an in-process runtime on the embedded sandbox, per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ops_mcp.config import Settings
from ops_mcp.runtime import Runtime, build_runtime

ERAS = ["legacy", "2026-07-28"]
BACKENDS: dict[str, Any] = {
    "remote": {"connections": {"acme": {"label": "Acme GmbH"}}},
    "remoteops": {"connections": {"northwind": {"label": "Northwind Elevators"}}},
}


@pytest.fixture
def make_runtime(tmp_path: Path) -> Iterator[Callable[..., Runtime]]:
    from ops_mcp.sandbox.app import create_sandbox_app

    made: list[Runtime] = []

    def factory(agents: dict[str, dict], **settings: Any) -> Runtime:
        config = Settings(storage={"dir": str(tmp_path / f"state{len(made)}")}, backends=BACKENDS, agents=agents,
                          **settings)
        runtime = build_runtime(config, sandbox_app=create_sandbox_app())
        made.append(runtime)
        return runtime

    yield factory
    for runtime in made:
        runtime.audit.close()
        runtime.approvals.close()
        runtime.events.close()


def upstream_requests(runtime: Runtime, backend: str) -> list[Any]:
    return list(getattr(runtime.sandbox_app.state, backend).state.sandbox.requests)
