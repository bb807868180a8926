"""Leave policies (summary with balances, details with leave_policy_variant_id) and the time-off
balance of an employment, computed from the seeded policies and the employment's time off."""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.responses import JSONResponse, Response

from ops_mcp.sandbox.remote.errors import not_found
from ops_mcp.sandbox.remote.routing import Ctx, Router
from ops_mcp.sandbox.remote.timeoff import settle

router = Router()

HOURS_PER_DAY = 8
# Time-off types that draw on a policy's balance (paid time off also counts plain `time_off`).
POLICY_TYPES = {"paid_time_off": ("paid_time_off", "time_off")}


def _employee(ctx: Ctx) -> dict[str, Any]:
    employment = ctx.get("employments", ctx.param("employment_id"), "Employment")
    if employment["type"] == "contractor":
        raise not_found("Leave policy")  # contractors have no leave policies at Remote
    return employment


def _policies(ctx: Ctx, employment: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(ctx.state.records("leave_policies", (employment["_company_id"],)), key=lambda p: p["name"])


def _hours(records: list[dict[str, Any]]) -> int:
    return sum(day["hours"] for r in records for day in r["timeoff_days"])


def _amount(hours: float) -> dict[str, Any]:
    return {"days": round(hours / HOURS_PER_DAY, 2), "hours": hours, "type": "limited"}


def _usage(ctx: Ctx, employment: dict[str, Any], leave_type: str) -> dict[str, int]:
    """Hours of this year's time off of the policy, by where they stand."""
    today = ctx.state.today
    year = str(today.year)
    kinds = POLICY_TYPES.get(leave_type, (leave_type,))
    mine = [settle(r, today) for r in ctx.state.data["timeoffs"].values()
            if r["employment_id"] == employment["id"] and r["timeoff_type"] in kinds and r["start_date"][:4] == year]
    return {
        "taken": _hours([r for r in mine if r["status"] == "taken"]),
        "upcoming_approved": _hours([r for r in mine if r["status"] in ("approved", "cancel_requested")]),
        "requested": _hours([r for r in mine if r["status"] == "requested"]),
    }


def _entitlement_days(employment: dict[str, Any], policy: dict[str, Any]) -> int | None:
    if policy["leave_type"] == "paid_time_off":
        return int((employment.get("contract_details") or {}).get("paid_time_off_days") or 25)
    return policy["days"]


def _summary(ctx: Ctx, employment: dict[str, Any], policy: dict[str, Any]) -> dict[str, Any]:
    usage = _usage(ctx, employment, policy["leave_type"])
    booked = usage["taken"] + usage["upcoming_approved"]
    days = _entitlement_days(employment, policy)
    if days is None:
        entitlement: dict[str, Any] = {"type": "unlimited"}
        balance: dict[str, Any] = {"type": "unlimited"}
    else:
        entitlement = _amount(days * HOURS_PER_DAY)
        balance = _amount(days * HOURS_PER_DAY - booked)
    return {
        "leave_policy": {"name": policy["name"], "leave_type": policy["leave_type"],
                         "description": f"{policy['name']} of {employment['country']['name']} employees.",
                         "unit": "unlimited" if days is None else policy["unit"]},
        "annual_entitlement": entitlement, "current_entitlement": entitlement, "annual_balance": balance,
        "balance": balance, "booked": _amount(booked), "taken": _amount(usage["taken"]),
        "used": _amount(usage["taken"]), "pending_approval": _amount(usage["requested"]),
        "upcoming_approved": _amount(usage["upcoming_approved"]),
        "upcoming_requested": _amount(usage["requested"]), "working_hours_per_day": HOURS_PER_DAY,
    }


@router.op("GET", "/v1/leave-policies/summary/{employment_id}", "timeoff:read")
async def leave_policies_summary(ctx: Ctx) -> Response:
    employment = _employee(ctx)
    return JSONResponse({"data": [_summary(ctx, employment, p) for p in _policies(ctx, employment)]})


@router.op("GET", "/v1/leave-policies/details/{employment_id}", "timeoff:read")
async def leave_policies_details(ctx: Ctx) -> Response:
    employment = _employee(ctx)
    return JSONResponse({"data": [
        {"leave_policy_variant_id": p["id"], "name": p["name"], "custom": p["custom"],
         "uses_accrual_as_balance": False} for p in _policies(ctx, employment)]})


def _days_hours(hours: float) -> dict[str, float]:
    return {"days": round(hours / HOURS_PER_DAY, 2), "hours": hours}


@router.op("GET", "/v1/timeoff-balances/{employment_id}", "timeoff:read")
async def timeoff_balance(ctx: Ctx) -> Response:
    employment = _employee(ctx)
    policy = next(p for p in _policies(ctx, employment) if p["leave_type"] == "paid_time_off")
    days = _entitlement_days(employment, policy) or 0
    usage = _usage(ctx, employment, "paid_time_off")
    year_end = date(ctx.state.today.year, 12, 31).isoformat()
    remaining = days * HOURS_PER_DAY - usage["taken"] - usage["upcoming_approved"]
    return JSONResponse({"data": {"timeoff_balance": {
        "contractual_entitled": days, "contractual_leave_entitlement_type": "days_per_year",
        "total_entitled_days": days, "working_hours_per_day": HOURS_PER_DAY,
        "taken": _days_hours(usage["taken"]), "upcoming_approved": _days_hours(usage["upcoming_approved"]),
        "upcoming_requested": _days_hours(usage["requested"]),
        "timeoff_entitlements": [{
            "type": "annual_paid_timeoff", "name": "Annual paid time off", "can_expire": True,
            "expiry_date": year_end, "entitled": _days_hours(days * HOURS_PER_DAY),
            "remaining": _days_hours(remaining), "taken": _days_hours(usage["taken"]),
        }],
    }}})
