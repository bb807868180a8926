"""Approvals: the queue of pending writes and one page per approval, the target of URL-mode elicitation.

``/admin/approvals/{id}`` is the link governance sends a client (``confirmation.APPROVAL_PAGE``); a person
not signed in is sent to sign in and then back here. The page shows the whole change (every field,
before → after, names resolved), who asked and until when; Approve and Deny name the signed-in person
(``desk.Person(name, "console")``) and are recorded in the audit chain.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..governance.desk import Person
from .record import record_action
from .web import PREFIX, Signed, back_to


def routes(console: Any) -> list[Route]:
    web = console.web
    desk = console.desk

    async def queue(request: Request) -> Response:
        who = web.require(request)
        now = desk.clock()
        waiting = [a.as_dict(now) for a in desk.waiting()]
        recent = [a.as_dict(now) for a in desk.everything() if a.status != "pending"][:50]
        return web.render(
            request, "approvals.html", who, waiting=waiting, recent=recent, may_decide=who.may("approvals")
        )

    async def one(request: Request) -> Response:
        who = web.require(request)
        approval = desk.show(request.path_params["approval_id"])
        if approval is None:
            raise HTTPException(404, "No such approval.")
        return web.render(
            request,
            "approval.html",
            who,
            approval=approval.as_dict(desk.clock()),
            may_decide=who.may("approvals"),
        )

    @web.change("approvals")
    async def decide(request: Request, who: Signed, form: FormData) -> Response:
        approval_id = request.path_params["approval_id"]
        decision = form.get("decision")
        if decision not in ("approve", "deny"):
            raise HTTPException(400, "decision: approve or deny")
        person = Person(who.name, "console")
        try:
            decided = (
                desk.approve(approval_id, person) if decision == "approve" else desk.deny(approval_id, person)
            )
        except ValueError as exc:
            raise HTTPException(409, str(exc)) from None
        verb = "approved" if decision == "approve" else "denied"
        area = next(
            (
                e.area
                for m in console.runtime.catalogue.values()
                for e in m.endpoints
                if e.tool == decided.tool
            ),
            None,
        )
        record_action(
            console.runtime.audit,
            who,
            f"{verb}_write",
            f"{verb} approval {decided.id}: {decided.summary}",
            agent=decided.agent,
            area=area,
            details={"approval": decided.id, "tool": decided.tool, "tenant": decided.change.tenant},
        )
        return back_to(who, f"{PREFIX}/approvals/{decided.id}", f"You {verb} this write.")

    return [
        Route("/approvals", queue, methods=["GET"]),
        Route("/approvals/{approval_id}", one, methods=["GET"]),
        Route("/approvals/{approval_id}", decide, methods=["POST"]),
    ]
