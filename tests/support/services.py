"""The real PostgreSQL and Redis the scale tests run against, each test in a schema and key prefix of its own.

URLs: ``$OPS_MCP_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``) and
``$OPS_MCP_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``). When one cannot be reached the tests that
need it are skipped with one line saying how to run them — unless ``OPS_MCP_REQUIRE_SERVICES=1`` (CI), when
they fail instead: a skipped scale test must not pass for a green run.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import pytest

POSTGRES_URL = os.environ.get("OPS_MCP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("OPS_MCP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
HOW = (
    "start PostgreSQL on 127.0.0.1:5432 (trust auth, database `test`) and Redis on 127.0.0.1:6379, "
    "or point $OPS_MCP_TEST_POSTGRES_URL / $OPS_MCP_TEST_REDIS_URL at yours, and pip install -e '.[test]'"
)


def _unavailable(what: str, why: str) -> None:
    message = f"{what} is not reachable ({why}); to run these tests: {HOW}"
    if os.environ.get("OPS_MCP_REQUIRE_SERVICES") == "1":
        pytest.fail(f"OPS_MCP_REQUIRE_SERVICES=1 but {message}", pytrace=False)
    pytest.skip(message)


def unique(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"


def with_schema(url: str, schema: str) -> str:
    """``url`` whose connections use ``schema`` (libpq ``options``: every pooled connection gets it)."""
    return f"{url}{'&' if '?' in url else '?'}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A URL into a new, empty schema, dropped afterwards."""
    try:
        import psycopg
    except ImportError as exc:
        _unavailable("PostgreSQL", f"driver missing: {exc}")
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        _unavailable(f"PostgreSQL at {POSTGRES_URL}", str(exc).splitlines()[0] if str(exc) else "no answer")
    schema = unique("opsmcp")
    with admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield with_schema(POSTGRES_URL, schema)
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextmanager
def redis_prefix() -> Iterator[tuple[str, str]]:
    """(Redis URL, a key prefix of this test's own); every key under it is deleted afterwards."""
    try:
        import redis
    except ImportError as exc:
        _unavailable("Redis", f"driver missing: {exc}")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        _unavailable(f"Redis at {REDIS_URL}", str(exc))
    prefix = unique("opsmcp-test")
    try:
        yield REDIS_URL, prefix
    finally:
        for key in client.scan_iter(match=f"{prefix}:*", count=500):
            client.delete(key)
        client.close()
