"""Employment files (list, download with base64 content) and contractors' contract documents."""

from __future__ import annotations

import base64
from typing import Any

from starlette.responses import Response

from ops_mcp.sandbox.common.pdf import render_pdf
from ops_mcp.sandbox.remote.envelopes import paginated, query, single
from ops_mcp.sandbox.remote.routing import Ctx, Router

router = Router()


def _files(ctx: Ctx, employment_id: str) -> list[dict[str, Any]]:
    records = [f for f in ctx.state.records("files", ctx.company_ids) if f.get("_employment_id") == employment_id]
    return sorted(records, key=lambda f: (f["inserted_at"], f["id"]), reverse=True)


@router.op("GET", "/v1/employments/{employment_id}/files", "document:read")
async def list_files(ctx: Ctx) -> Response:
    employment = ctx.get("employments", ctx.param("employment_id"), "Employment")
    records = _files(ctx, employment["id"])
    for name in ("type", "sub_type"):
        value = query(ctx.request, name)
        if value:
            records = [f for f in records if f.get(name) == value]
    return paginated(ctx.request, "files", records)


@router.op("GET", "/v1/files/{id}", "document:read")
async def download_file(ctx: Ctx) -> Response:
    record = ctx.get("files", ctx.param("id"), "File")
    content = record.get("_content")
    if content is None:
        employment = ctx.state.data["employments"].get(record.get("_employment_id") or "") or {}
        pdf = render_pdf([record["name"].rsplit(".", 1)[0], f"Employee: {employment.get('full_name', '')}",
                          f"Document type: {record['type']}", f"Stored: {record['inserted_at'][:10]}"],
                         title=record["name"])
        content = base64.b64encode(pdf).decode()
    body = {k: v for k, v in record.items() if not k.startswith("_")}
    return single("file", {**body, "content": content})


@router.op("GET", "/v1/employments/{employment_id}/contract-documents", "document:read")
async def list_contract_documents(ctx: Ctx) -> Response:
    employment = ctx.get("employments", ctx.param("employment_id"), "Employment")
    records = [d for d in ctx.state.records("contract_documents", ctx.company_ids)
               if d["_employment_id"] == employment["id"]]
    records.sort(key=lambda d: (d["inserted_at"], d["id"]), reverse=True)
    return paginated(ctx.request, "contract_documents", records)
