"""Work-order status machine (§5) and SLA computation."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ops_mcp.sandbox.remoteops.store import Tenant
from ops_mcp.sandbox.remoteops.values import iso, parse_datetime

STATUSES = ("new", "scheduled", "dispatched", "in_progress", "on_hold", "completed", "closed", "cancelled")
TERMINAL = ("closed", "cancelled")
PRIORITIES = ("low", "normal", "high", "urgent")
WORK_TYPES = ("repair", "maintenance", "inspection", "installation", "emergency")
HOLD_REASONS = ("awaiting_parts", "customer_unavailable", "access_denied", "awaiting_approval", "weather", "other")
CANCEL_REASONS = ("customer_request", "duplicate", "no_longer_needed", "resolved_remotely", "access_denied", "other")
REOPEN_REASONS = ("issue_recurred", "incomplete_work", "customer_request", "other")
REASON_CODES = tuple(dict.fromkeys(HOLD_REASONS + CANCEL_REASONS + REOPEN_REASONS))
CANCELLED_BY = ("customer", "provider")
ASSIGNABLE = ("new", "scheduled", "dispatched", "on_hold")

# Targets reachable through POST /transitions (assignment is PUT /assignment, not a transition).
GRAPH: dict[str, tuple[str, ...]] = {
    "new": ("cancelled",),
    "scheduled": ("dispatched", "cancelled"),
    "dispatched": ("in_progress", "cancelled"),
    "in_progress": ("on_hold", "completed", "cancelled"),
    "on_hold": ("in_progress", "cancelled"),
    "completed": ("in_progress", "closed"),
    "closed": (),
    "cancelled": (),
}

# Tenant default SLA in hours by priority (a contract's SLA overrides it).
DEFAULT_RESPONSE_HOURS = {"urgent": 2, "high": 4, "normal": 24, "low": 48}
DEFAULT_RESOLUTION_HOURS = {"urgent": 8, "high": 24, "normal": 72, "low": 168}
AT_RISK_FRACTION = 0.2


def event_for(from_status: str, to_status: str) -> str:
    if to_status == "in_progress":
        return {"dispatched": "started", "on_hold": "resumed", "completed": "reopened"}[from_status]
    return to_status


def issued_invoice(tenant: Tenant, wo: dict[str, Any]) -> dict[str, Any] | None:
    invoice = tenant.find("invoices", wo.get("invoice_id"))
    return invoice if invoice and invoice["status"] in ("open", "paid") else None


def close_blocker(tenant: Tenant, wo: dict[str, Any]) -> str | None:
    if not wo["billable"] or wo.get("contract_id") or issued_invoice(tenant, wo):
        return None
    return "A billable work order can be closed only once it is on an issued invoice (POST /invoices, then issue it)."


def guard_blocker(tenant: Tenant, wo: dict[str, Any], to: str) -> str | None:
    """Why a transition in the graph is not possible right now (None if it is)."""
    if to == "dispatched" and not wo.get("assignment"):
        return "Assign a technician first (PUT /work-orders/{id}/assignment)."
    if to == "in_progress" and wo["status"] == "completed" and issued_invoice(tenant, wo):
        return "The work order is on an issued invoice and can no longer be reopened."
    if to == "cancelled" and issued_invoice(tenant, wo):
        return "The work order is on an issued invoice and cannot be cancelled."
    if to == "closed":
        return close_blocker(tenant, wo)
    return None


def allowed_transitions(tenant: Tenant, wo: dict[str, Any]) -> list[str]:
    return [to for to in GRAPH[wo["status"]] if guard_blocker(tenant, wo, to) is None]


def sla_hours(tenant: Tenant, wo: dict[str, Any]) -> tuple[int, int]:
    contract = tenant.find("contracts", wo.get("contract_id"))
    priority = wo["priority"]
    response, resolution = DEFAULT_RESPONSE_HOURS[priority], DEFAULT_RESOLUTION_HOURS[priority]
    if contract:
        target = ((contract.get("sla") or {}).get("targets") or {}).get(priority) or {}
        response = target.get("response_hours", response)
        resolution = target.get("resolution_hours", resolution)
    return response, resolution


def compute_sla(tenant: Tenant, wo: dict[str, Any]) -> None:
    """(Re)compute `sla.due_at` from creation time, priority and contract or tenant SLA."""
    created = parse_datetime(wo["created_at"])
    response, resolution = sla_hours(tenant, wo)
    wo["sla"] = {
        "response_due_at": iso(created + timedelta(hours=response)),
        "due_at": iso(created + timedelta(hours=resolution)),
        "state": wo.get("sla", {}).get("state", "on_track"),
    }


def sla_state(wo: dict[str, Any], now: datetime) -> str:
    created = parse_datetime(wo["created_at"])
    due = parse_datetime(wo["sla"]["due_at"])
    # The clock stops when the work is done or abandoned.
    end_field = {"completed": "completed_at", "closed": "completed_at", "cancelled": "cancelled_at"}
    at = now
    if wo["status"] in end_field and wo.get(end_field[wo["status"]]):
        at = parse_datetime(wo[end_field[wo["status"]]])
    if at > due:
        return "breached"
    total = (due - created).total_seconds() or 1
    return "at_risk" if (due - at).total_seconds() <= AT_RISK_FRACTION * total else "on_track"


def new_work_order(ids: Any, tenant: Tenant, created_at: datetime, *, customer_id: str, site_id: str,
                   summary: str, asset_id: str | None = None, contract_id: str | None = None,
                   description: str | None = None, work_type: str = "repair", priority: str = "normal",
                   billable: bool = True, requires_signature: bool = False, origin: dict[str, Any] | None = None,
                   assignment: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """A fresh work order (status new, or scheduled when an assignment is given); stored, no events."""
    wo = {
        "id": ids.new("wo"),
        "object": "work_order",
        "number": f"WO-{tenant.next_number('work_order', 10001)}",
        "status": "scheduled" if assignment else "new",
        "customer_id": customer_id, "site_id": site_id, "asset_id": asset_id, "contract_id": contract_id,
        "summary": summary, "description": description, "work_type": work_type, "priority": priority,
        "billable": billable, "requires_signature": requires_signature,
        "origin": {"type": "api", "call_id": None, "contract_id": None, **(origin or {})},
        "assignment": assignment, "sla": {},
        "started_at": None, "completed_at": None, "closed_at": None, "cancelled_at": None,
        "hold_reason_code": None, "reopen_reason": None, "signature_captured": False, "cancellation": None, "resolution": None, "parts_used": [],
        "signature_attachment_id": None, "attachment_count": 0, "invoice_id": None,
        "metadata": metadata or {}, "version": 1, "livemode": False,
        "created_at": iso(created_at), "updated_at": iso(created_at),
    }
    compute_sla(tenant, wo)
    tenant.col("work_orders")[wo["id"]] = wo
    return wo
