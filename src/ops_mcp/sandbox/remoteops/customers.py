"""Technicians, customers and sites (§4 #9–15)."""

from __future__ import annotations

import re
from typing import Any

from ops_mcp.sandbox.remoteops.http import Ctx, Operation, Reply
from ops_mcp.sandbox.remoteops.listing import list_reply
from ops_mcp.sandbox.remoteops.store import public
from ops_mcp.sandbox.remoteops.validation import Body
from ops_mcp.sandbox.remoteops.values import iso

LOCALES = ("en", "de", "fr", "es", "it", "nl", "pt", "pl", "sv")
LOCALE_TAG = re.compile(r"^[a-zA-Z]{2,3}(-[A-Za-z0-9]{2,8})*$")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
OPEN_WO = ("new", "scheduled", "dispatched", "in_progress", "on_hold")


# -- technicians -------------------------------------------------------------------------------
async def list_technicians(ctx: Ctx) -> Reply:
    skill = ctx.q_str("skill")
    status = ctx.q_str("status", ("active", "on_leave", "inactive"))
    ctx.check_query()
    rows = [t for t in ctx.tenant.col("technicians").values()
            if (not skill or skill in t["skills"]) and (not status or t["status"] == status)]
    return list_reply(ctx, rows, sort="name")


# -- customers ----------------------------------------------------------------------------------
def customer_view(ctx: Ctx, customer: dict[str, Any], detail: bool = False) -> dict[str, Any]:
    out = public(customer)
    if not detail:
        return out
    tenant = ctx.tenant
    out["site_ids"] = [s["id"] for s in tenant.col("sites").values() if s["customer_id"] == customer["id"]]
    from ops_mcp.sandbox.remoteops.invoices import amounts  # seeded invoices cache no amounts until viewed

    owed = sum(amounts(tenant, i)["amount_remaining"] for i in tenant.col("invoices").values()
               if i["customer_id"] == customer["id"] and i["status"] == "open")
    out["balance"] = owed
    return out


async def list_customers(ctx: Ctx) -> Reply:
    text = (ctx.q_str("q") or "").lower()
    email = (ctx.q_str("email") or "").lower()
    phone = ctx.q_str("phone")
    status = ctx.q_str("status", ("active", "inactive"))
    updated_after = ctx.q_datetime("updated_after")
    ctx.check_query()

    def keep(c: dict[str, Any]) -> bool:
        return ((not text or text in f"{c['name']} {c.get('email') or ''}".lower())
                and (not email or (c.get("email") or "").lower() == email)
                and (not phone or c.get("phone") == phone) and (not status or c["status"] == status)
                and (not updated_after or c["updated_at"] > updated_after))

    rows = [c for c in ctx.tenant.col("customers").values() if keep(c)]
    return list_reply(ctx, rows, view=lambda c: customer_view(ctx, c))


def read_address(body: Body, name: str, required: bool) -> dict[str, Any] | None:
    address = body.obj(name, required=required)
    if address is None:
        return None
    address.only(("line1", "line2", "city", "postal_code", "region", "country"))
    out = {
        "line1": address.str("line1", required=True, max_len=200),
        "line2": address.str("line2", max_len=200),
        "city": address.str("city", required=True, max_len=100),
        "postal_code": address.str("postal_code", max_len=20),
        "region": address.str("region", max_len=100),
        "country": address.str("country", required=True, max_len=2, min_len=2),
    }
    if out["country"] and not out["country"].isupper():
        address.error("country", "format", "must be an ISO 3166-1 alpha-2 code such as DE")
    return out


async def create_customer(ctx: Ctx) -> Reply:
    body = ctx.body()
    body.only(("type", "name", "email", "phone", "billing_address", "preferred_locale", "tax_id", "currency"))
    currency = body.str("currency", max_len=3, min_len=3, default=ctx.tenant.currency)
    if currency and not (currency.isascii() and currency.isalpha() and currency.isupper()):
        body.error("currency", "format", "must be an ISO 4217 code such as EUR")
    customer_type = body.str("type", required=True, enum=("business", "individual"))
    name = body.str("name", required=True, max_len=200)
    email = body.str("email", max_len=254)
    phone = body.str("phone", max_len=16)
    locale = body.str("preferred_locale", max_len=35, default="en")
    tax_id = body.str("tax_id", max_len=50)
    address = read_address(body, "billing_address", required=False)
    if email and not EMAIL.match(email):
        body.error("email", "format", "must be an email address")
    if phone and not E164.match(phone):
        body.error("phone", "format", "must be an E.164 number such as +4930123456")
    if locale and not LOCALE_TAG.match(locale):
        body.error("preferred_locale", "format", "must be a BCP 47 tag such as de or en-GB")
    body.done()
    customer = {
        "id": ctx.state.ids.new("cus"), "object": "customer", "type": customer_type, "name": name,
        "email": email, "phone": phone, "billing_address": address, "preferred_locale": locale,
        "tax_id": tax_id, "status": "active", "currency": currency, "livemode": False,
        "created_at": iso(ctx.now), "updated_at": iso(ctx.now),
    }
    ctx.tenant.col("customers")[customer["id"]] = customer
    ctx.emit("customer.created", customer)
    return Reply(customer_view(ctx, customer, True), 201,
                 {"Location": ctx.url_for_path(f"/customers/{customer['id']}")})


async def get_customer(ctx: Ctx) -> Reply:
    return Reply(customer_view(ctx, ctx.tenant.get("customers", ctx.pid), True))


# -- sites ---------------------------------------------------------------------------------------
def site_view(ctx: Ctx, site: dict[str, Any]) -> dict[str, Any]:
    tenant = ctx.tenant
    today = ctx.now.date().isoformat()
    out = public(site)
    out["asset_count"] = sum(1 for a in tenant.col("assets").values() if a.get("site_id") == site["id"])
    out["active_contract_ids"] = [c["id"] for c in tenant.col("contracts").values()
                                  if c["site_id"] == site["id"] and c["start_date"] <= today < c["end_date"]]
    wos = [w for w in tenant.col("work_orders").values() if w["site_id"] == site["id"]]
    out["open_work_order_count"] = sum(1 for w in wos if w["status"] in OPEN_WO)
    done = [w["completed_at"] for w in wos if w.get("completed_at")]
    out["last_service_at"] = max(done) if done else None
    return out


async def list_sites(ctx: Ctx) -> Reply:
    customer = ctx.q_str("customer_id")
    text = (ctx.q_str("q") or "").lower()
    postal = ctx.q_str("postal_code")
    country = ctx.q_str("country")
    ctx.check_query()

    def keep(s: dict[str, Any]) -> bool:
        address = s["address"]
        return ((not customer or s["customer_id"] == customer)
                and (not text or text in f"{s['name']} {address['line1']} {address['city']}".lower())
                and (not postal or address.get("postal_code") == postal)
                and (not country or address["country"] == country.upper()))

    rows = [s for s in ctx.tenant.col("sites").values() if keep(s)]
    return list_reply(ctx, rows, view=lambda s: site_view(ctx, s))


async def create_site(ctx: Ctx) -> Reply:
    body = ctx.body()
    body.only(("customer_id", "name", "address", "geo", "timezone", "access_notes", "primary_contact"))
    customer_id = body.str("customer_id", required=True, max_len=64)
    name = body.str("name", required=True, max_len=200)
    address = read_address(body, "address", required=True)
    geo_body = body.obj("geo")
    geo = None
    if geo_body is not None:
        lat, lng = geo_body.raw("lat"), geo_body.raw("lng")
        if not isinstance(lat, int | float) or isinstance(lat, bool) or not -90 <= lat <= 90:
            geo_body.error("lat", "range", "must be a number from -90 to 90")
        if not isinstance(lng, int | float) or isinstance(lng, bool) or not -180 <= lng <= 180:
            geo_body.error("lng", "range", "must be a number from -180 to 180")
        geo = {"lat": lat, "lng": lng}
    timezone = body.str("timezone", max_len=64, default="UTC")
    access_notes = body.str("access_notes", max_len=2000)
    contact_body = body.obj("primary_contact")
    contact = None
    if contact_body is not None:
        contact = {"name": contact_body.str("name", max_len=200), "phone": contact_body.str("phone", max_len=16),
                   "email": contact_body.str("email", max_len=254)}
    if customer_id and ctx.tenant.find("customers", customer_id) is None:
        body.error("customer_id", "not-found", f"no customer '{customer_id}'")
    body.done()
    site = {
        "id": ctx.state.ids.new("site"), "object": "site", "customer_id": customer_id, "name": name,
        "address": address, "geo": geo, "timezone": timezone, "access_notes": access_notes,
        "primary_contact": contact, "livemode": False, "created_at": iso(ctx.now), "updated_at": iso(ctx.now),
    }
    ctx.tenant.col("sites")[site["id"]] = site
    ctx.emit("site.created", site)
    return Reply(site_view(ctx, site), 201, {"Location": ctx.url_for_path(f"/sites/{site['id']}")})


async def get_site(ctx: Ctx) -> Reply:
    return Reply(site_view(ctx, ctx.tenant.get("sites", ctx.pid)))


OPERATIONS = [
    Operation("GET", "/technicians", "listTechnicians", "safe", list_technicians),
    Operation("GET", "/customers", "listCustomers", "safe", list_customers),
    Operation("POST", "/customers", "createCustomer", "key-optional", create_customer),
    Operation("GET", "/customers/{customer_id}", "getCustomer", "safe", get_customer),
    Operation("GET", "/sites", "listSites", "safe", list_sites),
    Operation("POST", "/sites", "createSite", "key-optional", create_site),
    Operation("GET", "/sites/{site_id}", "getSite", "safe", get_site),
]
