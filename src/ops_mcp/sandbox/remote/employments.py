"""Employments: list/show/create, PATCH v1 (form blocks) and v2, invite, and `/v1/ready`."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ops_mcp.sandbox.remote import forms
from ops_mcp.sandbox.remote.country_data import COUNTRIES, country_ref, currency_of
from ops_mcp.sandbox.remote.envelopes import (
    action_ok,
    json_body,
    paginated,
    query,
    query_bool,
    require_fields,
    single,
)
from ops_mcp.sandbox.remote.errors import conflict, invalid, invalid_field
from ops_mcp.sandbox.remote.routing import Ctx, Router
from ops_mcp.sandbox.remote.seed import LIFECYCLE

router = Router()

STATUSES = ("active", "created", "pre_hire", "created_awaiting_reserve", "created_reserve_paid", "initiated",
            "invited", "pending", "review", "job_title_review", "pending_post_self_enrollment_actions",
            "offboarding", "archived", "deleted")
# `status=incomplete` is Remote's shorthand for everything not yet onboarded.
INCOMPLETE = ("created", "pre_hire", "created_awaiting_reserve", "created_reserve_paid", "initiated", "invited",
              "pending", "review", "job_title_review", "pending_post_self_enrollment_actions")
EMPLOYMENT_TYPES = ("employee", "contractor", "direct_employee", "global_payroll_employee")
EMPLOYMENT_MODELS = ("eor", "peo", "global_payroll")
SUMMARY_FIELDS = ("id", "full_name", "job_title", "login_email", "personal_email", "work_email", "status", "type",
                  "employment_model", "employment_lifecycle_stage", "external_id", "short_id", "country",
                  "department_id", "department")
V2_FIELDS = ("department_id", "external_id", "manager_id", "work_email")
# PATCH v1: which body keys each status accepts (Remote: created = everything, invited = work
# email only, active = manager, emergency contact, address and work email).
PRE_INVITE = ("created", "pre_hire", "created_awaiting_reserve", "created_reserve_paid")
ACTIVE_FIELDS = ("manager_id", "emergency_contact_details", "address_details", "work_email")


def _summary(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record.get(k) for k in SUMMARY_FIELDS}


def _full(record: dict[str, Any], state, exclude_files: bool = False) -> dict[str, Any]:
    body = {k: v for k, v in record.items() if not k.startswith("_") and k != "manager_id"}
    manager = state.data["managers"].get(record.get("manager_id") or "")
    body["manager"] = {"id": manager["user_id"], "name": manager["user_name"], "email": manager["user_email"]} \
        if manager else None
    body["manager_email"] = manager["user_email"] if manager else None
    if exclude_files:
        body.pop("files", None)
    return body


@router.op("GET", "/v1/employments", "employment:read")
async def list_employments(ctx: Ctx) -> Response:
    records = ctx.state.records("employments", ctx.company_ids)
    email = query(ctx.request, "email")
    if email:
        email = email.lower()
        records = [r for r in records if email in {(r.get(k) or "").lower()
                                                   for k in ("personal_email", "work_email", "login_email")}]
    status = query(ctx.request, "status")
    if status:
        wanted: set[str] = set()
        for one in status.split(","):
            one = one.strip()
            if one == "incomplete":
                wanted.update(INCOMPLETE)
            elif one in STATUSES:
                wanted.add(one)
            else:
                raise invalid_field("status", f"{one} is not a valid employment status")
        records = [r for r in records if r["status"] in wanted]
    for name, choices in (("employment_type", EMPLOYMENT_TYPES), ("employment_model", EMPLOYMENT_MODELS)):
        value = query(ctx.request, name)
        if value is not None:
            if value not in choices:
                raise invalid_field(name, "is invalid")
            key = "type" if name == "employment_type" else name
            records = [r for r in records if r.get(key) == value]
    short_id = query(ctx.request, "short_id")
    if short_id:
        records = [r for r in records if r["short_id"] == short_id]
    records.sort(key=lambda r: (r["created_at"], r["id"]))
    return paginated(ctx.request, "employments", [_summary(r) for r in records])


@router.op("GET", "/v1/employments/{employment_id}", "employment:read")
async def show_employment(ctx: Ctx) -> Response:
    record = ctx.get("employments", ctx.param("employment_id"), "Employment")
    exclude = bool(query_bool(ctx.request, "exclude_files"))
    return single("employment", _full(record, ctx.state, exclude))


def check_schema_version(ctx: Ctx) -> None:
    for name, value in ctx.request.query_params.items():
        if name.endswith("json_schema_version") and value != "latest" and not (value.isdigit() and int(value) >= 1):
            raise invalid_field(name, "must be a positive integer or latest")


def _validate_block(ctx: Ctx, country: str, key: str, value: Any) -> dict[str, list[str]]:
    form = forms.BODY_KEY_TO_FORM[key]
    if not isinstance(value, dict):
        return {key: ["Should be object"]}
    schema = forms.load_form(country, form, currency_of(country), ctx.state.today)
    return forms.validate(schema, value, prefix=key)


@router.op("POST", "/v1/employments", "employment:write")
async def create_employment(ctx: Ctx) -> Response:
    check_schema_version(ctx)
    body = await json_body(ctx.request)
    require_fields(body, "country_code", "basic_information")
    unknown = set(body) - {"country_code", "basic_information", "type", "engaged_by_legal_entity_id",
                           "bill_to_legal_entity_id", "external_id", "company_id"}
    if unknown:
        raise invalid({k: ["is not a permitted field"] for k in sorted(unknown)})
    country = body["country_code"]
    if not isinstance(country, str) or country not in COUNTRIES:
        raise invalid_field("country_code", "is not a supported country")
    etype = body.get("type") or "employee"
    if not isinstance(etype, str) or etype not in ("employee", "contractor", "global_payroll_employee", "hris"):
        raise invalid_field("type", "is invalid")
    if etype == "global_payroll_employee" and not body.get("engaged_by_legal_entity_id"):
        raise invalid_field("engaged_by_legal_entity_id", "can't be blank")
    errors = _validate_block(ctx, country, "basic_information", body["basic_information"])
    for name in ("engaged_by_legal_entity_id", "bill_to_legal_entity_id", "external_id"):
        if body.get(name) is not None and not isinstance(body[name], str):
            errors[name] = ["is invalid"]
    if errors:
        raise invalid(errors)
    company_id = ctx.acting_company(body)
    state = ctx.state
    company = state.data["companies"][company_id]
    basic = body["basic_information"]
    employment_id = state.new_id()
    count = len(state.data["employments"])
    now = state.now_iso()
    record = {
        "id": employment_id, "short_id": f"{company['_slug'][:2].upper()}{1000 + count}",
        "full_name": basic["name"], "job_title": basic.get("job_title"), "personal_email": basic["email"],
        "work_email": basic.get("work_email"), "login_email": basic["email"], "status": "created",
        "type": "employee" if etype == "hris" else etype,
        "employment_model": {"employee": "eor", "global_payroll_employee": "global_payroll"}.get(etype),
        "employment_lifecycle_stage": "employment_creation", "external_id": body.get("external_id"),
        "country": country_ref(country), "department_id": None, "department": None, "manager_id": None,
        "company_id": company_id, "provisional_start_date": basic.get("provisional_start_date"),
        "termination_date": None, "created_at": now, "updated_at": now, "basic_information": basic,
        "personal_details": None, "address_details": None, "contract_details": None, "pricing_plan_details": None,
        "emergency_contact_details": None,
        "onboarding_tasks": {k: {"status": "pending"} for k in ("contract_details", "pricing_plan_details",
                                                               "personal_details")},
        "files": [], "active_contract_id": None, "engaged_by_legal_entity_id": body.get("engaged_by_legal_entity_id"),
        "bill_to_legal_entity_id": body.get("bill_to_legal_entity_id"),
        "_company_id": company_id, "_salary": 0, "_currency": currency_of(country),
    }
    state.data["employments"][employment_id] = record
    state.counters["employments_created"] += 1
    return single("employment", _full(record, state))  # Remote's spec declares 200


def allowed_keys(status: str) -> tuple[str, ...] | None:
    """Body keys a PATCH v1 may set in `status`; None = every key."""
    if status in PRE_INVITE:
        return None
    if status in ("invited", "initiated"):
        return ("work_email",)
    if status in ("active", "offboarding"):
        return ACTIVE_FIELDS
    return ()


def _apply_scalars(ctx: Ctx, record: dict[str, Any], body: dict[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if "manager_id" in body:
        manager = ctx.state.data["managers"].get(body["manager_id"] or "")
        if body["manager_id"] is not None and (manager is None or manager["_company_id"] != record["_company_id"]):
            errors["manager_id"] = ["is not a manager of this company"]
    if "work_email" in body and body["work_email"] is not None and \
            (not isinstance(body["work_email"], str) or "@" not in body["work_email"]):
        errors["work_email"] = ["has invalid format"]
    for key in ("department_id", "external_id"):
        if key in body and body[key] is not None and not isinstance(body[key], str):
            errors[key] = ["is invalid"]
    return errors


def store_update(ctx: Ctx, record: dict[str, Any], body: dict[str, Any]) -> None:
    for key, value in body.items():
        if key in forms.BODY_KEY_TO_FORM:
            target = "basic_information" if key == "employment_basic_information" else key
            # Remote shows bank accounts as a list (an employee may have several); a write sets the one.
            record[target] = [value] if target == "bank_account_details" else value
            if target in record.get("onboarding_tasks", {}):
                record["onboarding_tasks"][target] = {"status": "completed"}
            if target == "basic_information":
                record["full_name"] = value.get("name", record["full_name"])
                record["job_title"] = value.get("job_title", record["job_title"])
                record["provisional_start_date"] = value.get("provisional_start_date")
        else:
            record[key] = value
            if key == "work_email":
                record["login_email"] = value or record["personal_email"]
    record["updated_at"] = ctx.state.now_iso()


@router.op("PATCH|PUT", "/v1/employments/{employment_id}", "employment:write")
async def update_employment(ctx: Ctx) -> Response:
    check_schema_version(ctx)
    record = ctx.get("employments", ctx.param("employment_id"), "Employment")
    body = await json_body(ctx.request)
    if record["type"] == "contractor":
        raise invalid({"base": ["Contractor employments cannot be updated through this endpoint"]})
    known = set(forms.BODY_KEY_TO_FORM) | set(V2_FIELDS)
    unknown = sorted(set(body) - known)
    if unknown:
        raise invalid({k: ["is not a permitted field"] for k in unknown})
    allowed = allowed_keys(record["status"])
    if allowed is not None:
        refused = sorted(k for k in body if k not in allowed)
        if refused:
            raise invalid({k: [f"cannot be updated while the employment is {record['status']}"] for k in refused})
    country = record["country"]["code"]
    errors: dict[str, list[str]] = {}
    for key, value in body.items():
        if key in forms.BODY_KEY_TO_FORM:
            errors.update(_validate_block(ctx, country, key, value))
    errors.update(_apply_scalars(ctx, record, body))
    if errors:
        raise invalid(errors)
    store_update(ctx, record, body)
    await ctx.emit("employment.updated", record["_company_id"], employment_id=record["id"])
    return single("employment", _full(record, ctx.state))


@router.op("PATCH|PUT", "/v2/employments/{employment_id}", "employment:write")
async def update_employment_v2(ctx: Ctx) -> Response:
    record = ctx.get("employments", ctx.param("employment_id"), "Employment")
    body = await json_body(ctx.request)
    unknown = sorted(set(body) - set(V2_FIELDS))
    if unknown:
        raise invalid({k: ["is not a permitted field"] for k in unknown})
    errors = _apply_scalars(ctx, record, body)
    if errors:
        raise invalid(errors)
    store_update(ctx, record, body)
    await ctx.emit("employment.updated", record["_company_id"], employment_id=record["id"])
    return single("employment", _full(record, ctx.state))


def _missing_for_invite(record: dict[str, Any]) -> list[str]:
    if record["type"] == "contractor":
        return [] if record.get("basic_information") else ["basic_information"]
    return [k for k in ("contract_details", "pricing_plan_details") if not record.get(k)]


@router.op("POST", "/v1/employments/{employment_id}/invite", "employment:write")
async def invite_employment(ctx: Ctx) -> Response:
    record = ctx.get("employments", ctx.param("employment_id"), "Employment")
    if record["status"] not in PRE_INVITE:
        raise conflict(f"Employment cannot be invited while its status is {record['status']}")
    missing = _missing_for_invite(record)
    if missing:
        raise conflict(f"Employment is missing required onboarding information: {', '.join(missing)}")
    start = record.get("provisional_start_date")
    if start and start < ctx.state.today.isoformat():
        raise conflict("Provisional start date is too early; update basic_information first")
    record["status"] = "invited"
    record["employment_lifecycle_stage"] = LIFECYCLE["invited"]
    record["updated_at"] = ctx.state.now_iso()
    await ctx.emit("employment.user_status.invited", record["_company_id"], employment_id=record["id"])
    return action_ok()


@router.op("POST", "/v1/ready", "employment:write")
async def complete_onboarding(ctx: Ctx) -> Response:
    body = await json_body(ctx.request)
    require_fields(body, "employment_id")
    if not isinstance(body["employment_id"], str):
        raise invalid_field("employment_id", "is invalid")
    record = ctx.get("employments", body["employment_id"], "Employment")
    if record["status"] not in ("invited", "initiated", *PRE_INVITE):
        raise conflict(f"Onboarding cannot be completed while the employment status is {record['status']}")
    missing = _missing_for_invite(record)
    if missing:
        raise conflict(f"Employment is missing required onboarding information: {', '.join(missing)}")
    record["status"] = "review"
    record["employment_lifecycle_stage"] = LIFECYCLE["review"]
    record["updated_at"] = ctx.state.now_iso()
    await ctx.emit("employment.onboarding.completed", record["_company_id"], employment_id=record["id"])
    return single("employment", _full(record, ctx.state))
