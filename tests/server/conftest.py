"""Fixtures for the governed server: a runtime on the embedded sandbox (in-process, real HTTP via ASGI)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ops_mcp.config import Settings
from ops_mcp.runtime import Runtime, build_runtime

ERAS = ["legacy", "2026-07-28"]

PEOPLE_OPS = {
    "areas": {"remote.employments": "read", "remote.timeoff": "full"},
    "connections": {"remote": "acme", "remoteops": "northwind"},
}


def settings_for(state_dir: Path, agents: dict[str, dict], **extra: Any) -> Settings:
    backends = {
        "remote": {"connections": {"acme": {"label": "Acme GmbH"}, "globex": {"label": "Globex Ltd"}}},
        "remoteops": {"connections": {"northwind": {"label": "Northwind Elevators"}, "contoso": {}}},
    }
    return Settings(storage={"dir": str(state_dir)}, backends=backends, agents=agents, **extra)


@pytest.fixture
def make_runtime(tmp_path) -> Callable[..., Runtime]:
    made: list[Runtime] = []

    def factory(agents: dict[str, dict] | None = None, **sandbox: Any) -> Runtime:
        """A runtime whose embedded sandbox follows ``[sandbox]`` keys (e.g. remote_rate_limit=12)."""
        settings = settings_for(tmp_path / "state", agents or {"people-ops": PEOPLE_OPS}, sandbox=sandbox)
        runtime = build_runtime(settings)
        made.append(runtime)
        return runtime

    yield factory
    for runtime in made:
        if "audit" in runtime.__dict__:
            runtime.audit.close()


def backend_state(runtime: Runtime, backend: str):
    """The emulator's state object (requests log, stores) behind the combined sandbox app."""
    return getattr(runtime.sandbox_app.state, backend).state.sandbox
