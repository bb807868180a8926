"""Employments v2: one PUT per form block (`/v2/employments/{id}/address-details`, …) and the
basic-information read. Each block is validated against the country's form; which blocks may
change follows the employment's status as for PATCH /v1/employments (created: all; invited: none;
active: address and emergency contact). Answers the employment's details (status, user status
and form blocks)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ops_mcp.sandbox.remote import forms
from ops_mcp.sandbox.remote.country_data import currency_of
from ops_mcp.sandbox.remote.employments import allowed_keys, check_schema_version, store_update
from ops_mcp.sandbox.remote.envelopes import json_body, single
from ops_mcp.sandbox.remote.errors import invalid, invalid_field
from ops_mcp.sandbox.remote.routing import Ctx, Router

router = Router()

# path suffix -> body key
BLOCKS = {
    "address-details": "address_details", "administrative-details": "administrative_details",
    "bank-account-details": "bank_account_details", "basic-information": "basic_information",
    "billing-address-details": "billing_address_details", "contract-details": "contract_details",
    "emergency-contact": "emergency_contact_details", "personal-details": "personal_details",
    "pricing-plan-details": "pricing_plan_details",
}
BLOCK_KEYS = ("basic_information", "address_details", "administrative_details", "billing_address_details",
              "contract_details", "emergency_contact_details", "personal_details", "pricing_plan_details")
USER_STATUS = {"active": "active", "offboarding": "active", "invited": "initiated", "initiated": "initiated",
               "pending": "initiated", "review": "active", "job_title_review": "active", "archived": "inactive",
               "deleted": "deleted"}


def details(record: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"id": record["id"], "status": record["status"], "type": record["type"],
                            "user_status": USER_STATUS.get(record["status"], "created"),
                            "updated_at": record["updated_at"]}
    for key in BLOCK_KEYS:
        body[key] = record.get(key)
    body["bank_account_details"] = record.get("bank_account_details") or []
    return body


def _updater(key: str):
    async def update_block(ctx: Ctx) -> Response:
        check_schema_version(ctx)
        record = ctx.get("employments", ctx.param("employment_id"), "Employment")
        body = await json_body(ctx.request)
        unknown = sorted(set(body) - {key})
        if unknown:
            raise invalid({k: ["is not a permitted field"] for k in unknown})
        if key not in body:
            raise invalid_field(key, "can't be blank")
        if record["type"] == "contractor":
            raise invalid({"base": ["Contractor employments cannot be updated through this endpoint"]})
        allowed = allowed_keys(record["status"])
        if allowed is not None and key not in allowed:
            raise invalid_field(key, f"cannot be updated while the employment is {record['status']}")
        value = body[key]
        if not isinstance(value, dict):
            raise invalid_field(key, "Should be object")
        country = record["country"]["code"]
        schema = forms.load_form(country, forms.BODY_KEY_TO_FORM[key], currency_of(country), ctx.state.today)
        errors = forms.validate(schema, value, prefix=key)
        if errors:
            raise invalid(errors)
        store_update(ctx, record, {key: value})
        await ctx.emit("employment.updated", record["_company_id"], employment_id=record["id"])
        return single("employment", details(record))

    update_block.__name__ = f"update_{key}"
    return update_block


for suffix, key in BLOCKS.items():
    router.op("PUT", f"/v2/employments/{{employment_id}}/{suffix}", "employment:write")(_updater(key))


@router.op("GET", "/v2/employments/{employment_id}/basic-information", "employment:read")
async def show_basic_information(ctx: Ctx) -> Response:
    check_schema_version(ctx)
    record = ctx.get("employments", ctx.param("employment_id"), "Employment")
    return single("employment", details(record))
