"""RFC 9457 problem details: every error carries `code` and `request_id`."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

PROBLEM_BASE = "https://docs.remoteops.example/problems/"

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, detail: str, *, headers: dict[str, str] | None = None,
                 **extensions: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers or {}
        self.extensions = extensions


def not_found(kind: str, object_id: str) -> ApiError:
    return ApiError(404, "not-found", f"No {kind} with id '{object_id}' exists for this API key's tenant.")


def validation_failed(errors: list[dict[str, str]], detail: str | None = None) -> ApiError:
    detail = detail or "; ".join(f"{e['pointer'] or '/'}: {e['detail']}" for e in errors[:5])
    return ApiError(422, "validation-failed", detail, errors=errors)


def problem_body(status: int, code: str, detail: str, instance: str, request_id: str,
                 extensions: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code,
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": instance,
        "code": code,
        "request_id": request_id,
    }
    body.update(extensions or {})
    return body


def instance_of(path: str) -> str:
    """The request path as a valid URI reference (percent-encoded)."""
    return quote(path, safe="/:@!$&'()*+,;=-._~%")


def problem_response(error: ApiError, instance: str, request_id: str) -> Response:
    body = problem_body(error.status, error.code, error.detail, instance_of(instance), request_id, error.extensions)
    return Response(json.dumps(body), status_code=error.status, headers=error.headers,
                    media_type="application/problem+json")


def injected_error_body(status: int) -> tuple[bytes, str]:
    """Body for 5xx produced by fault injection (see common.faults)."""
    code = "service-unavailable" if status == 503 else "internal-error"
    body = problem_body(status, code, "The sandbox injected a server error; retry later.", "", "req_injected")
    return json.dumps(body).encode(), "application/problem+json"
