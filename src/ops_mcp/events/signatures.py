"""Webhook signature schemes, chosen by each back end's profile (``backend.webhooks.scheme``):

- ``remote-hmac``: a signature header = hex HMAC-SHA256(signing key, raw body + ":" + timestamp), the
  timestamp header in Unix milliseconds (header names from the profile);
- ``standard-webhooks``: ``webhook-signature`` = space-separated ``v1,<base64 HMAC-SHA256>`` over
  ``"{webhook-id}.{webhook-timestamp}.{body}"`` keyed by the base64 part of ``whsec_…``; any one valid
  signature is enough, which is how secret rotation works.

Signatures are compared in constant time; every secret is tried so the time taken does not tell which
tenant's secret matched.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, Protocol

from ..catalogue.models import WebhookProfile


class Rejected(Exception):
    """A delivery refused with ``status``; ``kind`` is a short fixed word (counted), ``reason`` the detail."""

    def __init__(self, status: int, reason: str, event_id: str | None = None, *, kind: str = "malformed") -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.event_id = event_id
        self.kind = kind


@dataclass(frozen=True)
class Verified:
    tenant: str
    timestamp: float  # Unix seconds
    event_id: str | None  # from the headers, when the scheme carries one
    replay_key: str  # identifies this exact signed message: what a repeated delivery repeats


class RemoteHmac:
    def __init__(self, profile: WebhookProfile) -> None:
        self.signature_header = (profile.signature_header or "x-remote-signature").lower()
        self.timestamp_header = (profile.timestamp_header or "x-remote-timestamp").lower()

    def verify(self, headers: Any, body: bytes, secrets: list[tuple[str, str]]) -> Verified:
        signature = headers.get(self.signature_header, "").strip().lower()
        stamp = headers.get(self.timestamp_header, "").strip()
        if not signature or not stamp:
            raise Rejected(400, "missing signature or timestamp header")
        if not stamp.isdigit() or len(stamp) > 16:
            raise Rejected(400, "malformed timestamp")
        signed = body + b":" + stamp.encode()
        tenant = None
        for connection, secret in secrets:
            expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
            if hmac.compare_digest(expected, signature) and tenant is None:
                tenant = connection
        if tenant is None:
            raise Rejected(401, "signature does not verify", kind="bad_signature")
        return Verified(tenant, int(stamp) / 1000, None, f"{stamp}:{signature}")


class StandardWebhooks:
    def __init__(self, profile: WebhookProfile) -> None:
        pass

    def verify(self, headers: Any, body: bytes, secrets: list[tuple[str, str]]) -> Verified:
        event_id = headers.get("webhook-id", "").strip()
        stamp = headers.get("webhook-timestamp", "").strip()
        signatures = headers.get("webhook-signature", "").split()
        if not event_id or not stamp or not signatures:
            raise Rejected(400, "missing webhook-id, webhook-timestamp or webhook-signature")
        if not stamp.isdigit() or len(stamp) > 12 or len(event_id) > 128:
            raise Rejected(400, "malformed webhook-timestamp or webhook-id", event_id[:128])
        offered = [s.split(",", 1)[1] for s in signatures[:10] if s.startswith("v1,")]
        signed = f"{event_id}.{stamp}.".encode() + body
        tenant = None
        for connection, secret in secrets:
            try:
                key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
            except (binascii.Error, ValueError):
                continue
            expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
            for candidate in offered:
                if hmac.compare_digest(expected, candidate) and tenant is None:
                    tenant = connection
        if tenant is None:
            raise Rejected(401, "no signature verifies", event_id, kind="bad_signature")
        return Verified(tenant, int(stamp), event_id, f"{event_id}:{stamp}")


class Scheme(Protocol):
    def verify(self, headers: Any, body: bytes, secrets: list[tuple[str, str]]) -> Verified:
        """The tenant whose secret signed this delivery, or ``Rejected``."""
        ...


SCHEMES: dict[str, type[RemoteHmac] | type[StandardWebhooks]] = {
    "remote-hmac": RemoteHmac, "standard-webhooks": StandardWebhooks,
}
