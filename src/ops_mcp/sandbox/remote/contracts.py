"""Employment contracts, pending contract changes, and contract amendments (+ their form)."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from ops_mcp.sandbox.remote import forms
from ops_mcp.sandbox.remote.country_data import COUNTRIES, currency_of
from ops_mcp.sandbox.remote.envelopes import json_body, paginated, query, query_bool, require_fields, single
from ops_mcp.sandbox.remote.errors import conflict, invalid, invalid_field, not_found
from ops_mcp.sandbox.remote.routing import Ctx, Router
from ops_mcp.sandbox.remote.store import public

router = Router()

AMENDMENT_STATUSES = ("submitted", "in_review", "done", "canceled", "deleted")
OPEN_AMENDMENT = ("submitted", "in_review")
SUMMARY_FIELDS = ("id", "employment_id", "job_title", "reason_for_change", "requested_by",
                  "requested_effective_date", "status", "submitted_at")


@router.op("GET", "/v1/employment-contracts", "contract:read")
async def list_contracts(ctx: Ctx) -> Response:
    employment_id = query(ctx.request, "employment_id")
    if not employment_id:
        raise invalid_field("employment_id", "can't be blank")
    ctx.get("employments", employment_id, "Employment")
    only_active = query_bool(ctx.request, "only_active")
    contracts = [c for c in ctx.state.data["contracts"].values() if c["employment_id"] == employment_id]
    if only_active:
        contracts = [c for c in contracts if c["status"] == "active"]
    contracts.sort(key=lambda c: c["effective_at"], reverse=True)
    return JSONResponse({"data": {"employment_contracts": [public(c) for c in contracts]}})


@router.op("GET", "/v1/employment-contracts/{employment_id}/pending-changes", "contract:read")
async def pending_changes(ctx: Ctx) -> Response:
    employment = ctx.get("employments", ctx.param("employment_id"), "Employment")
    changes = [
        {
            "contract_id": a["amendment_contract_id"] or employment["active_contract_id"] or a["id"],
            "effective_at": f"{a['requested_effective_date']}T00:00:00Z",
            "changes": a["changes"],
            "pending_action_for_activation": a["status"] == "in_review",
        }
        for a in ctx.state.data["amendments"].values()
        if a["employment_id"] == employment["id"] and a["status"] in OPEN_AMENDMENT
    ]
    return JSONResponse({"data": {"pending_changes": changes}})


@router.op("GET", "/v1/contract-amendments", "contract_amendment:read")
async def list_amendments(ctx: Ctx) -> Response:
    records = ctx.state.records("amendments", ctx.company_ids)
    employment_id = query(ctx.request, "employment_id")
    if employment_id:
        records = [r for r in records if r["employment_id"] == employment_id]
    status = query(ctx.request, "status")
    if status:
        if status not in AMENDMENT_STATUSES:
            raise invalid_field("status", "is invalid")
        records = [r for r in records if r["status"] == status]
    records.sort(key=lambda r: (r["submitted_at"], r["id"]), reverse=True)
    return paginated(ctx.request, "contract_amendments", [{k: r.get(k) for k in SUMMARY_FIELDS} for r in records])


def _amendment_form(ctx: Ctx, employment: dict[str, Any], country: str | None = None) -> dict[str, Any]:
    code = country or employment["country"]["code"]
    if code not in COUNTRIES:
        raise not_found("Country")
    return forms.load_form(code, "contract_amendment", currency_of(code), ctx.state.today)


@router.op("GET", "/v1/contract-amendments/schema", "contract_amendment:read")
async def amendment_schema(ctx: Ctx) -> Response:
    employment_id = query(ctx.request, "employment_id")
    if not employment_id:
        raise invalid_field("employment_id", "can't be blank")
    form = query(ctx.request, "form") or "contract_amendment"
    if form != "contract_amendment":
        raise invalid_field("form", "is invalid")
    employment = ctx.get("employments", employment_id, "Employment")
    return JSONResponse({"data": _amendment_form(ctx, employment, query(ctx.request, "country_code"))})


@router.op("GET", "/v1/contract-amendments/{id}", "contract_amendment:read")
async def show_amendment(ctx: Ctx) -> Response:
    return single("contract_amendment", ctx.get("amendments", ctx.param("id"), "Contract amendment"))


@router.op("POST", "/v1/contract-amendments", "contract_amendment:write")
async def create_amendment(ctx: Ctx) -> Response:
    body = await json_body(ctx.request)
    require_fields(body, "employment_id", "amendment_contract_id", "contract_amendment")
    unknown = sorted(set(body) - {"employment_id", "amendment_contract_id", "contract_amendment"})
    if unknown:
        raise invalid({k: ["is not a permitted field"] for k in unknown})
    if not isinstance(body["employment_id"], str) or not isinstance(body["amendment_contract_id"], str):
        raise invalid({k: ["is invalid"] for k in ("employment_id", "amendment_contract_id")
                       if not isinstance(body[k], str)})
    employment = ctx.get("employments", body["employment_id"], "Employment")
    contract = ctx.state.data["contracts"].get(body["amendment_contract_id"])
    if contract is None or contract["employment_id"] != employment["id"]:
        raise invalid_field("amendment_contract_id", "is not a contract of this employment")
    if employment["status"] not in ("active", "offboarding") or contract["status"] != "active":
        raise conflict("Contract amendments can only be requested for an active employment contract")
    request = body["contract_amendment"]
    if not isinstance(request, dict):
        raise invalid_field("contract_amendment", "Should be object")
    errors = forms.validate(_amendment_form(ctx, employment), request, prefix="contract_amendment")
    if errors:
        raise invalid(errors)
    state = ctx.state
    previous = contract["contract_details"]
    changes = {f"contract_details.{k}": {"previous": previous.get(k), "current": v}
               for k, v in request.items() if k in previous and previous.get(k) != v}
    if "job_title" in request and request["job_title"] != employment["job_title"]:
        changes["job_title"] = {"previous": employment["job_title"], "current": request["job_title"]}
    effective = request.get("effective_date") or state.today.isoformat()
    record = {
        "id": state.new_id(), "employment_id": employment["id"], "amendment_contract_id": contract["contract_id"],
        "job_title": request.get("job_title", employment["job_title"]),
        "reason_for_change": request.get("reason_for_change"),
        "requested_by": ctx.principal.client_id or "api_token",
        "requested_effective_date": effective, "effective_date": effective, "status": "submitted",
        "submitted_at": state.now_iso(), "changes": changes, "request_details": request,
        "zendesk_ticket_url": None, "_company_id": employment["_company_id"],
    }
    state.data["amendments"][record["id"]] = record
    state.counters["contract_amendments_created"] += 1
    await ctx.emit("contract_amendment.submitted", record["_company_id"], employment_id=employment["id"],
                   contract_amendment_id=record["id"])
    return single("contract_amendment", record)
