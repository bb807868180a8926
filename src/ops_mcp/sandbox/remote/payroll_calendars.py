"""Payroll calendars: active EOR calendars (by country/year) and company calendars by `YYYY-MM` cycle."""

from __future__ import annotations

import re
from datetime import date

from starlette.responses import Response

from ops_mcp.sandbox.remote.country_data import COUNTRIES
from ops_mcp.sandbox.remote.envelopes import paginated, query
from ops_mcp.sandbox.remote.errors import invalid_field
from ops_mcp.sandbox.remote.routing import Ctx, Router
from ops_mcp.sandbox.remote.seed import bi_weekly_cycles, monthly_cycle

router = Router()
CYCLE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@router.op("GET", "/v1/payroll-calendars", "payroll_calendar:read", token="any")
async def list_eor_calendars(ctx: Ctx) -> Response:
    records = list(ctx.state.data["eor_calendars"].values())
    country = query(ctx.request, "country_code")
    if country:
        if country not in COUNTRIES and not re.fullmatch(r"[A-Z]{3}", country):
            raise invalid_field("country_code", "is invalid")
        records = [r for r in records if r["country"]["code"] == country]
    year = query(ctx.request, "year")
    if year is not None:
        if not year.isdigit() or not 1900 <= int(year) <= 9999:
            raise invalid_field("year", "is invalid")
        records = [r for r in records if r["year"] == int(year)]
    records.sort(key=lambda r: (r["country"]["code"], r["year"]))
    return paginated(ctx.request, "payroll_calendars",
                     [{k: v for k, v in r.items() if k != "year"} for r in records])


@router.op("GET", "/v1/payroll-calendars/{cycle}", "payroll_calendar:read")
async def list_company_calendars(ctx: Ctx) -> Response:
    match = CYCLE.match(ctx.param("cycle"))
    if not match:
        raise invalid_field("cycle", "must be a month in the form YYYY-MM")
    year, month = int(match.group(1)), int(match.group(2))
    date(year, month, 1)  # a valid month by construction of the regex
    calendars = sorted(ctx.state.records("company_calendars", ctx.company_ids),
                       key=lambda r: (r["country"]["code"], r["id"]))
    rows = [{
        "country": r["country"], "cycle_frequency": r["cycle_frequency"], "owned_by_remote": r["owned_by_remote"],
        "cycles": bi_weekly_cycles(year, month) if r["cycle_frequency"] == "bi_weekly" else [monthly_cycle(year, month)],
    } for r in calendars]
    return paginated(ctx.request, "payroll_calendars", rows)
