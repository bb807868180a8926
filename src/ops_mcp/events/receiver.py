"""The webhook receiver: ``POST /webhooks/{backend}``, verified, deduplicated, stored, answered fast.

Each back end's scheme comes from its manifest profile (``backend.webhooks``):

- ``remote-hmac``: ``X-Remote-Signature`` = hex HMAC-SHA256(signing key, raw body + ":" + timestamp), the
  timestamp (``X-Remote-Timestamp``) in Unix milliseconds.
- ``standard-webhooks``: ``webhook-signature`` = space-separated ``v1,<base64 HMAC-SHA256>`` over
  ``"{webhook-id}.{webhook-timestamp}.{body}"`` keyed by the base64 part of ``whsec_…``; any one valid
  signature is enough, which is how secret rotation works.

Signing secrets (one per back end and connection, from ``ops-mcp webhooks register``) live in
``webhook_secrets.json`` in the state dir; the secret that verifies a delivery tells which tenant sent it.
Rejected deliveries (forged, stale, replayed, malformed) get a 4xx, a log line and a row in the event store.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .store import EventAreas, EventStore

log = logging.getLogger("ops_mcp.webhooks")

SECRETS_FILE = "webhook_secrets.json"
MAX_BODY_BYTES = 256 * 1024
DERIVED_ID_WINDOW = 2 * 3600  # longer than the senders' retry schedules (Remote: about 31 minutes)


# -- secrets ---------------------------------------------------------------------------------------


class WebhookSecrets:
    """``{backend: {connection: {"secrets": [...], "id": ..., "url": ..., "registered_at": ...}}}``."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / SECRETS_FILE
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._data: dict[str, dict[str, dict[str, Any]]] = {}

    def for_backend(self, backend: str) -> list[tuple[str, str]]:
        """(connection, secret) pairs, newest secret first per connection."""
        with self._lock:
            self._reload()
            return [(conn, secret) for conn, entry in self._data.get(backend, {}).items()
                    for secret in entry.get("secrets", [])]

    def entries(self) -> dict[str, dict[str, dict[str, Any]]]:
        with self._lock:
            self._reload()
            return json.loads(json.dumps(self._data))

    def put(self, backend: str, connection: str, secret: str, *, remote_id: str | None, url: str,
            keep_previous: bool = False) -> None:
        with self._lock:
            self._reload()
            entry = self._data.setdefault(backend, {}).get(connection, {})
            previous = entry.get("secrets", [])[:1] if keep_previous else []
            self._data[backend][connection] = {
                "secrets": [secret, *[s for s in previous if s != secret]], "id": remote_id, "url": url,
                "registered_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            self._write()

    def _reload(self) -> None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._data = None, {}
            return
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            try:
                self._data = json.loads(self.path.read_text()).get("backends", {})
            except (OSError, ValueError):
                log.error("cannot read %s; webhook deliveries cannot be verified until it is fixed", self.path)
                self._data = {}
            self._stamp = stamp

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".webhook_secrets.")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump({"format": 1, "backends": self._data}, handle, indent=1)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._stamp = None


# -- verification ----------------------------------------------------------------------------------


class Rejected(Exception):
    def __init__(self, status: int, reason: str, event_id: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.event_id = event_id


@dataclass(frozen=True)
class Verified:
    tenant: str
    timestamp: float  # Unix seconds
    event_id: str | None  # from the headers, when the scheme carries one
    replay_key: str  # identifies this exact delivery (not the event): same key twice = a replay


class RemoteHmac:
    def __init__(self, profile: Any) -> None:
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
            raise Rejected(401, "signature does not verify")
        return Verified(tenant, int(stamp) / 1000, None, f"{stamp}:{signature}")


class StandardWebhooks:
    def __init__(self, profile: Any) -> None:
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
            raise Rejected(401, "no signature verifies", event_id)
        return Verified(tenant, int(stamp), event_id, f"{event_id}:{stamp}")


SCHEMES = {"remote-hmac": RemoteHmac, "standard-webhooks": StandardWebhooks}


# -- the receiver ----------------------------------------------------------------------------------


class WebhookReceiver:
    def __init__(self, runtime: Any, store: EventStore, secrets: WebhookSecrets, *, on_event: Any = None,
                 metrics: Any = None, clock: Any = time.time) -> None:
        self.store = store
        self.secrets = secrets
        self.areas = EventAreas(runtime.catalogue)
        self.profiles = {name: m.backend.webhooks for name, m in runtime.catalogue.items() if m.backend.webhooks}
        self.schemes = {name: SCHEMES[p.scheme](p) for name, p in self.profiles.items()}
        self.on_event = on_event
        self.metrics = metrics
        self.clock = clock

    def routes(self) -> list[Route]:
        return [Route("/webhooks/{backend}", self.endpoint, methods=["POST"])]

    async def endpoint(self, request: Request) -> JSONResponse:
        backend = request.path_params["backend"]
        remote = request.client.host if request.client else None
        if backend not in self.schemes:
            return JSONResponse({"error": "unknown back end"}, status_code=404)
        try:
            body = await _read_body(request)
            status, outcome = self.receive(backend, request.headers, body)
        except Rejected as exc:
            self.store.reject(backend, exc.reason, event_id=exc.event_id, remote_addr=remote)
            log.warning("webhook from %s rejected (%s): %s%s", backend, remote or "?", exc.reason,
                        f" [event {exc.event_id}]" if exc.event_id else "")
            self._count(backend, "rejected")
            return JSONResponse({"error": exc.reason}, status_code=exc.status)
        self._count(backend, outcome)
        return JSONResponse({"status": outcome}, status_code=status)

    def receive(self, backend: str, headers: Any, body: bytes) -> tuple[int, str]:
        """Verify, check freshness and replay, store once. Raises ``Rejected``."""
        profile = self.profiles[backend]
        secrets = self.secrets.for_backend(backend)
        if not secrets:
            raise Rejected(503, "no signing secret registered for this back end; run `ops-mcp webhooks register`")
        verified = self.schemes[backend].verify(headers, body, secrets)
        skew = abs(self.clock() - verified.timestamp)
        if skew > profile.tolerance_seconds:
            raise Rejected(400, f"stale timestamp ({int(skew)} s off, tolerance {profile.tolerance_seconds} s)",
                           verified.event_id)
        digest = hashlib.sha256(f"{backend}:{verified.replay_key}".encode()).hexdigest()
        if not self.store.first_sighting(digest, keep_seconds=2 * profile.tolerance_seconds + 60):
            raise Rejected(409, "replayed delivery (this exact signed message was already received)",
                           verified.event_id)
        try:
            payload = json.loads(body)
        except ValueError:
            raise Rejected(400, "body is not JSON", verified.event_id) from None
        if not isinstance(payload, dict):
            raise Rejected(400, "body is not a JSON object", verified.event_id)
        event_type = payload.get("type") or payload.get("event_type")
        if not isinstance(event_type, str) or not event_type or len(event_type) > 100:
            raise Rejected(400, "event has no type", verified.event_id)
        event_id = verified.event_id or _body_event_id(payload)
        if event_id is None:
            # Remote sends ids only and no event id: the body's digest stands in. A retry (same body) within
            # the back end's retry horizon is a duplicate; the same body much later is a new event.
            digest = "sha256:" + hashlib.sha256(body).hexdigest()[:32]
            if self.store.seen_recently(backend, digest, within=DERIVED_ID_WINDOW):
                log.info("webhook %s %s already received (same body within the retry window)", backend, event_type)
                return 200, "duplicate"
            event_id = f"{digest}@{int(verified.timestamp)}"
        occurred = payload.get("timestamp") or payload.get("created_at") or payload.get("occurred_at")
        area = self.areas.area_of(backend, event_type)
        if area is None:
            log.info("webhook %s %s maps to no area; stored but shown to no agent", backend, event_type)
        added = self.store.add(backend=backend, event_id=event_id, tenant=verified.tenant, type=event_type,
                               area=area, occurred_at=str(occurred) if occurred else None, payload=payload)
        if not added:
            # At-least-once delivery: a retry of an event already stored is acknowledged, not stored again.
            log.info("webhook %s event %s already received; acknowledged as duplicate", backend, event_id)
            return 200, "duplicate"
        log.info("webhook %s %s (%s) received for %s", backend, event_type, event_id, verified.tenant)
        if self.on_event is not None:
            self.on_event()
        return 200, "accepted"

    def _count(self, backend: str, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.webhook(backend, outcome)


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        raise Rejected(413, "body too large")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise Rejected(413, "body too large")
        chunks.append(chunk)
    return b"".join(chunks)


def _body_event_id(payload: dict[str, Any]) -> str | None:
    for key in ("id", "event_id"):
        value = payload.get(key)
        if isinstance(value, str | int) and str(value):
            return str(value)[:128]
    return None


# -- registration ----------------------------------------------------------------------------------


@dataclass
class Registration:
    backend: str
    connection: str
    url: str
    ok: bool
    detail: str


async def register_webhooks(runtime: Any, receiver_base: str, secrets: WebhookSecrets, *,
                            backends: list[str] | None = None, embedded: bool | None = None) -> list[Registration]:
    """Register ``{receiver_base}/webhooks/{backend}`` with every connection of every back end, via its API.

    ``embedded`` True/False limits this to connections on the embedded sandbox / on real back ends.
    """
    endpoints = {e.tool: e for m in runtime.catalogue.values() for e in m.endpoints}
    results: list[Registration] = []
    for (backend, name), tenant in sorted(runtime.tenants.items()):
        if (backends and backend not in backends) or (embedded is not None and tenant.embedded != embedded):
            continue
        url = f"{receiver_base.rstrip('/')}/webhooks/{backend}"
        # How to register comes from the back end's profile: a catalogue tool and its fixed arguments.
        profile = runtime.catalogue[backend].backend.webhooks
        recipe = profile.registration if profile is not None else None
        if recipe is None or recipe.tool not in endpoints:
            results.append(Registration(backend, name, url, False, "this back end has no webhook registration"))
            continue
        arguments = {recipe.url_argument: url, **recipe.arguments}
        outcome = await runtime.upstream.call(tenant.connection, endpoints[recipe.tool], arguments)
        data = outcome.data if outcome.ok and isinstance(outcome.data, dict) else {}
        secret = next((data[k] for k in recipe.secret_fields if isinstance(data.get(k), str)), None)
        if secret is None:
            message = outcome.error.message if outcome.error is not None else "no signing secret in the answer"
            results.append(Registration(backend, name, url, False, message))
            continue
        # The previous secret stays valid too: a callback registered earlier may still be delivering.
        secrets.put(backend, name, secret, remote_id=str(data.get("id")) if data.get("id") else None, url=url,
                    keep_previous=True)
        results.append(Registration(backend, name, url, True, f"registered as {data.get('id', '?')}"))
    return results
