"""Probation: extension requests and probation completion letters (create, show).

Both are reviewed by Remote: `submitted` -> `in_review` after a day -> `done` after three (sandbox
clock). A completion letter gets its file once done.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from starlette.responses import Response

from ops_mcp.sandbox.remote.envelopes import json_body, require_fields, single
from ops_mcp.sandbox.remote.errors import conflict, invalid, invalid_field
from ops_mcp.sandbox.remote.forms import is_valid_date
from ops_mcp.sandbox.remote.routing import Ctx, Router

router = Router()

EXTENSION_FIELDS = {"employment_id", "duration_of_extension_in_days", "reason_for_extension", "was_employee_informed",
                    "date_of_discussion_with_employee", "additional_details", "supporting_document"}


def settle(ctx: Ctx, record: dict[str, Any]) -> dict[str, Any]:
    submitted = datetime.fromisoformat(record["submitted_at"].replace("Z", "+00:00")).date()
    today: date = ctx.state.today
    if record["status"] == "submitted" and today >= submitted + timedelta(days=1):
        record["status"] = "in_review"
    if record["status"] == "in_review" and today >= submitted + timedelta(days=3):
        record["status"] = "done"
        if "letter" in record and record["letter"] is None:
            record["letter"] = _letter_file(ctx, record)
    return record


def _letter_file(ctx: Ctx, record: dict[str, Any]) -> dict[str, Any]:
    state = ctx.state
    stored = {"id": state.new_id(), "name": "Probation completion letter.pdf", "type": "probation_completion_letter",
              "sub_type": None, "inserted_at": state.now_iso(), "_company_id": record["_company_id"],
              "_employment_id": record["employment_id"]}
    state.data["files"][stored["id"]] = stored
    return {k: v for k, v in stored.items() if not k.startswith("_")}


def _employee(ctx: Ctx, employment_id: Any) -> dict[str, Any]:
    if not isinstance(employment_id, str):
        raise invalid_field("employment_id", "is invalid")
    employment = ctx.get("employments", employment_id, "Employment")
    if employment["type"] == "contractor" or employment["status"] != "active":
        raise conflict("Probation documents exist only for active employees")
    return employment


def _open(ctx: Ctx, collection: str, employment_id: str) -> bool:
    return any(r["employment_id"] == employment_id and settle(ctx, r)["status"] in ("submitted", "in_review")
               for r in ctx.state.data[collection].values())


def _requester(ctx: Ctx, employment: dict[str, Any]) -> str:
    manager = ctx.state.data["managers"].get(ctx.principal.user_id or "")
    return manager["user_email"] if manager else ctx.state.data["companies"][employment["_company_id"]]["company_owner_email"]


@router.op("POST", "/v1/probation-extensions", "probation_document:write")
async def create_extension(ctx: Ctx) -> Response:
    body = await json_body(ctx.request)
    require_fields(body, "employment_id", "duration_of_extension_in_days", "reason_for_extension")
    unknown = sorted(set(body) - EXTENSION_FIELDS)
    errors: dict[str, list[str]] = {k: ["is not a permitted field"] for k in unknown}
    days = body["duration_of_extension_in_days"]
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365:
        errors["duration_of_extension_in_days"] = ["must be a number of days between 1 and 365"]
    if not isinstance(body["reason_for_extension"], str) or not body["reason_for_extension"].strip():
        errors["reason_for_extension"] = ["can't be blank"]
    if not isinstance(body.get("was_employee_informed"), bool):
        errors["was_employee_informed"] = ["must be true or false"]
    discussed = body.get("date_of_discussion_with_employee")
    if discussed is not None and not is_valid_date(discussed):
        errors["date_of_discussion_with_employee"] = ["is invalid"]
    if errors:
        raise invalid(errors)
    employment = _employee(ctx, body["employment_id"])
    if _open(ctx, "probation_extensions", employment["id"]):
        raise conflict("The employment already has a probation extension under review")
    state = ctx.state
    record = {"id": state.new_id(), "employment_id": employment["id"], "requested_by": _requester(ctx, employment),
              "status": "submitted", "submitted_at": state.now_iso(), "zendesk_ticket_url": None,
              "_company_id": employment["_company_id"], "_days": days}
    state.data["probation_extensions"][record["id"]] = record
    await ctx.emit("employment.probation_period_extension.submitted", record["_company_id"],
                   employment_id=employment["id"])
    return single("probation_extension", record)


@router.op("GET", "/v1/probation-extensions/{id}", "probation_document:read")
async def show_extension(ctx: Ctx) -> Response:
    return single("probation_extension", settle(ctx, ctx.get("probation_extensions", ctx.param("id"),
                                                             "Probation extension")))


@router.op("POST", "/v1/probation-completion-letter", "probation_document:write")
async def create_completion_letter(ctx: Ctx) -> Response:
    body = await json_body(ctx.request)
    require_fields(body, "employment_id")
    unknown = sorted(set(body) - {"employment_id"})
    if unknown:
        raise invalid({k: ["is not a permitted field"] for k in unknown})
    employment = _employee(ctx, body["employment_id"])
    if _open(ctx, "probation_letters", employment["id"]):
        raise conflict("A probation completion letter is already being prepared for this employment")
    state = ctx.state
    record = {"id": state.new_id(), "employment_id": employment["id"], "status": "submitted",
              "submitted_at": state.now_iso(), "zendesk_ticket_url": None, "letter": None,
              "_company_id": employment["_company_id"]}
    state.data["probation_letters"][record["id"]] = record
    await ctx.emit("employment.probation_completion_letter.submitted", record["_company_id"],
                   employment_id=employment["id"])
    return single("probation_completion_letter", record)


@router.op("GET", "/v1/probation-completion-letter/{id}", "probation_document:read")
async def show_completion_letter(ctx: Ctx) -> Response:
    return single("probation_completion_letter", settle(ctx, ctx.get("probation_letters", ctx.param("id"),
                                                                     "Probation completion letter")))
