"""Fixtures for partner connections: the catalogue, a grant store under a fresh key, a loopback sandbox."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from ops_mcp.secretbox import SecretBox, new_key
from ops_mcp.upstream.grants import GRANTS_FILE, SqliteGrantStore


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def catalogue():
    from ops_mcp.catalogue import load_catalogue

    return load_catalogue()


@pytest.fixture
def grants(tmp_path):
    store = SqliteGrantStore(tmp_path / "state" / GRANTS_FILE, SecretBox(base64.urlsafe_b64decode(new_key())))
    yield store
    store.close()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[tuple[str, object]]:
    """A real loopback sandbox (both emulators, as `ops-mcp sandbox` serves them): (base URL, Remote state)."""
    from ops_mcp.config import SandboxConfig
    from ops_mcp.sandbox.app import create_sandbox_app
    from ops_mcp.sandbox.embedded import sandbox_settings
    from tests.support.loopback import serve_app

    app = create_sandbox_app(sandbox_settings(SandboxConfig(remote_rate_limit=100_000)))
    with serve_app(app) as base:
        yield base, app.state.remote.state.sandbox
