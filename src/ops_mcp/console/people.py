"""The people who use the console, their roles, their passwords and their signed-in sessions.

Only a salted scrypt hash of a password is stored, and only a SHA-256 of a session's cookie value (the
cookie is 256 random bits, so a fast hash is enough and a stolen database holds no usable session).
``ConsoleStore`` is the small interface a shared store (PostgreSQL) implements too; ``SqliteConsoleStore``
keeps both in ``console.sqlite3`` in the state dir (0600, see ``statefiles``), which replicas sharing the
state dir share.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from ..statefiles import connect_sqlite

Role = Literal["admin", "approver", "auditor"]
ROLES: tuple[Role, ...] = ("admin", "approver", "auditor")
# What each role may do. Everyone signed in may read the pages; only these change anything.
POWERS: dict[str, frozenset[str]] = {
    "admin": frozenset({"access", "agents", "tokens"}),  # the matrix, agents, tokens
    "approver": frozenset({"approvals"}),  # decides pending writes
    "auditor": frozenset({"audit_detail"}),  # reads the audit with its argument detail
}
CONSOLE_FILE = "console.sqlite3"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
SESSION_SECONDS = 8 * 3600.0

# scrypt: N=2^14, r=8, p=1 (the interactive-login parameters of the scrypt paper; ~16 MiB, tens of ms).
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise ValueError("name: 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit")
    return name


def check_role(role: str) -> Role:
    if role not in ROLES:
        raise ValueError(f"role: one of {', '.join(ROLES)} (got {role!r})")
    return role


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def password_matches(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        found = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=len(digest) // 2
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(found.hex(), digest)


def new_password() -> str:
    return secrets.token_urlsafe(18)


def session_digest(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


@dataclass(frozen=True)
class Account:
    name: str
    role: Role
    password_hash: str
    created_at: float

    def may(self, power: str) -> bool:
        return power in POWERS[self.role]


@dataclass(frozen=True)
class Session:
    digest: str  # SHA-256 of the cookie value
    name: str
    csrf: str  # the token every form of this session carries
    expires_at: float


class ConsoleStore(Protocol):
    def add_account(self, account: Account, *, replace: bool = False) -> None: ...
    def account(self, name: str) -> Account | None: ...
    def accounts(self) -> list[Account]: ...
    def remove_account(self, name: str) -> bool: ...
    def open_session(self, session: Session) -> None: ...
    def session(self, digest: str, now: float) -> Session | None: ...
    def close_session(self, digest: str) -> None: ...
    def close(self) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    digest TEXT PRIMARY KEY, name TEXT NOT NULL, csrf TEXT NOT NULL, expires_at REAL NOT NULL
);
"""


class SqliteConsoleStore:
    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / CONSOLE_FILE
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = connect_sqlite(self.path, check_same_thread=False, isolation_level=None, timeout=10)
            conn.executescript(_SCHEMA)
            self._conn = conn
        return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def add_account(self, account: Account, *, replace: bool = False) -> None:
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        with self._lock:
            try:
                self._db().execute(
                    f"{verb} INTO accounts VALUES (?, ?, ?, ?)",
                    (account.name, account.role, account.password_hash, account.created_at),
                )
            except sqlite3.IntegrityError:
                raise ValueError(
                    f"{account.name} already has an account (pass --reset to issue a new password)"
                ) from None
            if replace:  # a new password ends the sessions signed in with the old one
                self._db().execute("DELETE FROM sessions WHERE name = ?", (account.name,))

    def account(self, name: str) -> Account | None:
        with self._lock:
            row = (
                self._db()
                .execute("SELECT name, role, password_hash, created_at FROM accounts WHERE name = ?", (name,))
                .fetchone()
            )
        return Account(*row) if row else None

    def accounts(self) -> list[Account]:
        with self._lock:
            rows = self._db().execute(
                "SELECT name, role, password_hash, created_at FROM accounts ORDER BY name"
            )
            return [Account(*row) for row in rows.fetchall()]

    def remove_account(self, name: str) -> bool:
        with self._lock:
            gone = self._db().execute("DELETE FROM accounts WHERE name = ?", (name,)).rowcount
            self._db().execute("DELETE FROM sessions WHERE name = ?", (name,))
        return bool(gone)

    def open_session(self, session: Session) -> None:
        with self._lock:
            db = self._db()
            db.execute("DELETE FROM sessions WHERE expires_at < ?", (time.time(),))
            db.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?)",
                (session.digest, session.name, session.csrf, session.expires_at),
            )

    def session(self, digest: str, now: float) -> Session | None:
        with self._lock:
            row = (
                self._db()
                .execute("SELECT digest, name, csrf, expires_at FROM sessions WHERE digest = ?", (digest,))
                .fetchone()
            )
        if row is None or row[3] <= now:
            return None
        return Session(*row)

    def close_session(self, digest: str) -> None:
        with self._lock:
            self._db().execute("DELETE FROM sessions WHERE digest = ?", (digest,))


def create_account(
    store: ConsoleStore, name: str, role: str, *, reset: bool = False, clock: float | None = None
) -> str:
    """A new account (or a new password for ``name`` with ``reset``); returns the password, shown once."""
    password = new_password()
    account = Account(
        check_name(name),
        check_role(role),
        hash_password(password),
        clock if clock is not None else time.time(),
    )
    store.add_account(account, replace=reset)
    return password
