"""The audit log: plain-English sentences newest first, filters, a detail page, chain verification, export.

Argument detail (what the agent sent, already redacted of credentials and sensitive fields when it was
recorded) is shown to auditors only; other roles read the sentences.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..audit import DECISIONS
from .audit_query import AuditFilter, FilterProblem, as_row, to_csv, to_jsonl


def routes(console: Any) -> list[Route]:
    web = console.web

    def chosen(request: Request) -> AuditFilter:
        try:
            return AuditFilter.from_query(request.query_params)
        except FilterProblem as exc:
            raise HTTPException(400, str(exc)) from None

    async def page(request: Request) -> Response:
        who = web.require(request)
        wanted = chosen(request)
        entries, cut = wanted.run(console.runtime.audit)
        verified = console.runtime.audit.verify() if request.query_params.get("verify") else None
        return web.render(
            request,
            "audit.html",
            who,
            entries=entries,
            filters=wanted.form(),
            cut=cut,
            decisions=sorted(DECISIONS),
            query=wanted.query_string(),
            verified=verified,
            limit=wanted.limit,
        )

    async def export(request: Request) -> Response:
        who = web.require(request)
        wanted = chosen(request)
        if request.path_params["fmt"] not in ("csv", "jsonl"):
            raise HTTPException(404, "Export as export.csv or export.jsonl.")
        entries, _ = wanted.run(console.runtime.audit)
        detail = who.may("audit_detail")
        if request.path_params["fmt"] == "csv":
            return Response(
                to_csv(entries, detail),
                media_type="text/csv; charset=utf-8",
                headers={"content-disposition": 'attachment; filename="ops-mcp-audit.csv"'},
            )
        return Response(
            to_jsonl(entries, detail),
            media_type="application/jsonl; charset=utf-8",
            headers={"content-disposition": 'attachment; filename="ops-mcp-audit.jsonl"'},
        )

    async def detail(request: Request) -> Response:
        who = web.require(request)
        seq = request.path_params["seq"]
        entry = console.runtime.audit.entry(seq)
        if entry is None:
            raise HTTPException(404, "No such record.")
        return web.render(
            request,
            "audit_record.html",
            who,
            entry=entry,
            row=as_row(entry, who.may("audit_detail")),
            detail=who.may("audit_detail"),
        )

    return [
        Route("/audit", page, methods=["GET"]),
        Route("/audit/export.{fmt:str}", export, methods=["GET"]),
        Route("/audit/{seq:int}", detail, methods=["GET"]),
    ]
