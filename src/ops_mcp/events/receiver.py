"""The webhook receiver: ``POST /webhooks/{backend}``, verified, deduplicated, stored, answered fast.

Each back end's scheme comes from its manifest profile (``backend.webhooks``, see ``signatures.py``).
Rejected deliveries (forged, stale, replayed, malformed) get a 4xx, a log line and a row in the event store.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..catalogue.models import Manifest
from .areas import EventAreas
from .secrets import WebhookSecrets
from .signatures import SCHEMES, Rejected, Scheme
from .store import EventStore

log = logging.getLogger("ops_mcp.webhooks")

MAX_BODY_BYTES = 256 * 1024
DERIVED_ID_WINDOW = 2 * 3600  # longer than the senders' retry schedules (Remote: about 31 minutes)


class WebhookReceiver:
    def __init__(self, catalogue: dict[str, Manifest], store: EventStore, secrets: WebhookSecrets, *,
                 on_event: Callable[[], None] | None = None,
                 on_outcome: Callable[[str, str], None] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.secrets = secrets
        self.areas = EventAreas(catalogue)
        self.profiles = {name: m.backend.webhooks for name, m in catalogue.items() if m.backend.webhooks}
        self.schemes: dict[str, Scheme] = {name: SCHEMES[p.scheme](p) for name, p in self.profiles.items()}
        self.on_event = on_event
        self.on_outcome = on_outcome  # (back end, outcome) for metrics
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
        if self.on_outcome is not None:
            self.on_outcome(backend, outcome)


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
