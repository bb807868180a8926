"""Secrets encrypted at rest (AES-256-GCM) under a key that is never stored beside them.

ops-mcp keeps a few long-lived upstream secrets on disk, such as a partner connection's refresh
token. Each is sealed with AES-256-GCM; the associated data names what the secret is for (e.g.
"refresh_token|remote|acme|<company id>"), so a sealed value copied onto another row — another
connection, another company — does not open.

The key comes from ``$OPS_MCP_SECRET_KEY`` (the key itself) or from ``[secrets] key_file`` (a file
holding it); the environment wins. A key file inside the state directory is refused: the key must
not sit next to what it protects. A key is 32 random bytes, URL-safe base64 (``ops-mcp connect
--new-key`` prints one). ``cryptography`` is imported on first use, not at start-up.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .records import Frozen, set_fields

KEY_ENV = "OPS_MCP_SECRET_KEY"
KEY_BYTES = 32
_NONCE_BYTES = 12
_PREFIX = "v1:"
HOW_TO_MAKE_A_KEY = (
    f"create one with `ops-mcp connect --new-key`, then put it in ${KEY_ENV} or in a file named by "
    "[secrets] key_file (mode 600, outside the state directory)"
)


class SecretKeyError(ValueError):
    """No usable key: the message says what is wrong and how to fix it."""


class SecretUnreadable(ValueError):
    """A sealed secret did not open: another key, another purpose, or altered."""


def new_key() -> str:
    """A fresh key, as written in ``$OPS_MCP_SECRET_KEY`` or a key file."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode()


class KeySource(Frozen):
    """Where the key comes from, for messages (never the key itself)."""

    __slots__ = ("description", "key")
    _unshown = frozenset({"key"})
    description: str
    key: bytes

    def __init__(self, description: str, key: bytes) -> None:
        set_fields(self, description=description, key=key)


def load_secret_key(key_file: Path | None, state_dir: Path, env: dict[str, str] | None = None) -> KeySource:
    """The key from the environment or ``key_file``; ``SecretKeyError`` says how to fix a missing or bad one."""
    environ: Mapping[str, str] = os.environ if env is None else env
    raw = environ.get(KEY_ENV)
    if raw:
        return KeySource(f"${KEY_ENV}", _decode(raw, f"${KEY_ENV}"))
    if key_file is None:
        raise SecretKeyError(f"no secret key is configured: {HOW_TO_MAKE_A_KEY}")
    path = key_file.expanduser().resolve()
    if path.is_relative_to(state_dir.resolve()):
        raise SecretKeyError(
            f"secrets.key_file ({path}) is inside the state directory ({state_dir}); keep the key away from "
            "the secrets it protects: move it elsewhere (e.g. /etc/ops-mcp/secret.key)"
        )
    try:
        mode = path.stat().st_mode
        text = path.read_text()
    except OSError as exc:
        raise SecretKeyError(f"secrets.key_file ({path}) cannot be read ({exc.strerror}); {HOW_TO_MAKE_A_KEY}") from None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretKeyError(f"secrets.key_file ({path}) can be read by other users: run `chmod 600 {path}`")
    return KeySource(f"secrets.key_file ({path})", _decode(text, f"secrets.key_file ({path})"))


def _decode(text: str, where: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode())
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise SecretKeyError(f"{where} is not a key (32 bytes, URL-safe base64); {HOW_TO_MAKE_A_KEY}")
    return key


class SecretBox:
    """Seals and opens short secrets with one key; ``purpose`` is bound to each sealed value."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise SecretKeyError("a secret key has 32 bytes")
        self._key = key
        self._aead: Any = None

    def __repr__(self) -> str:
        return "SecretBox(<key hidden>)"

    def seal(self, plaintext: str, purpose: str) -> str:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._cipher().encrypt(nonce, plaintext.encode(), purpose.encode())
        return _PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, sealed: str, purpose: str) -> str:
        from cryptography.exceptions import InvalidTag

        if not sealed.startswith(_PREFIX):
            raise SecretUnreadable("not a sealed value")
        try:
            blob = base64.urlsafe_b64decode(sealed[len(_PREFIX):].encode())
            return self._cipher().decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], purpose.encode()).decode()
        except (InvalidTag, binascii.Error, ValueError):
            raise SecretUnreadable("sealed with another key or for another purpose, or altered") from None

    def _cipher(self) -> Any:
        if self._aead is None:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            self._aead = AESGCM(self._key)
        return self._aead
