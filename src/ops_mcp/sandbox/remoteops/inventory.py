"""Assets, stock levels, stock movements and equipment checkouts (§4 #34–40)."""

from __future__ import annotations

import re
from typing import Any

from ops_mcp.sandbox.remoteops.http import Ctx, Operation, Reply
from ops_mcp.sandbox.remoteops.listing import list_reply
from ops_mcp.sandbox.remoteops.problems import ApiError, validation_failed
from ops_mcp.sandbox.remoteops.store import public
from ops_mcp.sandbox.remoteops.timeline import add_entry
from ops_mcp.sandbox.remoteops.values import iso

OWNERSHIP = ("customer", "company")
ASSET_TYPES = ("elevator", "escalator", "platform_lift", "hvac_unit", "chiller", "boiler", "heat_pump",
               "air_handler", "fire_alarm", "generator", "test_equipment", "tool", "vehicle_lift", "other")
MOVEMENT_TYPES = ("consume", "transfer", "receive", "adjust")
CONDITIONS = ("ok", "damaged", "lost")
CONSUMABLE_WO_STATUSES = ("in_progress", "on_hold", "completed")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


# -- assets ----------------------------------------------------------------------------------
def active_checkout(ctx: Ctx, asset_id: str) -> dict[str, Any] | None:
    for checkout in ctx.tenant.col("equipment_checkouts").values():
        if checkout["asset_id"] == asset_id and checkout["status"] == "checked_out":
            return checkout
    return None


def asset_view(ctx: Ctx, asset: dict[str, Any], detail: bool = False) -> dict[str, Any]:
    out = public(asset)
    checkout = active_checkout(ctx, asset["id"]) if asset["ownership"] == "company" else None
    out["checkout"] = checkout_view(ctx, checkout) if checkout else None
    if detail:
        tenant = ctx.tenant
        wos = [w for w in tenant.col("work_orders").values() if w.get("asset_id") == asset["id"]]
        done = sorted((w["completed_at"] for w in wos if w.get("completed_at")), reverse=True)
        calls = sorted((c for c in tenant.col("calls").values() if c.get("asset_id") == asset["id"]),
                       key=lambda c: c["started_at"], reverse=True)
        out["service_summary"] = {
            "last_service_at": done[0] if done else None,
            "open_work_order_ids": [w["id"] for w in wos if w["status"] not in ("completed", "closed", "cancelled")],
            "contract_ids": [c["id"] for c in tenant.col("contracts").values()
                             if asset["id"] in c.get("covered_asset_ids", [])],
            "recent_call_ids": [c["id"] for c in calls[:5]],
        }
    return out


async def list_assets(ctx: Ctx) -> Reply:
    site, customer = ctx.q_str("site_id"), ctx.q_str("customer_id")
    ownership = ctx.q_str("ownership", OWNERSHIP)
    types = ctx.q_list("type")
    serial = ctx.q_str("serial_number")
    warranty_before = ctx.q_date("warranty_expires_before")
    text = (ctx.q_str("q") or "").lower()
    ctx.check_query()

    def keep(a: dict[str, Any]) -> bool:
        return ((not site or a.get("site_id") == site) and (not customer or a.get("customer_id") == customer)
                and (not ownership or a["ownership"] == ownership) and (not types or a["type"] in types)
                and (not serial or a.get("serial_number") == serial)
                and (not warranty_before or (a.get("warranty_expires_on") or "9999") < warranty_before)
                and (not text or text in f"{a.get('model')} {a.get('manufacturer')} {a.get('serial_number')} "
                                         f"{a.get('position')}".lower()))

    rows = [a for a in ctx.tenant.col("assets").values() if keep(a)]
    return list_reply(ctx, rows, view=lambda a: asset_view(ctx, a))


async def create_asset(ctx: Ctx) -> Reply:
    tenant = ctx.tenant
    body = ctx.body()
    body.only(("ownership", "site_id", "location_id", "type", "model", "manufacturer", "serial_number",
               "install_date", "position", "warranty_expires_on", "voice_lines"))
    ownership = body.str("ownership", required=True, enum=OWNERSHIP)
    site_id = body.str("site_id", max_len=64)
    location_id = body.str("location_id", max_len=64)
    asset_type = body.str("type", required=True, max_len=50)
    model = body.str("model", max_len=200)
    manufacturer = body.str("manufacturer", max_len=200)
    serial = body.str("serial_number", max_len=100)
    install_date = body.date("install_date")
    position = body.str("position", max_len=200)
    warranty = body.date("warranty_expires_on")
    lines = body.str_list("voice_lines", max_items=20) or []
    for i, number in enumerate(lines):
        if not E164.match(number):
            body.error(f"voice_lines/{i}", "format", "must be an E.164 number such as +4930123456")
    site = tenant.find("sites", site_id)
    if ownership == "customer":
        if site is None:
            body.error("site_id", "required" if not site_id else "not-found",
                       "a customer-owned asset needs an existing site_id")
    elif ownership == "company" and tenant.find("locations", location_id) is None:
        body.error("location_id", "required" if not location_id else "not-found",
                   "a company-owned asset needs an existing location_id (warehouse or van)")
    body.done()
    asset = {
        "id": ctx.state.ids.new("ast"), "object": "asset", "ownership": ownership,
        "site_id": site["id"] if ownership == "customer" and site else None,
        "customer_id": site["customer_id"] if ownership == "customer" and site else None,
        "location_id": location_id if ownership == "company" else None,
        "type": asset_type, "model": model, "manufacturer": manufacturer, "serial_number": serial,
        "install_date": install_date.isoformat() if install_date else None, "position": position,
        "warranty_expires_on": warranty.isoformat() if warranty else None, "voice_lines": lines,
        "status": "active", "livemode": False, "created_at": iso(ctx.now), "updated_at": iso(ctx.now),
    }
    tenant.col("assets")[asset["id"]] = asset
    ctx.emit("asset.created", asset)
    return Reply(asset_view(ctx, asset, True), 201, {"Location": ctx.url_for_path(f"/assets/{asset['id']}")})


async def get_asset(ctx: Ctx) -> Reply:
    return Reply(asset_view(ctx, ctx.tenant.get("assets", ctx.pid), True))


# -- stock -------------------------------------------------------------------------------------
def stock_row(ctx: Ctx, location_id: str, part_id: str) -> dict[str, Any]:
    rows = ctx.tenant.col("stock_levels")
    key = f"{location_id}:{part_id}"
    if key not in rows:
        part = ctx.tenant.get("parts", part_id)
        rows[key] = {"_key": key, "part_id": part_id, "location_id": location_id, "on_hand": 0, "reserved": 0,
                     "reorder_point": part.get("reorder_point", 0), "updated_at": iso(ctx.now)}
    return rows[key]


def stock_view(ctx: Ctx, row: dict[str, Any]) -> dict[str, Any]:
    part = ctx.tenant.col("parts")[row["part_id"]]
    location = ctx.tenant.col("locations")[row["location_id"]]
    return {
        "object": "stock_level",
        "part": {"id": part["id"], "sku": part["sku"], "name": part["name"], "unit": part.get("unit", "each")},
        "location": {"id": location["id"], "type": location["type"], "name": location["name"],
                     "technician_id": location.get("technician_id")},
        "on_hand": row["on_hand"], "reserved": row["reserved"], "available": row["on_hand"] - row["reserved"],
        "reorder_point": row["reorder_point"],
        "below_reorder_point": row["on_hand"] - row["reserved"] <= row["reorder_point"],
        "updated_at": row["updated_at"],
    }


async def list_stock_levels(ctx: Ctx) -> Reply:
    part_id, sku, location_id = ctx.q_str("part_id"), ctx.q_str("sku"), ctx.q_str("location_id")
    location_type = ctx.q_str("location_type", ("warehouse", "van"))
    tech = ctx.q_str("technician_id")
    below = ctx.q_bool("below_reorder_point")
    ctx.check_query()
    tenant = ctx.tenant

    def keep(row: dict[str, Any]) -> bool:
        part = tenant.col("parts")[row["part_id"]]
        location = tenant.col("locations")[row["location_id"]]
        is_below = row["on_hand"] - row["reserved"] <= row["reorder_point"]
        return ((not part_id or row["part_id"] == part_id) and (not sku or part["sku"] == sku)
                and (not location_id or row["location_id"] == location_id)
                and (not location_type or location["type"] == location_type)
                and (not tech or location.get("technician_id") == tech)
                and (below is None or is_below == below))

    rows = [r for r in tenant.col("stock_levels").values() if keep(r)]
    return list_reply(ctx, rows, sort="key", key=lambda r: r["_key"], id_of=lambda r: r["_key"],
                      view=lambda r: stock_view(ctx, r))


def _change(ctx: Ctx, location_id: str, part_id: str, delta: int) -> dict[str, Any]:
    row = stock_row(ctx, location_id, part_id)
    before = row["on_hand"] - row["reserved"]
    row["on_hand"] += delta
    row["updated_at"] = iso(ctx.now)
    after = row["on_hand"] - row["reserved"]
    if before > row["reorder_point"] >= after:
        ctx.emit("inventory.low_stock", row, snapshot=stock_view(ctx, row))
    return row


def _require_stock(ctx: Ctx, location_id: str, part_id: str, quantity: int) -> None:
    row = stock_row(ctx, location_id, part_id)
    available = row["on_hand"] - row["reserved"]
    if available < quantity:
        raise ApiError(409, "insufficient-stock",
                       f"Only {available} of part {part_id} available at {location_id}; {quantity} requested.",
                       available=available, part_id=part_id, location_id=location_id)


def _record_movement(ctx: Ctx, movement_type: str, part_id: str, quantity: int, *, location_id: str | None = None,
                     from_id: str | None = None, to_id: str | None = None, wo_id: str | None = None,
                     direction: str | None = None, reason: str | None = None,
                     reference: str | None = None) -> dict[str, Any]:
    balances = []
    if movement_type == "transfer":
        assert from_id and to_id
        balances = [_change(ctx, from_id, part_id, -quantity), _change(ctx, to_id, part_id, quantity)]
    else:
        assert location_id
        decrease = movement_type == "consume" or direction == "decrease"
        balances = [_change(ctx, location_id, part_id, -quantity if decrease else quantity)]
    movement: dict[str, Any] = {
        "id": ctx.state.ids.new("mov"), "object": "stock_movement", "livemode": False, "type": movement_type,
        "part_id": part_id, "quantity": quantity, "direction": direction, "location_id": location_id,
        "from_location_id": from_id, "to_location_id": to_id, "work_order_id": wo_id, "reason": reason,
        "reference": reference, "created_at": iso(ctx.now),
        "resulting_levels": [{"location_id": b["location_id"], "on_hand": b["on_hand"],
                              "available": b["on_hand"] - b["reserved"]} for b in balances],
    }
    ctx.tenant.col("stock_movements")[movement["id"]] = movement
    ctx.state.effects["stock_movement"] += 1
    ctx.emit("inventory.stock_moved", movement)
    return movement


def plan_consumption(ctx: Ctx, wo: dict[str, Any], items: list[tuple[str, int, str | None]]) -> list[tuple]:
    """Check every part line before anything changes (used when completing a work order)."""
    needed: dict[tuple[str, str], int] = {}
    for i, (part_id, quantity, location_id) in enumerate(items):
        if (ctx.tenant.find("parts", part_id) is None or location_id is None
                or ctx.tenant.find("locations", location_id) is None):
            raise validation_failed([{"pointer": f"/parts_used/{i}", "code": "not-found",
                                      "detail": "unknown part_id or location_id (default: the lead technician's van)"}])
        needed[(location_id, part_id)] = needed.get((location_id, part_id), 0) + quantity
    for (location_id, part_id), quantity in needed.items():
        _require_stock(ctx, location_id, part_id, quantity)
    return [(p, q, loc) for p, q, loc in items]


def apply_consumption(ctx: Ctx, wo: dict[str, Any], part_id: str, quantity: int, location_id: str) -> dict[str, Any]:
    movement = _record_movement(ctx, "consume", part_id, quantity, location_id=location_id, wo_id=wo["id"])
    part = ctx.tenant.col("parts")[part_id]
    wo.setdefault("parts_used", []).append({"part_id": part_id, "sku": part["sku"], "quantity": quantity,
                                            "location_id": location_id, "movement_id": movement["id"],
                                            "unit_price": part["unit_price"]})
    add_entry(ctx.state, ctx.tenant, wo["id"], "part_consumed",
              {"part_id": part_id, "quantity": quantity, "movement_id": movement["id"]})
    return movement


async def create_stock_movement(ctx: Ctx) -> Reply:
    tenant = ctx.tenant
    body = ctx.body()
    body.only(("type", "part_id", "quantity", "location_id", "from_location_id", "to_location_id", "direction",
               "work_order_id", "reason", "reference"))
    movement_type = body.str("type", required=True, enum=MOVEMENT_TYPES)
    part_id = body.str("part_id", required=True, max_len=64)
    quantity = body.int("quantity", required=True, minimum=1, maximum=100000)
    direction = body.str("direction", enum=("increase", "decrease"), required=movement_type == "adjust")
    reason = body.str("reason", max_len=500, required=movement_type == "adjust")
    reference = body.str("reference", max_len=200)
    if direction and movement_type != "adjust":
        body.error("direction", "invalid", "only adjust movements take a direction")
    if part_id and tenant.find("parts", part_id) is None:
        body.error("part_id", "not-found", f"no part '{part_id}'")

    def location(name: str) -> str | None:
        value = body.str(name, required=True, max_len=64)
        if value and tenant.find("locations", value) is None:
            body.error(name, "not-found", f"no stock location '{value}'")
        return value

    wo = None
    location_id = from_id = to_id = None
    if movement_type == "transfer":
        from_id, to_id = location("from_location_id"), location("to_location_id")
        if from_id and from_id == to_id:
            body.error("to_location_id", "invalid", "must differ from from_location_id")
    elif movement_type:
        location_id = location("location_id")
    if movement_type == "consume":
        wo_id = body.str("work_order_id", required=True, max_len=64)
        wo = tenant.find("work_orders", wo_id)
        if wo_id and wo is None:
            body.error("work_order_id", "not-found", f"no work order '{wo_id}'")
        elif wo is not None and wo["status"] not in CONSUMABLE_WO_STATUSES:
            body.error("work_order_id", "invalid-status",
                       f"parts can be consumed only on work orders {', '.join(CONSUMABLE_WO_STATUSES)}; "
                       f"this one is {wo['status']}")
    body.done()
    assert movement_type and part_id and quantity is not None
    if movement_type == "consume":
        assert wo is not None and location_id
        _require_stock(ctx, location_id, part_id, quantity)
        movement = apply_consumption(ctx, wo, part_id, quantity, location_id)
    elif movement_type == "transfer":
        assert from_id
        _require_stock(ctx, from_id, part_id, quantity)
        movement = _record_movement(ctx, "transfer", part_id, quantity, from_id=from_id, to_id=to_id,
                                    reason=reason, reference=reference)
    else:
        if direction == "decrease":
            assert location_id
            _require_stock(ctx, location_id, part_id, quantity)
        movement = _record_movement(ctx, movement_type, part_id, quantity, location_id=location_id,
                                    direction=direction, reason=reason, reference=reference)
    return Reply(movement, 201)


# -- equipment checkouts -------------------------------------------------------------------------
def checkout_view(ctx: Ctx, checkout: dict[str, Any]) -> dict[str, Any]:
    out = public(checkout)
    out["is_overdue"] = checkout["status"] == "checked_out" and checkout["due_back_at"] < iso(ctx.now)
    return out


async def check_out_equipment(ctx: Ctx) -> Reply:
    tenant = ctx.tenant
    body = ctx.body()
    body.only(("asset_id", "technician_id", "work_order_id", "due_back_at"))
    asset_id = body.str("asset_id", required=True, max_len=64)
    tech_id = body.str("technician_id", required=True, max_len=64)
    wo_id = body.str("work_order_id", max_len=64)
    due = body.datetime("due_back_at", required=True)
    asset = tenant.find("assets", asset_id)
    if asset_id and asset is None:
        body.error("asset_id", "not-found", f"no asset '{asset_id}'")
    elif asset is not None and asset["ownership"] != "company":
        body.error("asset_id", "not-company-owned", "only company-owned equipment can be checked out")
    elif asset is not None and asset.get("status") == "lost":
        body.error("asset_id", "lost", "this equipment is recorded as lost")
    if tech_id and tenant.find("technicians", tech_id) is None:
        body.error("technician_id", "not-found", f"no technician '{tech_id}'")
    if wo_id and tenant.find("work_orders", wo_id) is None:
        body.error("work_order_id", "not-found", f"no work order '{wo_id}'")
    if due and due <= ctx.now:
        body.error("due_back_at", "invalid", "must be in the future")
    body.done()
    assert asset is not None and due is not None
    current = active_checkout(ctx, asset["id"])
    if current is not None:
        raise ApiError(409, "equipment-unavailable",
                       f"This equipment is already checked out (until {current['due_back_at']}).",
                       existing_id=current["id"])
    checkout = {
        "id": ctx.state.ids.new("chk"), "object": "equipment_checkout", "asset_id": asset["id"],
        "technician_id": tech_id, "work_order_id": wo_id, "status": "checked_out",
        "checked_out_at": iso(ctx.now), "due_back_at": iso(due),
        "from_location_id": asset.get("location_id"), "returned_at": None, "condition": None,
        "to_location_id": None, "livemode": False, "created_at": iso(ctx.now),
    }
    tenant.col("equipment_checkouts")[checkout["id"]] = checkout
    ctx.emit("equipment.checked_out", checkout)
    return Reply(checkout_view(ctx, checkout), 201,
                 {"Location": ctx.url_for_path(f"/equipment-checkouts/{checkout['id']}")})


async def return_equipment(ctx: Ctx) -> Reply:
    tenant = ctx.tenant
    checkout = tenant.get("equipment_checkouts", ctx.pid)
    body = ctx.body()
    body.only(("returned_at", "condition", "to_location_id"))
    returned_at = body.datetime("returned_at")
    condition = body.str("condition", required=True, enum=CONDITIONS)
    to_id = body.str("to_location_id", max_len=64)
    if to_id and tenant.find("locations", to_id) is None:
        body.error("to_location_id", "not-found", f"no stock location '{to_id}'")
    body.done()
    if checkout["status"] == "returned":
        return Reply(checkout_view(ctx, checkout))  # returning again replays the first result
    asset = tenant.col("assets")[checkout["asset_id"]]
    checkout.update(status="returned", returned_at=iso(returned_at or ctx.now), condition=condition,
                    to_location_id=to_id or checkout.get("from_location_id"))
    asset["location_id"] = checkout["to_location_id"] or asset.get("location_id")
    asset["status"] = {"ok": "active", "damaged": "needs_repair", "lost": "lost"}[condition]
    asset["updated_at"] = iso(ctx.now)
    ctx.emit("equipment.returned", checkout)
    return Reply(checkout_view(ctx, checkout))


OPERATIONS = [
    Operation("GET", "/assets", "listAssets", "safe", list_assets),
    Operation("POST", "/assets", "createAsset", "key-optional", create_asset),
    Operation("GET", "/assets/{asset_id}", "getAsset", "safe", get_asset),
    Operation("GET", "/stock-levels", "listStockLevels", "safe", list_stock_levels),
    Operation("POST", "/stock-movements", "createStockMovement", "key-required", create_stock_movement),
    Operation("POST", "/equipment-checkouts", "checkOutEquipment", "key-optional", check_out_equipment),
    Operation("POST", "/equipment-checkouts/{checkout_id}/return", "returnEquipment", "idempotent", return_equipment),
]
