"""Remote's error bodies: `{"message": …}` for most codes, `{"errors": {field: [msg]}}` for 422."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse


class ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body, status_code=self.status, headers=self.headers)


def unauthorized() -> ApiError:
    return ApiError(401, {"message": "Unauthorized"})


def forbidden() -> ApiError:
    return ApiError(403, {"message": "Forbidden"})


def not_found(resource: str) -> ApiError:
    return ApiError(404, {"message": f"{resource} not found"})


def conflict(message: str) -> ApiError:
    return ApiError(409, {"message": message})


def invalid(errors: dict[str, list[str]]) -> ApiError:
    return ApiError(422, {"errors": errors})


def invalid_field(field: str, message: str) -> ApiError:
    return invalid({field: [message]})


def bad_request(message: str) -> ApiError:
    return ApiError(400, {"message": message})


async def handle_api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return exc.response()
