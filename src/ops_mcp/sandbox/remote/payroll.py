"""Payslips (list, PDF) and payroll runs (list and show without a `data` wrapper, as Remote's spec
says; employee details), all from the seeded payroll history of each company."""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

from ops_mcp.sandbox.common.pdf import render_pdf
from ops_mcp.sandbox.remote.envelopes import page_of, paginated, query, query_date
from ops_mcp.sandbox.remote.routing import Ctx, Router
from ops_mcp.sandbox.remote.store import public

router = Router()

RUN_SUMMARY_FIELDS = ("id", "status", "type", "country", "currency_code", "period_start", "period_end", "cutoff_date",
                      "approval_date", "expected_payout_date", "total_payroll_cost")


@router.op("GET", "/v1/payslips", "payslip:read")
async def list_payslips(ctx: Ctx) -> Response:
    records = ctx.state.records("payslips", ctx.company_ids)
    employment_id = query(ctx.request, "employment_id")
    if employment_id:
        records = [r for r in records if r["employment_id"] == employment_id]
    for name, field, low in (("start_date", "issued_at", True), ("end_date", "issued_at", False),
                             ("expected_payout_start_date", "expected_payout_date", True),
                             ("expected_payout_end_date", "expected_payout_date", False)):
        value = query_date(ctx.request, name)
        if value:
            records = [r for r in records if (r[field] >= value if low else r[field] <= value)]
    records.sort(key=lambda r: (r["issued_at"], r["id"]), reverse=True)
    return paginated(ctx.request, "payslips", records)


@router.op("GET", "/v1/payslips/{payslip_id}/pdf", "payslip:read")
async def payslip_pdf(ctx: Ctx) -> Response:
    payslip = ctx.get("payslips", ctx.param("payslip_id"), "Payslip")
    currency = payslip["_currency"]
    pdf = render_pdf([
        f"Payslip {payslip['_period']}", f"Employee: {payslip['_full_name']}",
        f"Gross pay: {payslip['_gross'] / 100:.2f} {currency}",
        f"Net pay: {payslip['net_pay_source_amount'] / 100:.2f} {currency}",
        f"Payout date: {payslip['expected_payout_date']}",
    ], title=f"Payslip {payslip['_period']}")
    return Response(pdf, media_type="application/pdf",
                    headers={"content-disposition": f'attachment; filename="payslip-{payslip["_period"]}.pdf"'})


@router.op("GET", "/v1/payroll-runs", "payroll_run:read")
async def list_payroll_runs(ctx: Ctx) -> Response:
    runs = ctx.state.records("payroll_runs", ctx.company_ids)
    period = query_date(ctx.request, "payroll_period")
    if period:
        runs = [r for r in runs if r["period_start"][:7] == period[:7]]
    runs.sort(key=lambda r: (r["period_start"], r["country"]["code"]), reverse=True)
    # Remote's spec: `{payroll_runs: [...]}` without `data` or paging fields (page/page_size still slice).
    chunk, _paging = page_of(ctx.request, runs)
    return JSONResponse({"payroll_runs": [{k: r[k] for k in RUN_SUMMARY_FIELDS} for r in chunk]})


@router.op("GET", "/v1/payroll-runs/{payroll_run_id}", "payroll_run:read")
async def show_payroll_run(ctx: Ctx) -> Response:
    run = ctx.get("payroll_runs", ctx.param("payroll_run_id"), "Payroll run")
    return JSONResponse({"payroll_run": {**public(run), "employee_details": run["_employee_details"]}})


@router.op("GET", "/v1/payroll-runs/{payroll_run_id}/employee-details", "payroll_run:read")
async def payroll_run_employee_details(ctx: Ctx) -> Response:
    run = ctx.get("payroll_runs", ctx.param("payroll_run_id"), "Payroll run")
    chunk, _paging = page_of(ctx.request, run["_employee_details"])
    # Remote's spec: `{data: {employee_details: [...]}}` without paging fields.
    return JSONResponse({"data": {"employee_details": chunk}})
