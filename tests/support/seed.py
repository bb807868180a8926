"""Lookups in the embedded sandbox's seed data, for tests that need a real id to act on."""

from __future__ import annotations

from typing import Any

from ops_mcp.runtime import Runtime

from .runtime import backend_state


def requested_timeoff(runtime: Runtime, skip: int = 0) -> tuple[dict[str, Any], dict[str, Any]]:
    """Arguments for ``remote_approve_timeoff`` on a requested time off of Acme, and the record."""
    data = backend_state(runtime, "remote").data
    acme = next(
        c["id"] for c in data["companies"].values() if c.get("_slug") == "acme" or c["name"] == "Acme GmbH"
    )
    found = [
        t
        for t in data["timeoffs"].values()
        if t["status"] == "requested" and data["employments"][t["employment_id"]]["_company_id"] == acme
    ]
    record = found[skip]
    manager = next(m["user_id"] for m in data["managers"].values() if m["_company_id"] == acme)
    return {"timeoff_id": record["id"], "approver_id": manager}, record


def employee_name(runtime: Runtime, timeoff: dict[str, Any]) -> str:
    return backend_state(runtime, "remote").data["employments"][timeoff["employment_id"]]["full_name"]
