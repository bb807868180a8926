"""Response envelopes and the shared query/body helpers (pagination, filters, JSON bodies)."""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from ops_mcp.sandbox.remote.errors import ApiError, invalid, invalid_field
from ops_mcp.sandbox.remote.forms import is_valid_date
from ops_mcp.sandbox.remote.store import public

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


def ok(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status)


def single(name: str, record: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse({"data": {name: public(record)}}, status_code=status)


def action_ok() -> JSONResponse:
    return JSONResponse({"data": {"status": "ok"}})


def _int_param(request: Request, name: str, default: int, minimum: int, maximum: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid_field(name, "is invalid") from None
    if value < minimum:
        raise invalid_field(name, f"must be greater than or equal to {minimum}")
    if maximum is not None and value > maximum:
        raise invalid_field(name, f"must be less than or equal to {maximum}")
    return value


def page_of(request: Request, records: list[Any]) -> tuple[list[Any], dict[str, int]]:
    """The requested page of `records` and its paging fields; page_size > 100 is a 422."""
    page = _int_param(request, "page", 1, 1)
    size = _int_param(request, "page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    total = len(records)
    chunk = records[(page - 1) * size : page * size]
    return chunk, {"current_page": page, "total_count": total, "total_pages": math.ceil(total / size)}


def paginated(request: Request, name: str, records: list[dict[str, Any]]) -> JSONResponse:
    """`{data: {<name>: [...], current_page, total_count, total_pages}}`."""
    chunk, paging = page_of(request, records)
    return JSONResponse({"data": {name: [public(r) for r in chunk], **paging}})


def query(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    return value if value not in (None, "") else None


def query_date(request: Request, name: str) -> str | None:
    value = query(request, name)
    if value is not None and not is_valid_date(value):
        raise invalid_field(name, "is not a valid date (YYYY-MM-DD)")
    return value


def query_bool(request: Request, name: str) -> bool | None:
    value = query(request, name)
    if value is None:
        return None
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise invalid_field(name, "is invalid")


def query_choice(request: Request, name: str, choices: tuple[str, ...]) -> str | None:
    value = query(request, name)
    if value is not None and value not in choices:
        raise invalid_field(name, "is invalid")
    return value


def sort_records(records: list[dict[str, Any]], key: str | None, order: str | None,
                 default_key: str) -> list[dict[str, Any]]:
    field = key or default_key
    reverse = (order or "asc") == "desc"
    # None sorts first ascending (Postgres sorts NULLS LAST ascending; the difference is harmless).
    return sorted(records, key=lambda r: (r.get(field) is not None, str(r.get(field) or "")), reverse=reverse)


async def json_body(request: Request, required: bool = True) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        if required:
            raise invalid({"body": ["can't be blank"]})
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise ApiError(400, {"message": "Invalid JSON body"}) from None
    if not isinstance(body, dict):
        raise ApiError(400, {"message": "Request body must be a JSON object"})
    return body


def require_fields(body: dict[str, Any], *names: str) -> None:
    missing = {n: ["can't be blank"] for n in names if body.get(n) in (None, "", [])}
    if missing:
        raise invalid(missing)
