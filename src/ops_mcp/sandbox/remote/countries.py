"""Countries, country forms (JSON Schemas) and public holidays."""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

from ops_mcp.sandbox.remote import forms
from ops_mcp.sandbox.remote.auth import ANY, COMPANY
from ops_mcp.sandbox.remote.country_data import COUNTRIES, country_resource, currency_of, holidays
from ops_mcp.sandbox.remote.envelopes import query, query_bool
from ops_mcp.sandbox.remote.errors import forbidden, invalid_field, not_found
from ops_mcp.sandbox.remote.routing import Ctx, Router

router = Router()

# Forms a client-credentials token (no company) may fetch: the ones needed to create a company
# (Remote's spec: "address_details and company_basic_information forms can be accessed using
# client_credentials"). The operation is otherwise company-scoped (`x-token-kind: company`).
CLIENT_CREDENTIALS_FORMS = ("address_details", "company_basic_information")


@router.op("GET", "/v1/countries", "country:read", token=ANY)
async def list_countries(ctx: Ctx) -> Response:
    return JSONResponse({"data": [country_resource(code) for code in sorted(COUNTRIES)]})


def _country(ctx: Ctx) -> str:
    code = ctx.param("country_code")
    if code not in COUNTRIES:
        raise not_found("Country")
    return code


@router.op("GET", "/v1/countries/{country_code}/holidays/{year}", "country:read")
async def list_holidays(ctx: Ctx) -> Response:
    code = _country(ctx)
    year = ctx.param("year")
    if not year.isdigit() or not 1900 <= int(year) <= 2100:
        raise invalid_field("year", "is invalid")
    subdivision = query(ctx.request, "country_subdivision_code")
    if subdivision and subdivision not in {c for c, _n in COUNTRIES[code][5]}:
        raise invalid_field("country_subdivision_code", "is not a subdivision of this country")
    return JSONResponse({"data": holidays(code, int(year))})


@router.op("GET", "/v1/countries/{country_code}/{form}", "form:read", token=ANY)
async def show_form(ctx: Ctx) -> Response:
    code = _country(ctx)
    form = ctx.param("form")
    if form not in forms.FORM_NAMES:
        raise not_found("Form")
    if ctx.principal.kind != COMPANY and form not in CLIENT_CREDENTIALS_FORMS:
        raise forbidden()
    version = query(ctx.request, "json_schema_version")
    if version is not None and version != "latest" and not (version.isdigit() and int(version) >= 1):
        raise invalid_field("json_schema_version", "must be a positive integer or latest")
    query_bool(ctx.request, "skip_benefits")
    employment_id = query(ctx.request, "employment_id")
    if form == "contract_amendment":
        if not employment_id:
            raise invalid_field("employment_id", "can't be blank")
        ctx.get("employments", employment_id, "Employment")
    return JSONResponse({"data": forms.load_form(code, form, currency_of(code), ctx.state.today)})
