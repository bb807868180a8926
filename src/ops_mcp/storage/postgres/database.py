"""One pool of PostgreSQL connections per process, and the few ways the stores use it.

``psycopg`` (3, with ``psycopg_pool``) is imported here and only here, when a store is opened against a
``postgresql://`` URL: stdio start-up and the embedded store never load it. Connections run in autocommit;
a store that needs several statements to be one transaction asks for ``transaction()``.

``QmarkSession`` lets the embedded stores' own SQL (``?`` placeholders, sqlite3-style cursors) run
unchanged against PostgreSQL, so a store's rules (expiry, one redemption, dedup) are written once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ...secretbox import SecretKeyError

MISSING_DRIVER = (
    "storage.url is a PostgreSQL URL but the driver is not installed: install ops-mcp[postgres] "
    "(pip install 'ops-mcp[postgres]')"
)


class StorageUnavailable(RuntimeError):
    """The database cannot be reached or used; the message says which and why (never the password)."""


class MissingSecretKey(StorageUnavailable, SecretKeyError):
    """No secret key to seal what PostgreSQL keeps: also a ``SecretKeyError`` for callers that expect one."""


def redact_url(url: str) -> str:
    """The URL as it may appear in a log line or ``ops-mcp check``: no password."""
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", url)


class Database:
    """A connection pool to one PostgreSQL database (and schema, via the URL's ``options``)."""

    def __init__(self, url: str, *, pool_size: int = 8, timeout_s: float = 10.0) -> None:
        try:
            import psycopg  # noqa: F401  (fail here with the install hint, not deep in the pool)
            from psycopg_pool import ConnectionPool
        except ImportError:
            raise StorageUnavailable(MISSING_DRIVER) from None
        self.url = url
        self.where = redact_url(url)
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            timeout=timeout_s,
            open=False,
            kwargs={"autocommit": True, "connect_timeout": max(1, int(timeout_s))},
            name="ops-mcp",
        )
        try:
            self._pool.open(wait=True, timeout=timeout_s)
        except Exception as exc:
            self._pool.close()
            raise StorageUnavailable(
                f"PostgreSQL at {self.where} cannot be reached: {_reason(exc)}"
            ) from None

    @contextmanager
    def connection(self) -> Iterator[Any]:
        with self._pool.connection() as conn:
            yield conn

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """One connection inside one transaction (committed on leaving, rolled back on an exception)."""
        with self._pool.connection() as conn, conn.transaction():
            yield conn

    def execute(self, sql: str, params: Sequence[Any] = (), *, timeout_s: float | None = None) -> Rows:
        """One statement on a pooled connection; ``timeout_s`` bounds the wait for one (the pool's otherwise)."""
        with self._pool.connection(timeout=timeout_s) as conn:
            cursor = conn.execute(sql, params)
            rows = cursor.fetchall() if cursor.description is not None else []
            return Rows(rows, cursor.rowcount)

    def ping(self, timeout_s: float = 2.0) -> bool:
        """True when a connection answers within ``timeout_s`` (``/readyz`` must not hang on a dead database)."""
        try:
            with self._pool.connection(timeout=timeout_s) as conn:
                return conn.execute("SELECT 1").fetchone() == (1,)
        except Exception:
            return False

    def close(self) -> None:
        self._pool.close()


@dataclass
class Rows:
    """A finished statement's rows, read like a sqlite3 cursor."""

    rows: list[tuple[Any, ...]] = field(default_factory=list)
    rowcount: int = 0

    def fetchone(self) -> tuple[Any, ...] | None:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return list(self.rows)


_QMARK = re.compile(r"\?")
_IS_PARAM = re.compile(r"\bIS \?")


def qmark_to_pyformat(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s``; ``x IS ?`` (NULL-safe equality in SQLite) as PostgreSQL says it."""
    sql = sql.replace("%", "%%")
    sql = _IS_PARAM.sub("IS NOT DISTINCT FROM ?", sql)
    return _QMARK.sub("%s", sql)


class QmarkSession:
    """``execute(sql, params)`` with SQLite's placeholders, over a ``Database`` (autocommit per statement)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        return self.db.execute(qmark_to_pyformat(sql), tuple(params))

    def close(self) -> None:  # the pool belongs to the state store
        pass


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return redact_url(text[0]) if text else type(exc).__name__
