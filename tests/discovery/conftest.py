"""Fixtures for discovery-mode tests (local; the shared harness lives in tests/confirmation)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

_HARNESS = Path(__file__).resolve().parents[1] / "confirmation"
if str(_HARNESS) not in sys.path:
    sys.path.insert(0, str(_HARNESS))

from ops_harness import sandbox_app, settings_for  # noqa: E402

from ops_mcp.runtime import Runtime, build_runtime  # noqa: E402

EVERYTHING = {"areas": {"remote.*": "full", "remoteops.*": "full"}}


@pytest.fixture
def make_runtime(tmp_path) -> Callable[..., Runtime]:
    made: list[Runtime] = []

    def factory(agents: dict[str, dict] | None = None) -> Runtime:
        settings = settings_for(tmp_path / "state", agents or {"ops": EVERYTHING})
        runtime = build_runtime(settings, sandbox_app=sandbox_app())
        made.append(runtime)
        return runtime

    yield factory
    for runtime in made:
        if "audit" in runtime.__dict__:
            runtime.audit.close()
