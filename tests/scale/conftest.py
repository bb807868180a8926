"""Fixtures for tests against the real PostgreSQL and Redis (see tests/support/services.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.services import postgres_schema, redis_prefix


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL into a fresh schema of this test's own (not migrated)."""
    with postgres_schema() as url:
        yield url


@pytest.fixture
def migrated_url(pg_url: str) -> str:
    from ops_mcp.storage.postgres.database import Database
    from ops_mcp.storage.postgres.migrations import migrate

    db = Database(pg_url, pool_size=1)
    try:
        migrate(db)
    finally:
        db.close()
    return pg_url


@pytest.fixture
def redis_target() -> Iterator[tuple[str, str]]:
    """(Redis URL, key prefix of this test's own)."""
    with redis_prefix() as target:
        yield target
