"""Fixtures for the HTTP transport tests; the helpers themselves live in ``_support``."""

from __future__ import annotations

from pathlib import Path

import pytest

from ._support import write_config


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    return write_config(tmp_path)
