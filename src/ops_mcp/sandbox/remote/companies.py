"""Companies: list the authorising companies and create one (partner, client credentials); show
and update the token's own company, its legal entities; company currencies; token identity."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from starlette.responses import JSONResponse, Response

from ops_mcp.sandbox.remote import forms
from ops_mcp.sandbox.remote.auth import ANY, CLIENT_CREDENTIALS, COMPANY, PARTNERS
from ops_mcp.sandbox.remote.country_data import COUNTRIES, currency_of
from ops_mcp.sandbox.remote.envelopes import json_body, paginated, query, require_fields, single
from ops_mcp.sandbox.remote.errors import ApiError, invalid
from ops_mcp.sandbox.remote.oauth import company_token_body
from ops_mcp.sandbox.remote.routing import Ctx, Router
from ops_mcp.sandbox.remote.seed import DEPARTMENTS
from ops_mcp.sandbox.remote.store import public

router = Router()

CURRENCIES = ("AUD", "CAD", "CHF", "DKK", "EUR", "GBP", "JPY", "NOK", "NZD", "SEK", "SGD", "USD")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TERMS_MAX_AGE_SECONDS = 15 * 60
CREATE_FIELDS = {"name", "company_owner_email", "company_owner_name", "country_code", "desired_currency",
                 "terms_of_service_accepted_at", "address_details", "bank_account_details", "tax_number",
                 "registration_number", "phone_number", "email_domain", "external_id"}


UPDATE_FIELDS = {"name", "country_code", "desired_currency", "address_details", "bank_account_details",
                 "phone_number", "registration_number", "tax_number"}


@router.op("GET", "/v1/companies", "company:read", token=CLIENT_CREDENTIALS)
async def list_companies(ctx: Ctx) -> Response:
    companies = [ctx.state.data["companies"][cid] for cid in ctx.principal.company_ids
                 if cid in ctx.state.data["companies"]]
    external_id = query(ctx.request, "external_id")
    if external_id:
        companies = [c for c in companies if c.get("external_id") == external_id]
    # Remote answers this list without the `data` wrapper (its spec's CompaniesResponse).
    return JSONResponse({"companies": [public(c) for c in companies]})


def _terms_errors(ctx: Ctx, value: Any) -> list[str]:
    if not isinstance(value, str):
        return ["is invalid"]
    try:
        accepted = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return ["is invalid"]
    if accepted.tzinfo is None:
        return ["must include a time zone"]
    age = (ctx.state.now() - accepted).total_seconds()
    if age > TERMS_MAX_AGE_SECONDS:
        return ["must be at most 15 minutes old"]
    if age < -60:
        return ["can't be in the future"]
    return []


def _validate_company(ctx: Ctx, body: dict[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for name in ("name", "company_owner_name", "company_owner_email"):
        if not isinstance(body[name], str) or not body[name].strip():
            errors[name] = ["is invalid"]
    if "company_owner_email" not in errors and not EMAIL.match(body["company_owner_email"]):
        errors["company_owner_email"] = ["has invalid format"]
    if body["country_code"] not in COUNTRIES:
        errors["country_code"] = ["is not a supported country"]
    if body["desired_currency"] not in CURRENCIES:
        errors["desired_currency"] = ["is invalid"]
    terms = _terms_errors(ctx, body["terms_of_service_accepted_at"])
    if terms:
        errors["terms_of_service_accepted_at"] = terms
    if body.get("tax_number") and body.get("registration_number"):
        errors["tax_number"] = ["give either tax_number or registration_number, not both"]
    for name in ("tax_number", "registration_number", "phone_number", "email_domain", "external_id"):
        if name in body and body[name] is not None and not isinstance(body[name], str):
            errors[name] = ["is invalid"]
    if "address_details" in body and "country_code" not in errors:
        code = body["country_code"]
        schema = forms.load_form(code, "address_details", currency_of(code), ctx.state.today)
        if not isinstance(body["address_details"], dict):
            errors["address_details"] = ["Should be object"]
        else:
            errors.update(forms.validate(schema, body["address_details"], prefix="address_details"))
    return errors


@router.op("POST", "/v1/companies", "company:write", token=CLIENT_CREDENTIALS)
async def create_company(ctx: Ctx) -> Response:
    # `action` is a free string in Remote's spec; the emulator acts on get_oauth_access_tokens.
    action = query(ctx.request, "action")
    body = await json_body(ctx.request)
    require_fields(body, "name", "company_owner_email", "company_owner_name", "country_code", "desired_currency",
                   "terms_of_service_accepted_at")
    unknown = sorted(set(body) - CREATE_FIELDS)
    if unknown:
        raise invalid({k: ["is not a permitted field"] for k in unknown})
    errors = _validate_company(ctx, body)
    if errors:
        raise invalid(errors)
    state = ctx.state
    for existing in state.data["companies"].values():
        same_name = existing["name"].strip().lower() == body["name"].strip().lower()
        same_owner = existing["company_owner_email"].lower() == body["company_owner_email"].lower()
        if same_name or same_owner:
            raise ApiError(409, {"message": {
                "code": "company_already_exists",
                "message": "A company with this name or owner email already exists",
                "resource_id": existing["id"], "resource_type": "company",
            }})
    company_id = state.new_id()
    now = state.now_iso()
    company = {
        "id": company_id, "name": body["name"], "status": "pending", "country_code": body["country_code"],
        "desired_currency": body["desired_currency"], "external_id": body.get("external_id"),
        "company_owner_email": body["company_owner_email"], "company_owner_name": body["company_owner_name"],
        "company_owner_user_id": state.new_id(), "address_details": body.get("address_details") or {},
        "bank_account_details": body.get("bank_account_details"), "tax_number": body.get("tax_number"),
        "registration_number": body.get("registration_number"), "phone_number": body.get("phone_number"),
        "email_domain": body.get("email_domain") or body["company_owner_email"].split("@")[1],
        "terms_of_service_accepted_at": body["terms_of_service_accepted_at"], "created_at": now, "updated_at": now,
        "default_legal_entity_credit_risk_status": "not_started",
        "_slug": f"company-{company_id[:8]}", "_company_id": company_id,
        "_departments": {name: state.new_id() for name in DEPARTMENTS},
        "_partners": [ctx.principal.client_id],
    }
    state.data["companies"][company_id] = company
    owner_id = company["company_owner_user_id"]
    state.data["managers"][owner_id] = {
        "company_id": company_id, "user_id": owner_id, "user_name": body["company_owner_name"],
        "user_email": body["company_owner_email"], "role": "admin", "_company_id": company_id,
    }
    for name in DEPARTMENTS:
        department_id = company["_departments"][name]
        state.data["departments"][department_id] = {"id": department_id, "name": name, "company_id": company_id,
                                                     "_company_id": company_id}
    entity_id = state.new_id()
    state.data["legal_entities"][entity_id] = {
        "id": entity_id, "name": body["name"], "country_code": body["country_code"], "global_payroll_enabled": False,
        "is_default": True, "_company_id": company_id}
    state.counters["companies_created"] += 1
    data: dict[str, Any] = {"company": public(company)}
    if action == "get_oauth_access_tokens":
        client_id = ctx.principal.client_id or ""
        tokens = company_token_body(state, client_id, ctx.principal.scopes, company_id, owner_id)
        data["tokens"] = {k: tokens[k] for k in ("access_token", "refresh_token", "expires_in")}
    return JSONResponse({"data": data}, status_code=201)


@router.op("GET", "/v1/companies/{company_id}", "company:read")
async def show_company(ctx: Ctx) -> Response:
    return single("company", ctx.own_company(ctx.param("company_id")))


@router.op("PATCH", "/v1/companies/{company_id}", "company:write")
async def update_company(ctx: Ctx) -> Response:
    company = ctx.own_company(ctx.param("company_id"))
    body = await json_body(ctx.request)
    unknown = sorted(set(body) - UPDATE_FIELDS)
    if unknown:
        raise invalid({k: ["is not a permitted field"] for k in unknown})
    if not body:
        raise invalid({"base": ["Nothing to update"]})
    errors: dict[str, list[str]] = {}
    for name in ("name", "phone_number", "registration_number", "tax_number"):
        if name in body and (not isinstance(body[name], str) or not body[name].strip()):
            errors[name] = ["is invalid"]
    if "desired_currency" in body and body["desired_currency"] not in CURRENCIES:
        errors["desired_currency"] = ["is invalid"]
    country = body.get("country_code", company["country_code"])
    if country not in COUNTRIES:
        errors["country_code"] = ["is not a supported country"]
    elif "address_details" in body:
        if not isinstance(body["address_details"], dict):
            errors["address_details"] = ["Should be object"]
        else:
            schema = forms.load_form(country, "address_details", currency_of(country), ctx.state.today)
            errors.update(forms.validate(schema, body["address_details"], prefix="address_details"))
    if "bank_account_details" in body and not isinstance(body["bank_account_details"], dict):
        errors["bank_account_details"] = ["Should be object"]
    if errors:
        raise invalid(errors)
    company.update(body)
    company["updated_at"] = ctx.state.now_iso()
    return single("company", company)


@router.op("GET", "/v1/companies/{company_id}/legal-entities", "company:read")
async def list_legal_entities(ctx: Ctx) -> Response:
    company = ctx.own_company(ctx.param("company_id"))
    entities = sorted(ctx.state.records("legal_entities", (company["id"],)),
                      key=lambda e: (not e["is_default"], e["name"]))
    return paginated(ctx.request, "legal_entities", entities)


@router.op("GET", "/v1/company-currencies", "company_currencies:read", token=ANY)
async def list_company_currencies(_ctx: Ctx) -> Response:
    return JSONResponse({"data": {"company_currencies": [
        {"code": code, "slug": code.lower()} for code in CURRENCIES]}})


@router.op("GET", "/v1/identity/current", None, token=ANY)
async def show_identity(ctx: Ctx) -> Response:
    principal = ctx.principal
    data: dict[str, Any] = {}
    if principal.client_id is not None:
        partner = PARTNERS.get(principal.client_id)
        name = partner.name if partner else principal.client_id
        data["client_id"] = principal.client_id
        data["integration"] = {"name": name.lower().replace(" ", "_"), "display_name": name,
                               "contact_email": "integrations@partner.example"}
    if principal.kind == COMPANY:
        company = ctx.state.data["companies"][ctx.company_id]
        user = ctx.state.data["managers"].get(principal.user_id or "")
        data["company"] = {"id": company["id"], "name": company["name"]}
        data["user"] = {"id": user["user_id"], "name": user["user_name"], "email": user["user_email"],
                        "status": "active"} if user else None
    return JSONResponse({"data": data})
