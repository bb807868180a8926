"""Companies (partner: list the authorising companies, create one) and company managers."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from starlette.responses import JSONResponse, Response

from ops_mcp.sandbox.remote import forms
from ops_mcp.sandbox.remote.auth import issue_company_tokens
from ops_mcp.sandbox.remote.country_data import COUNTRIES, currency_of
from ops_mcp.sandbox.remote.envelopes import json_body, query, query_choice, require_fields
from ops_mcp.sandbox.remote.errors import ApiError, conflict, forbidden, invalid
from ops_mcp.sandbox.remote.routing import Ctx, Router
from ops_mcp.sandbox.remote.seed import DEPARTMENTS
from ops_mcp.sandbox.remote.store import public

router = Router()

CURRENCIES = ("AUD", "CAD", "CHF", "DKK", "EUR", "GBP", "JPY", "NOK", "NZD", "SEK", "SGD", "USD")
ROLES = ("admin", "onboarding_manager", "people_manager")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TERMS_MAX_AGE_SECONDS = 15 * 60
CREATE_FIELDS = {"name", "company_owner_email", "company_owner_name", "country_code", "desired_currency",
                 "terms_of_service_accepted_at", "address_details", "bank_account_details", "tax_number",
                 "registration_number", "phone_number", "email_domain", "external_id"}


@router.op("GET", "/v1/companies", "company:read")
async def list_companies(ctx: Ctx) -> Response:
    companies = [ctx.state.data["companies"][cid] for cid in ctx.principal.company_ids
                 if cid in ctx.state.data["companies"]]
    external_id = query(ctx.request, "external_id")
    if external_id:
        companies = [c for c in companies if c.get("external_id") == external_id]
    return JSONResponse({"data": {"companies": [public(c) for c in companies]}})


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


@router.op("POST", "/v1/companies", "company:write")
async def create_company(ctx: Ctx) -> Response:
    if ctx.principal.client_id is None:
        raise forbidden()  # companies are created by partners, not with a company's own API token
    action = query_choice(ctx.request, "action", ("get_oauth_access_tokens", "send_create_password_email"))
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
        "company_owner_user_id": state.new_id(), "address_details": body.get("address_details"),
        "bank_account_details": body.get("bank_account_details"), "tax_number": body.get("tax_number"),
        "registration_number": body.get("registration_number"), "phone_number": body.get("phone_number"),
        "email_domain": body.get("email_domain") or body["company_owner_email"].split("@")[1],
        "terms_of_service_accepted_at": body["terms_of_service_accepted_at"], "created_at": now, "updated_at": now,
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
    state.counters["companies_created"] += 1
    data: dict[str, Any] = {"company": public(company)}
    if action == "get_oauth_access_tokens":
        data["tokens"] = issue_company_tokens(state, ctx.principal.client_id, ctx.principal.scopes, company_id)
    return JSONResponse({"data": data}, status_code=201)


@router.op("POST", "/v1/company-managers", "company_manager:write")
async def create_company_manager(ctx: Ctx) -> Response:
    query_choice(ctx.request, "actions", ("no_invite",))
    body = await json_body(ctx.request)
    require_fields(body, "name", "email", "role")
    unknown = sorted(set(body) - {"name", "email", "role", "company_id"})
    if unknown:
        raise invalid({k: ["is not a permitted field"] for k in unknown})
    errors: dict[str, list[str]] = {}
    if not isinstance(body["name"], str):
        errors["name"] = ["is invalid"]
    if not isinstance(body["email"], str) or not EMAIL.match(body["email"]):
        errors["email"] = ["has invalid format"]
    if body["role"] not in ROLES:
        errors["role"] = ["is invalid"]
    if errors:
        raise invalid(errors)
    company_id = ctx.acting_company(body)
    state = ctx.state
    if any(m["_company_id"] == company_id and m["user_email"].lower() == body["email"].lower()
           for m in state.data["managers"].values()):
        raise conflict("A company manager with this email already exists")
    user_id = state.new_id()
    manager = {"company_id": company_id, "user_id": user_id, "user_name": body["name"],
               "user_email": body["email"], "role": body["role"], "_company_id": company_id}
    state.data["managers"][user_id] = manager
    state.counters["company_managers_created"] += 1
    await ctx.emit("company.manager_created", company_id, user_id=user_id)
    return JSONResponse({"data": {"company_manager": public(manager)}}, status_code=201)
