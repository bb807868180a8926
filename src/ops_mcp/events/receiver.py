"""The webhook receiver: ``POST /webhooks/{backend}``, verified, deduplicated, stored, answered fast.

Each back end's scheme comes from its manifest profile (``backend.webhooks``, see ``signatures.py``).

What identifies a delivery: the back end's event id when it sends one (Standard Webhooks' ``webhook-id``,
stable across retries), otherwise the signed message itself (Remote: the timestamp and the signature over
body + timestamp). A delivery seen again is acknowledged (200, ``duplicate``) and not stored again. Bodies are
never compared: Remote's carry only ids, so three edits of one time off arrive as three identical bodies and
are three events. (A Remote retry that is signed afresh cannot be told from a new event and is stored again;
a duplicate notification is harmless, a lost one is not.)

Rejected deliveries (forged, stale, malformed) need no credential, so what they cost is bounded: a 4xx, a
count per (back end, kind) and a capped window of recent ones in the event store, and a log line per kind at
most every ``LOG_EVERY_SECONDS`` with how many were not logged. Everything logged from a delivery is
neutralised (one visible line).
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
from ..logthrottle import ThrottledLog
from ..text import neutralise
from .areas import EventAreas
from .secrets import WebhookSecrets
from .signatures import SCHEMES, Rejected, Scheme
from .store import EventStore

log = logging.getLogger("ops_mcp.webhooks")

MAX_BODY_BYTES = 256 * 1024
LOG_EVERY_SECONDS = 10.0


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
        self._rejection_log = ThrottledLog(clock, every=LOG_EVERY_SECONDS)

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
            self._rejected(backend, exc, remote)
            return JSONResponse({"error": exc.reason}, status_code=exc.status)
        self._count(backend, outcome)
        return JSONResponse({"status": outcome}, status_code=status)

    def receive(self, backend: str, headers: Any, body: bytes) -> tuple[int, str]:
        """Verify, check freshness, store once per delivery. Raises ``Rejected``."""
        profile = self.profiles[backend]
        secrets = self.secrets.for_backend(backend)
        if not secrets:
            raise Rejected(503, "no signing secret registered for this back end; run `ops-mcp webhooks register`",
                           kind="no_secret")
        verified = self.schemes[backend].verify(headers, body, secrets)
        skew = abs(self.clock() - verified.timestamp)
        if skew > profile.tolerance_seconds:
            raise Rejected(400, f"stale timestamp ({int(skew)} s off, tolerance {profile.tolerance_seconds} s)",
                           verified.event_id, kind="stale")
        payload = _event_payload(body, verified.event_id)
        event_type = payload.get("type") or payload.get("event_type")
        if not isinstance(event_type, str) or not event_type or len(event_type) > 100:
            raise Rejected(400, "event has no type", verified.event_id)
        event_id = verified.event_id or _body_event_id(payload) or _delivery_id(backend, verified.replay_key)
        occurred = payload.get("timestamp") or payload.get("created_at") or payload.get("occurred_at")
        area = self.areas.area_of(backend, event_type)
        shown_type, shown_id = neutralise(event_type, 100), neutralise(event_id, 140)
        if area is None:
            log.info("webhook %s %s maps to no area; stored but shown to no agent", backend, shown_type)
        added = self.store.add(backend=backend, event_id=event_id, tenant=verified.tenant, type=event_type,
                               area=area, occurred_at=str(occurred) if occurred else None, payload=payload)
        if not added:
            # At-least-once delivery: a delivery seen before is acknowledged again, not stored again.
            log.info("webhook %s event %s already received; acknowledged as duplicate", backend, shown_id)
            return 200, "duplicate"
        log.info("webhook %s %s (%s) received for %s", backend, shown_type, shown_id, verified.tenant)
        if self.on_event is not None:
            self.on_event()
        return 200, "accepted"

    def _rejected(self, backend: str, exc: Rejected, remote: str | None) -> None:
        self.store.reject(backend, exc.kind, exc.reason, event_id=exc.event_id, remote_addr=remote)
        self._count(backend, "rejected")
        line = self._rejection_log.admit((backend, exc.kind))
        if line is None:
            return
        event = f" [event {neutralise(exc.event_id, 140)}]" if exc.event_id else ""
        more = f" ({line} more {exc.kind} rejections not logged)" if line else ""
        log.warning("webhook from %s rejected (%s): %s%s%s", backend, neutralise(remote or "?", 64),
                    neutralise(exc.reason, 200), event, more)

    def _count(self, backend: str, outcome: str) -> None:
        if self.on_outcome is not None:
            self.on_outcome(backend, outcome)


def _event_payload(body: bytes, event_id: str | None) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except ValueError:
        raise Rejected(400, "body is not JSON", event_id) from None
    if not isinstance(payload, dict):
        raise Rejected(400, "body is not a JSON object", event_id)
    return payload


def _delivery_id(backend: str, replay_key: str) -> str:
    """The signed message as an id: what a repeated delivery repeats, and nothing else does."""
    return "delivery:" + hashlib.sha256(f"{backend}:{replay_key}".encode()).hexdigest()[:32]


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        raise Rejected(413, "body too large", kind="too_large")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise Rejected(413, "body too large", kind="too_large")
        chunks.append(chunk)
    return b"".join(chunks)


def _body_event_id(payload: dict[str, Any]) -> str | None:
    for key in ("id", "event_id"):
        value = payload.get(key)
        if isinstance(value, str | int) and str(value):
            return str(value)[:128]
    return None
