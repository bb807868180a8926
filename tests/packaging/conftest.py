"""Session fixtures for the packaging tests: the wheel, built once per session from this checkout, and a
clean virtual environment outside the checkout with only that wheel (and its dependencies) installed.

Both use uv (a test dependency): a wheel build takes about a second, so it is rebuilt each session rather
than cached across runs where it could go stale; dependencies come from the package index through uv's
own cache, as they would for a user running ``uvx ops-mcp``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from tests.packaging.support import REPO, UV, CleanInstall, outside_env, project_version, run


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """``ops_mcp-<version>-py3-none-any.whl`` built from this checkout (once per session)."""
    out = tmp_path_factory.mktemp("wheelhouse")
    done = run([UV, "build", "--quiet", "--wheel", "--out-dir", out, REPO], timeout=300)
    assert done.returncode == 0, done.stderr
    (built,) = out.glob("ops_mcp-*.whl")
    assert built.name == f"ops_mcp-{project_version()}-py3-none-any.whl"
    return built


@pytest.fixture(scope="session")
def clean_install(wheel, tmp_path_factory) -> CleanInstall:
    root = tmp_path_factory.mktemp("fresh-machine")
    assert REPO not in root.parents
    venv, home, work = root / "venv", root / "home", root / "work"
    home.mkdir()
    work.mkdir()
    env = outside_env(home)
    done = run([UV, "venv", "--quiet", "--python", sys._base_executable, venv], env=env, cwd=work)
    assert done.returncode == 0, done.stderr
    done = run([UV, "pip", "install", "--quiet", "--python", venv / "bin" / "python", wheel], env=env, cwd=work,
               timeout=300)
    assert done.returncode == 0, done.stderr
    return CleanInstall(venv=venv, home=home, work=work)
