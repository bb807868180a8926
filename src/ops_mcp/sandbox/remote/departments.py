"""Company departments (list with Remote's paging fields next to `data`, create) and an
employment's place in the company structure."""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

from ops_mcp.sandbox.remote.envelopes import json_body, page_of, query, query_bool, require_fields
from ops_mcp.sandbox.remote.errors import conflict, invalid, invalid_field
from ops_mcp.sandbox.remote.routing import Ctx, Router
from ops_mcp.sandbox.remote.store import public

router = Router()


@router.op("GET", "/v1/company-departments", "company_department:read")
async def list_departments(ctx: Ctx) -> Response:
    company_id = query(ctx.request, "company_id")
    if not company_id:
        raise invalid_field("company_id", "can't be blank")
    company = ctx.own_company(company_id)
    records = sorted(ctx.state.records("departments", (company["id"],)), key=lambda d: (d["name"], d["id"]))
    if query_bool(ctx.request, "paginate") is False:
        paging = {"current_page": 1, "total_count": len(records), "total_pages": 1 if records else 0}
        chunk = records
    else:
        chunk, paging = page_of(ctx.request, records)
    # Remote's spec: the paging fields sit next to `data` for this list.
    return JSONResponse({"data": {"company_departments": [public(d) for d in chunk]}, **paging})


@router.op("POST", "/v1/company-departments", "company_department:write")
async def create_department(ctx: Ctx) -> Response:
    body = await json_body(ctx.request)
    require_fields(body, "company_id", "name")
    unknown = sorted(set(body) - {"company_id", "name"})
    if unknown:
        raise invalid({k: ["is not a permitted field"] for k in unknown})
    name = body["name"]
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise invalid_field("name", "must be 1 to 255 characters")
    company = ctx.own_company(body["company_id"])
    if any(d["name"].strip().lower() == name.strip().lower()
           for d in ctx.state.records("departments", (company["id"],))):
        raise conflict("A department with this name already exists")
    department_id = ctx.state.new_id()
    record = {"id": department_id, "name": name.strip(), "company_id": company["id"], "_company_id": company["id"]}
    ctx.state.data["departments"][department_id] = record
    company.setdefault("_departments", {})[record["name"]] = department_id
    # Remote's spec: 201 `{company_department}` without the `data` wrapper.
    return JSONResponse({"company_department": public(record)}, status_code=201)


@router.op("GET", "/v1/employments/{employment_id}/company-structure-nodes", "company_structure:read")
async def company_structure_nodes(ctx: Ctx) -> Response:
    employment = ctx.get("employments", ctx.param("employment_id"), "Employment")
    company = ctx.state.data["companies"][employment["_company_id"]]
    department = ctx.state.data["departments"].get(employment.get("department_id") or "")
    nodes = []
    if department is not None:
        nodes.append({"id": department["id"], "name": department["name"],
                      "company_structure": {"id": company["id"], "name": "Departments"},
                      "parent": {"id": company["id"], "name": company["name"]},
                      "attributes": {"kind": "department"}})
    return JSONResponse({"data": {"company_structure_nodes": nodes}})
