"""Standard Webhooks signatures: `v1,<base64 HMAC-SHA256(key, "{id}.{ts}.{body}")>`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets


def new_secret(rng_bytes: bytes | None = None) -> str:
    raw = rng_bytes if rng_bytes is not None else secrets.token_bytes(24)
    return "whsec_" + base64.b64encode(raw).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key is the base64-decoded part after `whsec_`."""
    return base64.b64decode(secret.removeprefix("whsec_"))


def signature(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{event_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secrets_: list[str], event_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """During a rotation several secrets sign; their signatures are space-separated."""
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(s, event_id, timestamp, body) for s in secrets_),
    }
