"""Fixtures for confirmation tests: a runtime on the embedded sandbox in a temp state dir.

Local to this directory so the project-wide conftest stays the lead's.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:  # the shared harness lives next to this file (discovery tests use it too)
    sys.path.insert(0, str(_HERE))

from ops_harness import HR_CONFIRM, sandbox_app, settings_for  # noqa: E402

from ops_mcp.runtime import Runtime, build_runtime  # noqa: E402


@pytest.fixture
def make_runtime(tmp_path) -> Callable[..., Runtime]:
    made: list[Runtime] = []

    def factory(agents: dict[str, dict] | None = None, state_dir: Path | None = None,
                server: dict | None = None) -> Runtime:
        settings = settings_for(state_dir or tmp_path / "state", agents or {"hr": HR_CONFIRM}, server)
        runtime = build_runtime(settings, sandbox_app=sandbox_app())
        made.append(runtime)
        return runtime

    yield factory
    for runtime in made:
        if "audit" in runtime.__dict__:
            runtime.audit.close()


@pytest.fixture
def runtime(make_runtime) -> Runtime:
    return make_runtime()
