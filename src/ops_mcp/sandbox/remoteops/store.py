"""In-memory state of the RemoteOps emulator, optionally persisted to a SQLite file.

Objects are plain JSON-ready dicts; keys starting with "_" are internal and never rendered.
"""

from __future__ import annotations

import copy
import json
import random
import sqlite3
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ops_mcp.once import BuiltOnFirstUse
from ops_mcp.sandbox.common.clock import Clock, SystemClock
from ops_mcp.sandbox.common.delivery import WebhookDeliverer
from ops_mcp.sandbox.common.requests_log import SandboxState
from ops_mcp.sandbox.remoteops.idempotency import IdempotencyStore
from ops_mcp.sandbox.remoteops.pagination import Paginator
from ops_mcp.sandbox.remoteops.problems import not_found
from ops_mcp.sandbox.remoteops.ratelimit import SlidingWindowLimiter
from ops_mcp.sandbox.remoteops.settings import RemoteOpsSandboxSettings
from ops_mcp.sandbox.remoteops.values import IdFactory

COLLECTIONS = (
    "work_orders", "technicians", "customers", "sites", "contracts", "invoices", "credit_notes",
    "payments", "calls", "transcripts", "assets", "parts", "locations", "stock_levels",
    "stock_movements", "equipment_checkouts", "webhook_endpoints", "events", "attachments",
)

KIND_NAMES = {
    "work_orders": "work order", "technicians": "technician", "customers": "customer", "sites": "site",
    "contracts": "contract", "invoices": "invoice", "credit_notes": "credit note", "payments": "payment",
    "calls": "call", "assets": "asset", "parts": "part", "locations": "stock location",
    "equipment_checkouts": "equipment checkout", "webhook_endpoints": "webhook endpoint", "events": "event",
}


@dataclass
class Tenant:
    id: str
    name: str
    currency: str
    tax_rate_bp: int  # basis points, 1900 = 19 %
    locale: str
    invoice_prefix: str
    data: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: {c: {} for c in COLLECTIONS})
    timeline: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)

    def col(self, name: str) -> dict[str, dict[str, Any]]:
        return self.data[name]

    def get(self, name: str, object_id: str) -> dict[str, Any]:
        obj = self.data[name].get(object_id) if isinstance(object_id, str) else None
        if obj is None:
            raise not_found(KIND_NAMES.get(name, name.rstrip("s")), str(object_id))
        return obj

    def find(self, name: str, object_id: Any) -> dict[str, Any] | None:
        return self.data[name].get(object_id) if isinstance(object_id, str) else None

    def next_number(self, counter: str, start: int = 1) -> int:
        value = self.counters.get(counter, start - 1) + 1
        self.counters[counter] = value
        return value

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "currency": self.currency, "tax_rate_bp": self.tax_rate_bp,
                "locale": self.locale, "invoice_prefix": self.invoice_prefix, "data": self.data,
                "timeline": self.timeline, "counters": self.counters}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Tenant:
        tenant = cls(raw["id"], raw["name"], raw["currency"], raw["tax_rate_bp"], raw["locale"],
                     raw["invoice_prefix"])
        tenant.data.update(raw["data"])
        tenant.timeline = raw["timeline"]
        tenant.counters = raw["counters"]
        return tenant


def public(obj: dict[str, Any]) -> dict[str, Any]:
    """A deep copy without internal ("_"-prefixed) keys."""
    return {k: copy.deepcopy(v) for k, v in obj.items() if not k.startswith("_")}


@dataclass
class PendingDelivery:
    tenant_id: str
    endpoint_id: str
    event_id: str


class RemoteOpsState(SandboxState):
    """Everything the emulator knows; `app.state.sandbox` of the RemoteOps app."""

    def __init__(self, settings: RemoteOpsSandboxSettings,
                 seed: Callable[[RemoteOpsState], dict[str, Tenant]] | None = None) -> None:
        super().__init__(faults=settings.faults)
        self.settings = settings
        self.clock: Clock = settings.clock or SystemClock()
        self.ids = IdFactory(random.Random(f"{settings.seed}:runtime"))
        # The tenants are loaded (``db_path``) or seeded on first use, not when the app is built: a runtime
        # that never calls RemoteOps (most CLI commands, most tests) does not pay ~80 ms of seeding for it.
        self._seed = seed
        self.loaded_tenants = BuiltOnFirstUse(self._load_or_seed)
        self.limiter = SlidingWindowLimiter(settings.rate_limit, settings.window_seconds, self.clock)
        self.idempotency = IdempotencyStore(settings.idempotency_ttl_seconds, self.clock)
        self.paginator = Paginator(f"cursor:{settings.seed}".encode(), self.clock, settings.cursor_ttl_seconds)
        self.deliverers: dict[str, WebhookDeliverer] = {}
        self.pending_deliveries: list[PendingDelivery] = []
        # Side effects by kind ("work_order.created", "stock_movement", …) for exactly-once tests.
        self.effects: Counter[str] = Counter()

    @property
    def tenants(self) -> dict[str, Tenant]:
        return self.loaded_tenants.get()

    def tenant(self, tenant_id: str) -> Tenant:
        return self.tenants[tenant_id]

    def prepare(self) -> None:
        """Load or seed the tenants now (a server's warm-up does this while it waits for its first call)."""
        self.loaded_tenants.get()

    def _load_or_seed(self) -> dict[str, Tenant]:
        loaded = self.load()
        if loaded is not None or self._seed is None:
            return loaded or {}
        seeded = self._seed(self)
        self.save(seeded)
        return seeded

    # -- persistence ---------------------------------------------------------------------------
    def load(self) -> dict[str, Tenant] | None:
        """The tenants saved in ``db_path``; None when there is no file or nothing in it."""
        path = self.settings.db_path
        if not path:
            return None
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE IF NOT EXISTS tenants (id TEXT PRIMARY KEY, body TEXT NOT NULL)")
            rows = db.execute("SELECT body FROM tenants").fetchall()
        tenants = [Tenant.from_json(json.loads(body)) for (body,) in rows]
        return {tenant.id: tenant for tenant in tenants} or None

    def save(self, tenants: dict[str, Tenant] | None = None) -> None:
        """Write ``tenants`` (by default the state's own) to ``db_path``, when there is one."""
        path = self.settings.db_path
        if not path:
            return
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE IF NOT EXISTS tenants (id TEXT PRIMARY KEY, body TEXT NOT NULL)")
            for tenant in (tenants if tenants is not None else self.tenants).values():
                db.execute("INSERT OR REPLACE INTO tenants (id, body) VALUES (?, ?)",
                           (tenant.id, json.dumps(tenant.to_json())))

    # -- test helpers --------------------------------------------------------------------------
    async def drain_webhooks(self, timeout: float = 5.0) -> bool:
        results = [await d.drain(timeout) for d in list(self.deliverers.values())]
        return all(results)
