"""Work-order timeline entries (transition, assignment, attachment, signature, call_linked, …)."""

from __future__ import annotations

from typing import Any

from ops_mcp.sandbox.remoteops.store import RemoteOpsState, Tenant
from ops_mcp.sandbox.remoteops.values import iso

TIMELINE_TYPES = ("transition", "assignment", "attachment", "signature", "call_linked", "part_consumed",
                  "invoice_issued")
API_ACTOR = {"type": "api_key", "id": None, "name": None}


def _summary(entry_type: str, details: dict[str, Any]) -> str:
    if entry_type == "transition":
        return f"Status {details.get('from_status')} → {details.get('to_status')}"
    if entry_type == "assignment":
        return f"Assigned to {', '.join(details.get('technician_ids') or [])} from {details.get('scheduled_start')}"
    if entry_type in ("attachment", "signature"):
        who = f" by {details['signer_name']}" if details.get("signer_name") else ""
        return f"{details.get('kind', entry_type).capitalize()} added{who}"
    if entry_type == "call_linked":
        return f"Call {details.get('call_id')} linked"
    if entry_type == "part_consumed":
        return f"{details.get('quantity')} × {details.get('part_id')} consumed from {details.get('location_id')}"
    if entry_type == "invoice_issued":
        return f"Invoice {details.get('number')} issued"
    return entry_type


def add_entry(state: RemoteOpsState, tenant: Tenant, wo_id: str, entry_type: str, details: dict[str, Any],
              at: str | None = None, actor: dict[str, Any] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": state.ids.new("tle"), "object": "timeline_entry", "work_order_id": wo_id, "type": entry_type,
             "occurred_at": at or iso(state.clock.now()), "actor": dict(actor or API_ACTOR),
             "summary": _summary(entry_type, details), "details": details}
    entries = tenant.timeline.setdefault(wo_id, [])
    entry["_seq"] = len(entries)  # keeps same-second entries in the order they happened
    entries.append(entry)
    return entry
