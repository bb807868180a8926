"""Onboarding: the steps an employment goes through (derived from its status and onboarding
tasks) and cancelling an onboarding that has not reached contract signing.

Cancellation (Remote's rule): only employments in created, pre_hire, created_awaiting_reserve,
created_reserve_paid or invited status; they end in `deleted` (lifecycle `offboarded`).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from ops_mcp.sandbox.remote.envelopes import action_ok, query_bool
from ops_mcp.sandbox.remote.errors import conflict
from ops_mcp.sandbox.remote.routing import Ctx, Router

router = Router()

CANCELLABLE = ("created", "pre_hire", "created_awaiting_reserve", "created_reserve_paid", "invited")
# Statuses in onboarding order; a step is done once the employment is past the status that opens it.
ORDER = ("created", "pre_hire", "created_awaiting_reserve", "created_reserve_paid", "invited", "initiated",
         "pending", "review", "job_title_review", "pending_post_self_enrollment_actions", "active", "offboarding",
         "archived")
STEPS = (
    # (id, label, description, status that opens the step, status that completes it)
    ("employment_creation", "Create employment", "The employer adds the hire.", "created", "created"),
    ("onboarding_details", "Onboarding details", "Contract, pricing plan and personal details.", "created", "invited"),
    ("employee_invitation", "Employee self-enrollment", "The employee accepts the invite and fills in their data.",
     "invited", "pending"),
    ("contract_signing", "Contract signing", "Employer and employee sign the employment agreement.", "pending",
     "review"),
    ("remote_enrollment", "Remote enrollment", "Remote reviews and registers the employment.", "review", "active"),
)


def _rank(status: str) -> int:
    return ORDER.index(status) if status in ORDER else -1


def _step_status(employment: dict[str, Any], opens: str, completes: str) -> str:
    status = employment["status"]
    if opens == completes:  # creating the employment: done as soon as it exists
        return "completed"
    if status == "deleted":  # onboarding was cancelled: nothing after creation happened
        return "not_started"
    if _rank(status) >= _rank(completes):
        return "completed"
    return "in_progress" if _rank(status) >= _rank(opens) else "not_started"


def _steps(employment: dict[str, Any]) -> list[dict[str, Any]]:
    steps = []
    for step_id, label, description, opens, completes in STEPS:
        status = _step_status(employment, opens, completes)
        sub_steps = []
        if step_id == "onboarding_details":
            for task, task_state in (employment.get("onboarding_tasks") or {}).items():
                done = task_state.get("status") == "completed"
                sub_steps.append({"id": f"{step_id}.{task}", "type": task, "label": task.replace("_", " ").capitalize(),
                                  "optional": False, "tag": None,
                                  "status": "completed" if done else "in_progress" if status != "not_started" else "not_started",
                                  "started_at": employment["created_at"], "completed_at": None})
        steps.append({"id": step_id, "type": step_id, "label": label, "description": description, "status": status,
                      "started_at": employment["created_at"] if status != "not_started" else None,
                      "completed_at": employment["updated_at"] if status == "completed" else None,
                      "sub_steps": sub_steps})
    return steps


@router.op("GET", "/v1/employments/{employment_id}/onboarding-steps", "employment:read")
async def onboarding_steps(ctx: Ctx) -> Response:
    employment = ctx.get("employments", ctx.param("employment_id"), "Employment")
    return JSONResponse({"data": {"steps": _steps(employment)}})


@router.op("POST", "/v1/cancel-onboarding/{employment_id}", "onboarding:write")
async def cancel_onboarding(ctx: Ctx) -> Response:
    employment = ctx.get("employments", ctx.param("employment_id"), "Employment")
    query_bool(ctx.request, "async")
    if employment["status"] not in CANCELLABLE:
        raise conflict(f"Onboarding cannot be cancelled while the employment is {employment['status']}; "
                       "it must not have reached contract signing")
    employment.update(status="deleted", employment_lifecycle_stage="offboarded", updated_at=ctx.state.now_iso())
    ctx.state.counters["onboardings_cancelled"] += 1
    await ctx.emit("employment.onboarding.cancelled", employment["_company_id"], employment_id=employment["id"])
    return action_ok()
