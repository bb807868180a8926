"""Company managers: list, show, create (201 without a `data` wrapper, as Remote answers), delete.

A manager's `user_id` is what time-off approval takes as `approver_id` and employments take as
`manager_id`. The company owner cannot be deleted (409).
"""

from __future__ import annotations

import re

from starlette.responses import JSONResponse, Response

from ops_mcp.sandbox.remote.envelopes import (
    action_ok,
    json_body,
    paginated,
    query_choice,
    require_fields,
    single,
)
from ops_mcp.sandbox.remote.errors import conflict, invalid
from ops_mcp.sandbox.remote.routing import Ctx, Router
from ops_mcp.sandbox.remote.store import public

router = Router()

ROLES = ("admin", "onboarding_manager", "people_manager")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@router.op("GET", "/v1/company-managers", "company_manager:read")
async def list_managers(ctx: Ctx) -> Response:
    managers = sorted(ctx.state.records("managers", ctx.company_ids), key=lambda m: (m["user_name"], m["user_id"]))
    return paginated(ctx.request, "company_managers", managers)


@router.op("GET", "/v1/company-managers/{user_id}", "company_manager:read")
async def show_manager(ctx: Ctx) -> Response:
    return single("company_manager", ctx.get("managers", ctx.param("user_id"), "Company manager"))


@router.op("POST", "/v1/company-managers", "company_manager:write")
async def create_manager(ctx: Ctx) -> Response:
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
    # Remote's spec: 201 with `{company_manager}` and no `data` wrapper.
    return JSONResponse({"company_manager": public(manager)}, status_code=201)


@router.op("DELETE", "/v1/company-managers/{user_id}", "company_manager:write")
async def delete_manager(ctx: Ctx) -> Response:
    manager = ctx.get("managers", ctx.param("user_id"), "Company manager")
    company = ctx.state.data["companies"][manager["_company_id"]]
    if manager["user_id"] == company["company_owner_user_id"]:
        raise conflict("The company owner cannot be deleted")
    del ctx.state.data["managers"][manager["user_id"]]
    for employment in ctx.state.records("employments", (company["id"],)):
        if employment.get("manager_id") == manager["user_id"]:
            employment["manager_id"] = None
    await ctx.emit("company.manager_deleted", company["id"], user_id=manager["user_id"])
    return action_ok()
