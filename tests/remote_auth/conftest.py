"""Fixtures for partner connections: the catalogue, a grant store under a fresh key."""

from __future__ import annotations

import base64

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
