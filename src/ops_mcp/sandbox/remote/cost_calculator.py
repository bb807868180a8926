"""Cost calculator: countries and regions, per-region extra fields, and employer cost estimates.

Estimates use fixed yearly employer-contribution rates per country, Remote's management fee
(599 EUR a month) and fixed exchange rates; they are illustrative sandbox numbers, deterministic
for the same input.
"""

from __future__ import annotations

import re
from typing import Any, cast

from starlette.responses import JSONResponse, Response

from ops_mcp.sandbox.remote.country_data import COUNTRIES
from ops_mcp.sandbox.remote.envelopes import json_body, query_bool, require_fields
from ops_mcp.sandbox.remote.errors import invalid, invalid_field, not_found
from ops_mcp.sandbox.remote.routing import Ctx, Router
from ops_mcp.sandbox.remote.seed_hr import CURRENCY_NAMES

router = Router()

CONTRIBUTION_RATES = {"DEU": 0.21, "PRT": 0.2375, "FRA": 0.45, "USA": 0.0965, "GBR": 0.138, "ESP": 0.31,
                      "NLD": 0.19, "BRA": 0.36, "IRL": 0.11, "CAN": 0.08}
# Units of each currency per 1 EUR.
EUR_RATES = {"EUR": 1.0, "GBP": 0.85, "USD": 1.08, "BRL": 5.9, "CAD": 1.47, "CHF": 0.96, "AUD": 1.65,
             "DKK": 7.46, "JPY": 165.0, "NOK": 11.6, "NZD": 1.8, "SEK": 11.3, "SGD": 1.45}
MANAGEMENT_FEE_EUR = 59900  # cents a month
ONBOARDING_DAYS = {"USA": 3, "GBR": 5, "DEU": 7, "FRA": 10, "BRA": 15}
REQUEST_FIELDS = {"employer_currency_slug", "employments", "include_benefits", "include_cost_breakdowns",
                  "include_management_fee", "include_premium_benefits", "company_name"}
EMPLOYMENT_FIELDS = {"region_slug", "annual_gross_salary", "annual_gross_salary_in_employer_currency", "title", "age",
                     "employment_term"}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _regions() -> dict[str, tuple[str, dict[str, Any]]]:
    """Region slug -> (country code, the region as listed)."""
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for code, (_alpha2, name, _region, _currency, _tz, subdivisions) in COUNTRIES.items():
        out[_slug(name)] = (code, {"slug": _slug(name), "name": name, "code": code, "status": "active"})
        for sub_code, sub_name in subdivisions:
            slug = _slug(f"{name} {sub_name}")
            out[slug] = (code, {"slug": slug, "name": sub_name, "code": sub_code, "status": "active"})
    return out


REGIONS = _regions()


def _currency(code: str) -> dict[str, str]:
    name, symbol = CURRENCY_NAMES.get(code, (code, code))
    return {"slug": code.lower(), "symbol": symbol, "name": name}


@router.op("GET", "/v1/cost-calculator/countries", None, token="any")
async def list_countries(ctx: Ctx) -> Response:
    query_bool(ctx.request, "include_premium_benefits")
    rows = []
    for code in sorted(COUNTRIES, key=lambda c: COUNTRIES[c][1]):
        name, currency, subdivisions = COUNTRIES[code][1], COUNTRIES[code][3], COUNTRIES[code][5]
        rows.append({
            "code": code, "name": name, "region_slug": _slug(name), "original_country_slug": _slug(name),
            "availability": "active", "has_additional_fields": code == "USA", "currency": _currency(currency),
            "child_regions": [REGIONS[_slug(f"{name} {sub}")][1] for _c, sub in subdivisions],
        })
    return JSONResponse({"data": rows})


@router.op("GET", "/v1/cost-calculator/regions/{slug}/fields", None, token="any")
async def region_fields(ctx: Ctx) -> Response:
    region = REGIONS.get(ctx.param("slug"))
    if region is None:
        raise not_found("Region")
    properties: dict[str, Any] = {"age": {"type": "integer", "title": "Age", "minimum": 16, "maximum": 99}}
    required: list[str] = []
    if region[0] == "USA":
        properties["employment_term"] = {"type": "string", "title": "Employment term", "enum": ["fixed", "indefinite"]}
        required.append("employment_term")
    return JSONResponse({"data": {"schema": {"type": "object", "properties": properties, "required": required,
                                             "x-jsf-order": list(properties)}, "version": 1}})


def _convert(cents: int, from_code: str, to_code: str) -> int:
    return round(cents / EUR_RATES[from_code] * EUR_RATES[to_code])


def _costs(code: str, salary: int, currency: str, rate: float, fee: int, breakdown: bool) -> dict[str, Any]:
    contributions = round(salary * rate)
    annual_fee = fee * 12
    total = salary + contributions + annual_fee
    costs: dict[str, Any] = {
        "annual_gross_salary": salary, "monthly_gross_salary": round(salary / 12),
        "annual_contributions_total": contributions, "monthly_contributions_total": round(contributions / 12),
        "annual_management_fee": annual_fee, "monthly_management_fee": fee,
        "annual_total": total, "monthly_total": round(total / 12), "monthly_tce": round(total / 12),
        "extra_statutory_payments_total": 0, "currency": {"code": currency, **_currency(currency)},
    }
    if breakdown:
        costs["annual_contributions_breakdown"] = [
            {"name": "Social security", "amount": round(contributions * 0.7), "description": None,
             "zendesk_article_id": None, "zendesk_article_url": None},
            {"name": "Other employer contributions", "amount": contributions - round(contributions * 0.7),
             "description": None, "zendesk_article_id": None, "zendesk_article_url": None}]
    return costs


def _estimate(body: dict[str, Any], row: dict[str, Any], employer: str, index: int) -> dict[str, Any]:
    slug = row.get("region_slug")
    region = REGIONS.get(slug) if isinstance(slug, str) else None
    if region is None:
        raise invalid_field(f"employments.{index}.region_slug", "is not a cost calculator region")
    code = region[0]
    local = COUNTRIES[code][3]
    salary = row.get("annual_gross_salary")
    in_employer = row.get("annual_gross_salary_in_employer_currency")
    for name, value in (("annual_gross_salary", salary), ("annual_gross_salary_in_employer_currency", in_employer)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise invalid_field(f"employments.{index}.{name}", "must be a positive integer (cents)")
    if salary is None and in_employer is None:
        raise invalid_field(f"employments.{index}.annual_gross_salary", "can't be blank")
    salary = salary if salary is not None else _convert(cast(int, in_employer), employer, local)
    rate = CONTRIBUTION_RATES.get(code, 0.2)
    include_fee = body.get("include_management_fee", True) is not False
    fee_local = _convert(MANAGEMENT_FEE_EUR, "EUR", local) if include_fee else 0
    breakdown = bool(body.get("include_cost_breakdowns"))
    name = COUNTRIES[code][1]
    return {
        "country": {"code": code, "alpha_2_code": COUNTRIES[code][0], "name": name, "slug": _slug(name)},
        "region": {k: region[1][k] for k in ("slug", "name", "code")},
        "regional_currency_costs": _costs(code, salary, local, rate, fee_local, breakdown),
        "employer_currency_costs": _costs(code, _convert(salary, local, employer), employer, rate,
                                          _convert(fee_local, local, employer), breakdown),
        "has_extra_statutory_payment": code in ("PRT", "BRA", "ESP"),
        "minimum_onboarding_time": ONBOARDING_DAYS.get(code, 7),
        "country_benefits_details_url": None,
        "country_guide_url": f"https://remote.com/country-explorer/{_slug(name)}",
    }


@router.op("POST", "/v1/cost-calculator/estimation", None, token="any")
async def estimate(ctx: Ctx) -> Response:
    body = await json_body(ctx.request)
    require_fields(body, "employer_currency_slug", "employments")
    unknown = sorted(set(body) - REQUEST_FIELDS)
    if unknown:
        raise invalid({k: ["is not a permitted field"] for k in unknown})
    employer = str(body["employer_currency_slug"]).upper()
    if employer not in EUR_RATES:
        raise invalid_field("employer_currency_slug", "is not a supported currency")
    rows = body["employments"]
    if not isinstance(rows, list) or not 1 <= len(rows) <= 20:
        raise invalid_field("employments", "must list 1 to 20 employments")
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise invalid_field(f"employments.{index}", "Should be object")
        extra = sorted(set(row) - EMPLOYMENT_FIELDS)
        if extra:
            raise invalid({f"employments.{index}.{k}": ["is not a permitted field"] for k in extra})
    return JSONResponse({"data": {"employments": [_estimate(body, row, employer, i) for i, row in enumerate(rows)]}})
