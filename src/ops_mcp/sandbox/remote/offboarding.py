"""Offboarding: termination requests (create, list, show; v1 and v2 views) and resignations (show,
validate, letter).

State machine (Remote reviews offboardings; the sandbox clock drives it):
- termination: `submitted` -> `in_review` two days after submission -> `done` on the proposed
  termination date (which becomes `termination_date`);
- resignation: stays `submitted` until the employer validates it (PUT …/validate), then
  `in_review` -> `done` on the proposed last working day.
`canceled` is Remote's own decision and never reached through the API. The v2 view maps the
statuses to requested / in_review / completed.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from starlette.responses import Response

from ops_mcp.sandbox.common.pdf import render_pdf
from ops_mcp.sandbox.remote.envelopes import (
    action_ok,
    json_body,
    paginated,
    query,
    query_bool,
    query_choice,
    require_fields,
    single,
)
from ops_mcp.sandbox.remote.errors import conflict, invalid, invalid_field, not_found
from ops_mcp.sandbox.remote.forms import is_valid_date
from ops_mcp.sandbox.remote.routing import Ctx, Router

router = Router()

REVIEW_AFTER = timedelta(days=2)
TERMINATION_REASONS = (
    "cancellation_before_start_date", "compliance_issue", "conversion_to_contractor",
    "dissatisfaction_with_remote_service", "end_of_fixed_term_contract_compliance_issue",
    "end_of_fixed_term_contract_incapacity_to_perform_inherent_duties",
    "end_of_fixed_term_contract_local_regulations_max_term_reached", "end_of_fixed_term_contract_misconduct",
    "end_of_fixed_term_contract_operational_reasons", "end_of_fixed_term_contract_other",
    "end_of_fixed_term_contract_performance", "end_of_fixed_term_contract_redundancy",
    "end_of_fixed_term_contract_values", "gross_misconduct", "incapacity_to_perform_inherent_duties",
    "job_abandonment", "mutual_agreement", "other", "performance", "values", "workforce_reduction")
RISK_REASONS = ("caring_responsibilities", "disabled_or_health_condition", "family_leave",
                "member_of_union_or_works_council", "none_of_these", "pregnant_or_breastfeeding",
                "reported_concerns_with_workplace", "requested_medical_or_family_leave", "sick_leave")
DETAIL_FIELDS = {"confidential", "proposed_termination_date", "termination_reason", "reason_description",
                 "risk_assessment_reasons", "will_challenge_termination", "will_challenge_termination_description",
                 "additional_comments", "agrees_to_pto_amount", "employee_awareness", "personal_email",
                 "acknowledge_termination_procedure", "customer_informed_employee"}
V2_STATUS = {"submitted": "requested", "in_review": "in_review", "done": "completed", "canceled": "completed"}
BEFORE_START = {"proposed_resignation_accepted", "proposed_resignation_accepted_notes"}
AFTER_START_REQUIRED = ("accepts_proposed_notice", "agrees_to_pto_amount", "agrees_to_resignation_reason",
                        "has_additional_information", "has_more_salary_info", "is_owed_outstanding_reimbursements",
                        "will_take_more_pto")
AFTER_START = {*AFTER_START_REQUIRED, "agrees_to_pto_amount_notes", "agrees_to_resignation_reason_notes",
               "has_additional_information_notes", "has_more_salary_info_notes", "owed_outstanding_reimbursements",
               "proposed_last_date", "will_take_more_pto_notes"}


def _last_day(record: dict[str, Any]) -> str:
    return record.get("proposed_termination_date") or record["proposed_last_working_day"]


def settle(record: dict[str, Any], today: date) -> dict[str, Any]:
    submitted = datetime.fromisoformat(record["submitted_at"].replace("Z", "+00:00")).date()
    reviewable = record["type"] == "termination" or record.get("_validated")
    if record["status"] == "submitted" and reviewable and today >= submitted + REVIEW_AFTER:
        record["status"] = "in_review"
    if record["status"] == "in_review" and today.isoformat() >= _last_day(record):
        record["status"] = "done"
        record["termination_date"] = _last_day(record)
    return record


def _visible(ctx: Ctx, include_confidential: bool) -> list[dict[str, Any]]:
    records = [settle(r, ctx.state.today) for r in ctx.state.records("offboardings", ctx.company_ids)]
    if not include_confidential:
        records = [r for r in records if not r.get("confidential")]
    return sorted(records, key=lambda r: (r["submitted_at"], r["id"]), reverse=True)


@router.op("GET", "/v1/offboardings", "offboarding:read")
async def list_offboardings(ctx: Ctx) -> Response:
    include = query_choice(ctx.request, "include_confidential", ("true", "false")) == "true"
    records = _visible(ctx, include)
    employment_id = query(ctx.request, "employment_id")
    if employment_id:
        records = [r for r in records if r["employment_id"] == employment_id]
    kind = query_choice(ctx.request, "type", ("termination", "resignation"))
    if kind:
        records = [r for r in records if r["type"] == kind]
    return paginated(ctx.request, "offboardings", records)


@router.op("GET", "/v1/offboardings/employments/{employment_id}", "offboarding:read")
async def list_employment_offboardings(ctx: Ctx) -> Response:
    employment = ctx.get("employments", ctx.param("employment_id"), "Employment")
    records = [r for r in _visible(ctx, True) if r["employment_id"] == employment["id"]]
    return paginated(ctx.request, "offboardings", records)


def _get(ctx: Ctx, name: str = "id") -> dict[str, Any]:
    return settle(ctx.get("offboardings", ctx.param(name), "Offboarding"), ctx.state.today)


@router.op("GET", "/v1/offboardings/{id}", "offboarding:read")
async def show_offboarding(ctx: Ctx) -> Response:
    return single("offboarding", _get(ctx))


def _check_details(ctx: Ctx, details: Any) -> dict[str, list[str]]:
    if not isinstance(details, dict):
        return {"termination_details": ["Should be object"]}
    errors: dict[str, list[str]] = {}
    for name in ("confidential", "proposed_termination_date", "termination_reason", "reason_description",
                 "risk_assessment_reasons", "will_challenge_termination"):
        if details.get(name) in (None, "", []):
            errors[f"termination_details.{name}"] = ["can't be blank"]
    for name in sorted(set(details) - DETAIL_FIELDS):
        errors[f"termination_details.{name}"] = ["is not a permitted field"]
    for name in ("confidential", "will_challenge_termination"):
        if name in details and not isinstance(details[name], bool):
            errors[f"termination_details.{name}"] = ["must be true or false"]
    proposed = details.get("proposed_termination_date")
    if proposed is not None and not is_valid_date(proposed):
        errors["termination_details.proposed_termination_date"] = ["is invalid"]
    elif proposed is not None and proposed < ctx.state.today.isoformat():
        errors["termination_details.proposed_termination_date"] = ["can't be in the past"]
    if "termination_reason" in details and details["termination_reason"] not in TERMINATION_REASONS:
        errors["termination_details.termination_reason"] = ["is invalid"]
    reasons = details.get("risk_assessment_reasons")
    if reasons is not None and (not isinstance(reasons, list) or any(r not in RISK_REASONS for r in reasons)):
        errors["termination_details.risk_assessment_reasons"] = ["contains values that are not allowed"]
    if details.get("will_challenge_termination") is True and \
            not str(details.get("will_challenge_termination_description") or "").strip():
        errors["termination_details.will_challenge_termination_description"] = [
            "can't be blank when the employee will challenge the termination"]
    return errors


@router.op("POST", "/v1/offboardings", "offboarding:write")
async def create_offboarding(ctx: Ctx) -> Response:
    body = await json_body(ctx.request)
    require_fields(body, "employment_id", "type", "termination_details")
    unknown = sorted(set(body) - {"employment_id", "type", "termination_details"})
    if unknown:
        raise invalid({k: ["is not a permitted field"] for k in unknown})
    if body["type"] != "termination":
        raise invalid_field("type", "must be termination (employees resign themselves)")
    if not isinstance(body["employment_id"], str):
        raise invalid_field("employment_id", "is invalid")
    employment = ctx.get("employments", body["employment_id"], "Employment")
    errors = _check_details(ctx, body["termination_details"])
    if errors:
        raise invalid(errors)
    if employment["status"] != "active":
        raise conflict(f"Only active employments can be terminated; this one is {employment['status']}")
    state = ctx.state
    if any(r["employment_id"] == employment["id"] and settle(r, state.today)["status"] in ("submitted", "in_review")
           for r in state.data["offboardings"].values()):
        raise conflict("The employment already has an offboarding in progress")
    details = body["termination_details"]
    company = state.data["companies"][employment["_company_id"]]
    manager = state.data["managers"].get(ctx.principal.user_id or "")
    record = {
        "id": state.new_id(), "employment_id": employment["id"], "type": "termination", "status": "submitted",
        "offboarding_id": None, "requested_by": manager["user_email"] if manager else company["company_owner_email"],
        "submitted_at": state.now_iso(), "termination_date": None, "confidential": details["confidential"],
        "proposed_termination_date": details["proposed_termination_date"],
        "termination_reason": details["termination_reason"], "reason_description": details["reason_description"],
        "risk_assessment_reasons": list(details["risk_assessment_reasons"]),
        "will_challenge_termination": details["will_challenge_termination"],
        "additional_comments": details.get("additional_comments"),
        "agrees_to_pto_amount": bool(details.get("agrees_to_pto_amount")),
        "employee_awareness": details.get("employee_awareness") or {"date": None, "note": None},
        "personal_email": details.get("personal_email") or employment["personal_email"],
        "_company_id": employment["_company_id"],
    }
    if details.get("will_challenge_termination_description"):
        record["will_challenge_termination_description"] = details["will_challenge_termination_description"]
    state.data["offboardings"][record["id"]] = record
    employment.update(status="offboarding", updated_at=state.now_iso())
    state.counters["offboardings_created"] += 1
    await ctx.emit("offboarding.submitted", record["_company_id"], employment_id=employment["id"],
                   offboarding_id=record["id"])
    return single("offboarding", record, status=201)


def _v2(record: dict[str, Any]) -> dict[str, Any]:
    if record["type"] == "termination":
        request = {k: record.get(k) for k in ("additional_comments", "agrees_to_pto_amount", "employee_awareness",
                                             "proposed_termination_date", "reason_description",
                                             "risk_assessment_reasons", "will_challenge_termination")}
        reason = record["termination_reason"]
    else:
        request = {k: record.get(k) for k in ("additional_comments", "employer_awareness",
                                             "proposed_last_working_day", "reason_description")}
        reason = record["resignation_reason"]
    return {"id": record["id"], "employment_id": record["employment_id"], "inserted_at": record["submitted_at"],
            "type": record["type"], "status": V2_STATUS[record["status"]], "confidential": record.get("confidential"),
            "reason": reason, "termination_date": record["termination_date"], "request": request}


@router.op("GET", "/v2/offboardings", "offboarding:read")
async def list_offboardings_v2(ctx: Ctx) -> Response:
    records = _visible(ctx, bool(query_bool(ctx.request, "include_confidential")))
    employment_id = query(ctx.request, "employment_id")
    if employment_id:
        records = [r for r in records if r["employment_id"] == employment_id]
    kind = query_choice(ctx.request, "type", ("termination", "resignation", "cancellation", "relocation", "transfer",
                                              "conversion"))
    if kind:
        records = [r for r in records if r["type"] == kind]
    return paginated(ctx.request, "offboardings", [_v2(r) for r in records])


@router.op("GET", "/v2/offboardings/{id}", "offboarding:read")
async def show_offboarding_v2(ctx: Ctx) -> Response:
    return single("offboarding", _v2(_get(ctx)))


def _resignation(ctx: Ctx) -> dict[str, Any]:
    record = _get(ctx, "offboarding_request_id")
    if record["type"] != "resignation":
        raise not_found("Resignation")
    return record


def _started(ctx: Ctx, employment: dict[str, Any]) -> bool:
    return (employment.get("provisional_start_date") or "") <= ctx.state.today.isoformat()


@router.op("GET", "/v1/resignations/{offboarding_request_id}", "resignation:read")
async def show_resignation(ctx: Ctx) -> Response:
    record = _resignation(ctx)
    employment = ctx.state.data["employments"][record["employment_id"]]
    contract = (employment.get("contract_details") or {})
    body: dict[str, Any] = {
        "contract_job_title": employment["job_title"], "contract_start_date": employment["provisional_start_date"],
        "resignation_date": record["submitted_at"][:10],
        "resignation_reason_label": record["resignation_reason"].replace("_", " ").capitalize(),
    }
    if _started(ctx, employment):
        start = date.fromisoformat(employment["provisional_start_date"])
        probation_end = start + timedelta(days=int(contract.get("probation_length_days") or 90))
        body.update({
            "contract_currency_code": employment["_currency"],
            "contract_proabtion_period_passed": probation_end <= ctx.state.today,  # (sic) Remote's field name
            "contract_probation_period_end_date": probation_end.isoformat(), "days_of_notice": 30,
            "proposed_last_day": record["proposed_last_working_day"],
            "paid_timeoffs_breakdown_labels": ["Annual paid time off taken this year"],
        })
    return single("resignation", body)


@router.op("PUT", "/v1/resignations/{offboarding_request_id}/validate", "resignation:write")
async def validate_resignation(ctx: Ctx) -> Response:
    record = _resignation(ctx)
    body = await json_body(ctx.request)
    employment = ctx.state.data["employments"][record["employment_id"]]
    allowed, required = (AFTER_START, AFTER_START_REQUIRED) if _started(ctx, employment) else \
        (BEFORE_START, ("proposed_resignation_accepted",))
    errors: dict[str, list[str]] = {k: ["is not a permitted field for this resignation"] for k in sorted(set(body) - allowed)}
    for name in required:
        if not isinstance(body.get(name), bool):
            errors[name] = ["must be true or false"]
    if errors:
        raise invalid(errors)
    if record["status"] != "submitted" or record.get("_validated"):
        raise conflict(f"The resignation was already validated (status {record['status']})")
    record["_validated"] = True
    record["_validation"] = body
    record["status"] = "in_review"
    await ctx.emit("offboarding.review_started", record["_company_id"], employment_id=record["employment_id"],
                   offboarding_id=record["id"])
    return action_ok()


@router.op("GET", "/v1/resignations/{offboarding_request_id}/resignation-letter", "resignation_letter:read")
async def resignation_letter(ctx: Ctx) -> Response:
    record = _resignation(ctx)
    employment = ctx.state.data["employments"][record["employment_id"]]
    pdf = render_pdf([
        "Resignation letter", f"From: {employment['full_name']}", f"Position: {employment['job_title']}",
        f"Submitted: {record['submitted_at'][:10]}", f"Last working day: {record['proposed_last_working_day']}",
        "I hereby resign from my position.",
    ], title="Resignation letter")
    return Response(pdf, media_type="application/pdf",
                    headers={"content-disposition": 'attachment; filename="resignation-letter.pdf"'})
