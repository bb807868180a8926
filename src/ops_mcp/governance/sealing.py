"""Sealed confirmation state for 2026-07-28 clients, under a key kept in the state dir.

The 2026 flow returns an ``InputRequiredResult`` and the client echoes our ``request_state`` on the
retry, so the state is attacker-controlled. We seal it with HMAC-SHA256 and bind it to the agent, the
tool, the SHA-256 of the canonical arguments, an expiry and a one-time nonce. A state minted for an
agent whose writes a person approves out of band also names the pending approval: on the retry only
that approval's decision counts, never the answer the client sends along. This is independent of
the SDK's own ``RequestStateBoundary`` (which ``MCPServer`` always installs, with a per-process key
unless told otherwise): ours also binds the *agent*, which the SDK cannot know on unauthenticated
transports, and survives a restart. ``request_state_security`` gives the SDK boundary a persisted
key derived from the same secret, for multi-worker deployments.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

from ..records import Frozen, set_fields
from ..statefiles import private_dir

KEY_FILE = "confirm.key"
_PREFIX = "ops1."


class StateRejected(ValueError):
    """A request state failed verification; the message says why (for the agent and the log)."""


class ConfirmationState(Frozen):
    __slots__ = ("agent", "tool", "args_hash", "expires_at", "nonce", "approval")
    agent: str
    tool: str
    args_hash: str
    expires_at: float
    nonce: str
    approval: str | None  # the pending approval a person decides (confirm_via = "person")

    def __init__(self, agent: str, tool: str, args_hash: str, expires_at: float, nonce: str,
                 approval: str | None = None) -> None:
        set_fields(self, agent=agent, tool=tool, args_hash=args_hash, expires_at=expires_at, nonce=nonce,
                   approval=approval)


def load_key(state_dir: Path) -> bytes:
    """The 32-byte secret, created on first use with owner-only permissions."""
    path = private_dir(state_dir) / KEY_FILE  # also tightens a key file an older version left readable
    if path.exists():
        return bytes.fromhex(path.read_text().strip())
    key = secrets.token_bytes(32)
    # O_EXCL: if two processes race, one creates it and the other reads the winner's key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as handle:
        handle.write(key.hex())
    return key


def _derive(key: bytes, purpose: bytes) -> bytes:
    # One secret file, separate keys per use: a confirmation seal is never valid as anything else.
    return hmac.new(key, b"ops-mcp/" + purpose, hashlib.sha256).digest()


class StateSealer:
    def __init__(self, key: bytes, *, ttl: float = 600.0) -> None:
        self._key = _derive(key, b"confirmation-state/v1")
        self.ttl = ttl

    def seal(self, agent: str, tool: str, args_hash: str, *, approval: str | None = None,
             now: float | None = None) -> str:
        now = time.time() if now is None else now
        claims: dict[str, Any] = {
            "agent": agent,
            "tool": tool,
            "args": args_hash,
            "exp": now + self.ttl,
            "nonce": secrets.token_urlsafe(16),
        }
        if approval is not None:
            claims["apr"] = approval
        payload = _b64(json.dumps(claims, sort_keys=True, separators=(",", ":")).encode())
        return f"{_PREFIX}{payload}.{_b64(self._mac(payload))}"

    def open(
        self, token: Any, *, agent: str, tool: str, args_hash: str, now: float | None = None
    ) -> ConfirmationState:
        """Verify seal, binding and expiry; raises ``StateRejected``. Replays are checked by the caller."""
        now = time.time() if now is None else now
        if not isinstance(token, str) or not token.startswith(_PREFIX) or token.count(".") != 2:
            raise StateRejected("the confirmation state is malformed")
        payload, mac = token[len(_PREFIX) :].split(".")
        try:
            given = _unb64(mac)
            claims = json.loads(_unb64(payload))
        except ValueError:
            raise StateRejected("the confirmation state is malformed") from None
        if not hmac.compare_digest(given, self._mac(payload)):
            raise StateRejected("the confirmation state was not issued by this server or was altered")
        try:
            state = ConfirmationState(
                str(claims["agent"]),
                str(claims["tool"]),
                str(claims["args"]),
                float(claims["exp"]),
                str(claims["nonce"]),
                str(claims["apr"]) if claims.get("apr") is not None else None,
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            raise StateRejected("the confirmation state is malformed") from None
        if state.agent != agent or state.tool != tool:
            raise StateRejected("the confirmation state belongs to a different agent or tool")
        if state.args_hash != args_hash:
            raise StateRejected("the arguments changed since the person was asked")
        if not now < state.expires_at:
            raise StateRejected("the confirmation expired; call the tool again to ask anew")
        return state

    def _mac(self, payload: str) -> bytes:
        return hmac.new(self._key, payload.encode(), hashlib.sha256).digest()


def request_state_security(state_dir: Path | None, *, ttl: float = 600.0, key: bytes | None = None):
    """An SDK ``RequestStateSecurity`` keyed from the persisted secret (pass it to ``GovernedServer``).

    With it, every worker and every restart of the server accepts the request states it minted,
    instead of the per-process key ``MCPServer`` uses by default. ``key``: the secret when the state
    store keeps it elsewhere (PostgreSQL) instead of in ``state_dir``.
    """
    from mcp.server.request_state import RequestStateSecurity

    secret = key if key is not None else load_key(Path(state_dir or "."))
    return RequestStateSecurity(keys=[_derive(secret, b"sdk-request-state/v1")], ttl=ttl)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(raw) != text:  # only the canonical encoding: no malleable variants of one token
        raise ValueError("non-canonical base64")
    return raw
