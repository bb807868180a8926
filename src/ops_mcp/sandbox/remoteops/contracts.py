"""Service contracts (§4 #16–21): status from dates, visit schedules, WO generation, billing cycles."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from ops_mcp.sandbox.remoteops import workflow
from ops_mcp.sandbox.remoteops.http import Ctx, Operation, Reply
from ops_mcp.sandbox.remoteops.listing import list_reply
from ops_mcp.sandbox.remoteops.problems import ApiError
from ops_mcp.sandbox.remoteops.store import Tenant, public
from ops_mcp.sandbox.remoteops.validation import Body
from ops_mcp.sandbox.remoteops.values import add_months, iso
from ops_mcp.sandbox.remoteops.work_orders import check_if_match, etag, touch

FREQUENCY_MONTHS = {"weekly": 0, "monthly": 1, "quarterly": 3, "semiannual": 6, "annual": 12}
CYCLE_MONTHS = {"monthly": 1, "quarterly": 3, "annual": 12}
BILLING_MODES = ("in_advance", "in_arrears")
COVERAGE = ("business_hours", "extended_hours", "24x7")
MAX_HORIZON_DAYS = 365

Emit = Callable[[str, dict[str, Any], dict[str, Any] | None], Any]


def status_of(contract: dict[str, Any], today: date) -> str:
    if today.isoformat() < contract["start_date"]:
        return "pending"
    return "active" if today.isoformat() < contract["end_date"] else "expired"


def ensure_visits(contract: dict[str, Any], through: date) -> None:
    """Materialise planned visits from the start date up to ``through`` (within the term unless it renews)."""
    schedule = contract.get("visit_schedule")
    if not schedule:
        return
    months = FREQUENCY_MONTHS[schedule["frequency"]]

    def nth(k: int) -> date:
        return start + timedelta(weeks=k) if months == 0 else add_months(start, k * months)

    limit = through if contract["renewal"]["auto_renew"] else min(through, date.fromisoformat(contract["end_date"]))
    visits = contract.setdefault("_visits", [])
    known = {v["due_date"] for v in visits}
    start = date.fromisoformat(contract["start_date"])
    k = 1
    while True:
        due = nth(k)
        if due > limit or (not contract["renewal"]["auto_renew"] and due >= date.fromisoformat(contract["end_date"])):
            break
        if due.isoformat() not in known:
            visits.append({"due_date": due.isoformat(), "status": "planned", "work_order_id": None})
        k += 1
    visits.sort(key=lambda v: v["due_date"])


def refresh(tenant: Tenant, contract: dict[str, Any], today: date, emit: Emit | None) -> None:
    """Roll terms over, expire, and fire renewal notices once, as the calendar dictates."""
    notified = contract.setdefault("_notified", {})
    while contract["renewal"]["auto_renew"] and contract["end_date"] <= today.isoformat():
        previous = {"end_date": contract["end_date"]}
        contract["end_date"] = add_months(date.fromisoformat(contract["end_date"]), contract["term_months"]).isoformat()
        contract["renewal_date"] = contract["end_date"]
        if emit:
            emit("contract.renewed", contract, previous)
    end = date.fromisoformat(contract["end_date"])
    if end <= today and not contract["renewal"]["auto_renew"] and not notified.get("expired"):
        notified["expired"] = True
        if emit:
            emit("contract.expired", contract, None)
    notice = end - timedelta(days=contract["renewal"]["notice_days"])
    if notice <= today < end and notified.get("renewal_upcoming") != contract["end_date"]:
        notified["renewal_upcoming"] = contract["end_date"]
        if emit:
            emit("contract.renewal_upcoming", contract, None)
    ensure_visits(contract, today + timedelta(days=MAX_HORIZON_DAYS))


def amount_for(contract: dict[str, Any], period_start: str) -> int:
    amount = contract["billing"]["amount"]
    for change in contract.get("_amount_changes", []):
        if change["effective_from"] <= period_start:
            amount = change["amount"]
    return amount


def billing_cycles(tenant: Tenant, contract: dict[str, Any]) -> list[dict[str, Any]]:
    billing = contract.get("billing")
    if not billing:
        return []
    months = CYCLE_MONTHS[billing["cycle"]]
    start, end = date.fromisoformat(contract["start_date"]), date.fromisoformat(contract["end_date"])
    invoiced = contract.get("_invoiced", {})
    rows, k = [], 0
    while True:
        period_start = add_months(start, k * months)
        if period_start >= end:
            break
        period_end = min(add_months(start, (k + 1) * months), end) - timedelta(days=1)
        invoice_id = invoiced.get(period_start.isoformat())
        rows.append({"object": "billing_cycle", "contract_id": contract["id"], "period_start": period_start.isoformat(),
                     "period_end": period_end.isoformat(), "amount": amount_for(contract, period_start.isoformat()),
                     "currency": tenant.currency, "status": "invoiced" if invoice_id else "unbilled",
                     "invoice_id": invoice_id})
        k += 1
    return rows


def next_billing_date(tenant: Tenant, contract: dict[str, Any], today: date) -> str | None:
    for cycle in billing_cycles(tenant, contract):
        due = cycle["period_start"] if contract["billing"]["mode"] == "in_advance" else cycle["period_end"]
        if cycle["status"] == "unbilled" and due >= today.isoformat():
            return due
    return None


def view(ctx: Ctx, contract: dict[str, Any]) -> dict[str, Any]:
    today = ctx.now.date()
    refresh(ctx.tenant, contract, today, lambda t, o, p: ctx.emit(t, o, p))
    out = public(contract)
    out["status"] = status_of(contract, today)
    out["renewal_date"] = contract["end_date"]
    out["next_billing_date"] = next_billing_date(ctx.tenant, contract, today)
    out["upcoming_visits"] = [dict(v) for v in contract.get("_visits", []) if v["due_date"] >= today.isoformat()][:12]
    return out


async def list_contracts(ctx: Ctx) -> Reply:
    customer, site = ctx.q_str("customer_id"), ctx.q_str("site_id")
    status = ctx.q_list("status", ("pending", "active", "expired"))
    renews_before = ctx.q_date("renews_before")
    auto_renew = ctx.q_bool("auto_renew")
    ctx.check_query()
    today = ctx.now.date()
    for contract in ctx.tenant.col("contracts").values():
        refresh(ctx.tenant, contract, today, lambda t, o, p: ctx.emit(t, o, p))

    def keep(c: dict[str, Any]) -> bool:
        return ((not customer or c["customer_id"] == customer) and (not site or c["site_id"] == site)
                and (not status or status_of(c, today) in status)
                and (not renews_before or c["end_date"] < renews_before)
                and (auto_renew is None or c["renewal"]["auto_renew"] == auto_renew))

    rows = [c for c in ctx.tenant.col("contracts").values() if keep(c)]
    return list_reply(ctx, rows, view=lambda c: view(ctx, c))


def default_sla() -> dict[str, Any]:
    return {"coverage": "business_hours",
            "targets": {p: {"response_hours": workflow.DEFAULT_RESPONSE_HOURS[p],
                            "resolution_hours": workflow.DEFAULT_RESOLUTION_HOURS[p]} for p in workflow.PRIORITIES}}


def read_sla(body: Body) -> dict[str, Any] | None:
    sla = body.obj("sla")
    if sla is None:
        return None
    out: dict[str, Any] = {"coverage": sla.str("coverage", required=True, enum=COVERAGE), "targets": {}}
    targets = sla.obj("targets", required=True)
    if targets is not None:
        targets.only(workflow.PRIORITIES)
        for priority in workflow.PRIORITIES:
            target = targets.obj(priority, required=True)
            if target is not None:
                target.only(("response_hours", "resolution_hours"))
                out["targets"][priority] = {
                    "response_hours": target.int("response_hours", required=True, minimum=1, maximum=720),
                    "resolution_hours": target.int("resolution_hours", required=True, minimum=1, maximum=2160),
                }
    return out


def read_schedule(body: Body) -> dict[str, Any] | None:
    schedule = body.obj("visit_schedule")
    if schedule is None:
        return None
    schedule.only(("frequency", "work_type", "duration_minutes", "generation_horizon_days"))
    return {
        "frequency": schedule.str("frequency", required=True, enum=tuple(FREQUENCY_MONTHS)),
        "work_type": schedule.str("work_type", required=True, enum=workflow.WORK_TYPES),
        "duration_minutes": schedule.int("duration_minutes", required=True, minimum=15, maximum=24 * 60),
        "generation_horizon_days": schedule.int("generation_horizon_days", minimum=1, maximum=MAX_HORIZON_DAYS,
                                                default=30),
    }


def read_covered_assets(ctx: Ctx, body: Body, site_id: str | None) -> list[str]:
    ids = body.str_list("covered_asset_ids", max_items=500) or []
    for i, asset_id in enumerate(ids):
        asset = ctx.tenant.find("assets", asset_id)
        if asset is None or (site_id and asset.get("site_id") != site_id):
            body.error(f"covered_asset_ids/{i}", "not-found", f"no asset '{asset_id}' at this site")
    return ids


async def create_contract(ctx: Ctx) -> Reply:
    tenant = ctx.tenant
    body = ctx.body()
    body.only(("customer_id", "site_id", "covered_asset_ids", "start_date", "term_months", "sla",
               "visit_schedule", "billing", "renewal"))
    customer_id = body.str("customer_id", required=True, max_len=64)
    site_id = body.str("site_id", required=True, max_len=64)
    start = body.date("start_date", required=True)
    term = body.int("term_months", required=True, minimum=1, maximum=120)
    site = tenant.find("sites", site_id)
    if customer_id and tenant.find("customers", customer_id) is None:
        body.error("customer_id", "not-found", f"no customer '{customer_id}'")
    if site_id and (site is None or site["customer_id"] != customer_id):
        body.error("site_id", "not-found", f"no site '{site_id}' for this customer")
    covered = read_covered_assets(ctx, body, site_id)
    sla = read_sla(body)
    schedule = read_schedule(body)
    billing_body = body.obj("billing", required=True)
    billing = None
    if billing_body is not None:
        billing_body.only(("cycle", "amount", "currency", "mode"))
        currency = billing_body.str("currency", required=True, max_len=3)
        if currency and currency != tenant.currency:
            billing_body.error("currency", "invalid", f"must be the tenant currency {tenant.currency}")
        billing = {"cycle": billing_body.str("cycle", required=True, enum=tuple(CYCLE_MONTHS)),
                   "amount": billing_body.int("amount", required=True, minimum=0, maximum=10**10),
                   "currency": tenant.currency,
                   "mode": billing_body.str("mode", enum=BILLING_MODES, default="in_advance")}
    renewal_body = body.obj("renewal")
    renewal = {"auto_renew": True, "notice_days": 30}
    if renewal_body is not None:
        renewal_body.only(("auto_renew", "notice_days"))
        renewal = {"auto_renew": renewal_body.bool("auto_renew", default=True),
                   "notice_days": renewal_body.int("notice_days", minimum=0, maximum=365, default=30)}
    body.done()
    assert start is not None and term is not None
    contract = {
        "id": ctx.state.ids.new("ctr"), "object": "contract",
        "number": f"CTR-{tenant.next_number('contract', 1001)}", "customer_id": customer_id, "site_id": site_id,
        "covered_asset_ids": covered, "start_date": start.isoformat(), "term_months": term,
        "end_date": add_months(start, term).isoformat(),
        "sla": sla or default_sla(),
        "visit_schedule": schedule, "billing": billing, "renewal": renewal,
        "version": 1, "livemode": False, "created_at": iso(ctx.now), "updated_at": iso(ctx.now),
    }
    tenant.col("contracts")[contract["id"]] = contract
    refresh(tenant, contract, ctx.now.date(), None)
    ctx.emit("contract.created", contract, None)
    return Reply(view(ctx, contract), 201, {"Location": ctx.url_for_path(f"/contracts/{contract['id']}"),
                                            "ETag": etag(contract)})


async def get_contract(ctx: Ctx) -> Reply:
    contract = ctx.tenant.get("contracts", ctx.pid)
    return Reply(view(ctx, contract), headers={"ETag": etag(contract)})


async def update_contract(ctx: Ctx) -> Reply:
    tenant = ctx.tenant
    contract = tenant.get("contracts", ctx.pid)
    body = ctx.body()
    body.only(("covered_asset_ids", "visit_schedule", "sla", "billing", "renewal"))
    changes: dict[str, Any] = {}
    if body.has("covered_asset_ids"):
        changes["covered_asset_ids"] = read_covered_assets(ctx, body, contract["site_id"])
    stop_visits = body.has("visit_schedule") and body.raw("visit_schedule") is None
    if body.has("visit_schedule") and not stop_visits:
        changes["visit_schedule"] = read_schedule(body)
    if body.has("sla"):
        changes["sla"] = read_sla(body)
    new_amount = None
    if body.has("billing"):
        billing = body.obj("billing")
        if billing is not None:
            billing.only(("amount",))
            new_amount = billing.int("amount", required=True, minimum=0, maximum=10**10)
            if contract.get("billing") is None:
                billing.error("", "invalid", "this contract has no billing to change")
    auto_renew = None
    if body.has("renewal"):
        renewal = body.obj("renewal")
        if renewal is not None:
            renewal.only(("auto_renew",))
            auto_renew = renewal.bool("auto_renew", required=True)
    if not body.data:
        body.error("", "empty", "give at least one field to change")
    body.done()
    check_if_match(ctx, contract)
    previous: dict[str, Any] = {}
    if stop_visits and contract.get("visit_schedule") is not None:
        previous["visit_schedule"] = contract["visit_schedule"]
        contract["visit_schedule"] = None
    for name, value in changes.items():
        if value is not None and contract.get(name) != value:
            previous[name] = contract.get(name)
            contract[name] = value
    if "visit_schedule" in previous:
        # Planned (not yet generated) visits follow the new schedule.
        contract["_visits"] = [v for v in contract.get("_visits", []) if v["status"] != "planned"]
    if new_amount is not None and new_amount != contract["billing"]["amount"]:
        effective = next_billing_date(tenant, contract, ctx.now.date()) or contract["end_date"]
        previous["billing"] = dict(contract["billing"])
        contract.setdefault("_amount_changes", []).append({"effective_from": effective, "amount": new_amount})
        contract["billing"]["amount_from_next_cycle"] = new_amount
    if auto_renew is not None and auto_renew != contract["renewal"]["auto_renew"]:
        previous["renewal"] = dict(contract["renewal"])
        contract["renewal"]["auto_renew"] = auto_renew
    if previous:
        if "sla" in previous:
            for wo in tenant.col("work_orders").values():
                if wo.get("contract_id") == contract["id"] and wo["status"] not in workflow.TERMINAL:
                    workflow.compute_sla(tenant, wo)
        touch(ctx, contract)
        ctx.emit("contract.updated", contract, previous)
    return Reply(view(ctx, contract), headers={"ETag": etag(contract)})


async def generate_work_orders(ctx: Ctx) -> Reply:
    tenant = ctx.tenant
    contract = tenant.get("contracts", ctx.pid)
    body = ctx.body()
    body.only(("through_date",))
    through = body.date("through_date", required=True)
    today = ctx.now.date()
    if through and through > today + timedelta(days=MAX_HORIZON_DAYS):
        body.error("through_date", "range", f"must be at most {MAX_HORIZON_DAYS} days from today")
    body.done()
    assert through is not None
    refresh(tenant, contract, today, lambda t, o, p: ctx.emit(t, o, p))
    if status_of(contract, today) == "expired":
        raise ApiError(409, "invalid-transition", "The contract has expired; no visits can be generated.",
                       allowed_transitions=[])
    ensure_visits(contract, through)
    schedule = contract.get("visit_schedule") or {}
    generated, skipped = [], []
    for visit in contract.get("_visits", []):
        if visit["due_date"] > through.isoformat():
            continue
        if visit["status"] != "planned":
            skipped.append({"due_date": visit["due_date"], "status": visit["status"],
                            "work_order_id": visit["work_order_id"]})
            continue
        asset_id = contract["covered_asset_ids"][0] if contract["covered_asset_ids"] else None
        wo = workflow.new_work_order(
            ctx.state.ids, tenant, ctx.now, customer_id=contract["customer_id"], site_id=contract["site_id"],
            asset_id=asset_id, contract_id=contract["id"], billable=False,
            summary=f"Planned {schedule.get('frequency', '')} maintenance visit due {visit['due_date']}",
            work_type=schedule.get("work_type", "maintenance"),
            origin={"type": "contract", "call_id": None, "contract_id": contract["id"]},
            metadata={"visit_due_date": visit["due_date"],
                      "duration_minutes": schedule.get("duration_minutes")})
        visit.update(status="generated", work_order_id=wo["id"])
        ctx.state.effects["work_order"] += 1
        ctx.emit("work_order.created", wo)
        generated.append(wo["id"])
    if generated:
        touch(ctx, contract)
        ctx.emit("contract.work_orders_generated", contract, None)
    today_iso = today.isoformat()
    return Reply({"object": "work_order_generation", "contract_id": contract["id"],
                  "through_date": through.isoformat(), "created_work_order_ids": generated,
                  "skipped_visit_count": len(skipped),
                  "upcoming_visits": [dict(v) for v in contract.get("_visits", []) if v["due_date"] >= today_iso][:12]})


async def list_billing_cycles(ctx: Ctx) -> Reply:
    contract = ctx.tenant.get("contracts", ctx.pid)
    status = ctx.q_str("status", ("unbilled", "invoiced"))
    ctx.check_query()
    rows = [c for c in billing_cycles(ctx.tenant, contract) if not status or c["status"] == status]
    return list_reply(ctx, rows, sort="period_start", id_of=lambda c: c["period_start"], view=dict)


OPERATIONS = [
    Operation("GET", "/contracts", "listContracts", "safe", list_contracts),
    Operation("POST", "/contracts", "createContract", "key-optional", create_contract),
    Operation("GET", "/contracts/{contract_id}", "getContract", "safe", get_contract),
    Operation("PATCH", "/contracts/{contract_id}", "updateContract", "idempotent", update_contract),
    Operation("POST", "/contracts/{contract_id}/generate-work-orders", "generateContractWorkOrders", "idempotent",
              generate_work_orders),
    Operation("GET", "/contracts/{contract_id}/billing-cycles", "listContractBillingCycles", "safe", list_billing_cycles),
]
