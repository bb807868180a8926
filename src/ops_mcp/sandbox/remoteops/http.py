"""The request pipeline every operation runs through.

auth (401) → rate limit (429) → scope (403) → media type (415) → Idempotency-Key (§8) →
handler → persistence + webhook dispatch. Handlers only see a `Ctx` and return a `Reply` or raise
`ApiError`; the pipeline turns both into HTTP.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from ops_mcp.sandbox.remoteops import webhooks_dispatch
from ops_mcp.sandbox.remoteops.auth import authenticate
from ops_mcp.sandbox.remoteops.credentials import ApiKey
from ops_mcp.sandbox.remoteops.idempotency import fingerprint, parse_key
from ops_mcp.sandbox.remoteops.problems import ApiError, problem_response
from ops_mcp.sandbox.remoteops.store import RemoteOpsState, Tenant
from ops_mcp.sandbox.remoteops.validation import Body
from ops_mcp.sandbox.remoteops.values import parse_date, parse_datetime

log = logging.getLogger("ops_mcp.sandbox.remoteops")

IDEMPOTENCY = ("safe", "idempotent", "key-optional", "key-required")


@dataclass
class Reply:
    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None
    media_type: str = "application/json"


@dataclass
class Operation:
    method: str
    path: str
    operation_id: str
    idempotency: str
    handler: Callable[[Ctx], Reply | Awaitable[Reply]]
    multipart: bool = False


class Ctx:
    def __init__(self, request: Request, state: RemoteOpsState, key: ApiKey, raw: bytes, request_id: str) -> None:
        self.request = request
        self.state = state
        self.key = key
        self.tenant: Tenant = state.tenant(key.tenant_id)
        self.params: dict[str, str] = dict(request.path_params)
        # Every templated path has exactly one parameter (`{work_order_id}`, `{invoice_id}`, …).
        self.pid: str = next(iter(self.params.values()), "")
        self.query: QueryParams = request.query_params
        self.raw = raw
        self.request_id = request_id
        self.now: datetime = state.clock.now()
        self._query_errors: list[dict[str, str]] = []

    # -- body ----------------------------------------------------------------------------------
    def json(self) -> Any:
        if not self.raw.strip():
            return None
        try:
            return json.loads(self.raw)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "bad-request", "The request body is not valid JSON.") from None

    def body(self) -> Body:
        return Body(self.json())

    # -- query ---------------------------------------------------------------------------------
    def _qerr(self, name: str, detail: str) -> None:
        self._query_errors.append({"pointer": f"/query/{name}", "code": "invalid", "detail": detail})

    def q_str(self, name: str, enum: tuple[str, ...] | None = None) -> str | None:
        value = self.query.get(name)
        if value is None or value == "":
            return None
        if enum is not None and value not in enum:
            self._qerr(name, f"must be one of: {', '.join(enum)}")
            return None
        return value

    def q_list(self, name: str, enum: tuple[str, ...] | None = None) -> list[str] | None:
        values = [v for raw in self.query.getlist(name) for v in raw.split(",") if v]
        if not values:
            return None
        if enum is not None:
            bad = [v for v in values if v not in enum]
            if bad:
                self._qerr(name, f"must be one of: {', '.join(enum)}")
                return None
        return values

    def q_bool(self, name: str) -> bool | None:
        value = self.query.get(name)
        if value is None or value == "":
            return None
        if value.lower() in ("true", "1"):
            return True
        if value.lower() in ("false", "0"):
            return False
        self._qerr(name, "must be true or false")
        return None

    def q_datetime(self, name: str) -> str | None:
        value = self.query.get(name)
        if not value:
            return None
        try:
            return parse_datetime(value).strftime("%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            self._qerr(name, "must be an RFC 3339 date-time")
            return None

    def q_date(self, name: str) -> str | None:
        value = self.query.get(name)
        if not value:
            return None
        try:
            return parse_date(value).isoformat()
        except ValueError:
            self._qerr(name, "must be a date YYYY-MM-DD")
            return None

    def q_limit(self) -> int:
        value = self.query.get("limit")
        if value is None or value == "":
            return 25
        try:
            limit = int(value)
        except ValueError:
            limit = 0
        if not 1 <= limit <= 100:
            self._qerr("limit", "must be an integer from 1 to 100")
            return 25
        return limit

    def check_query(self) -> None:
        if self._query_errors:
            raise ApiError(400, "bad-request", "; ".join(f"{e['pointer']}: {e['detail']}" for e in self._query_errors),
                           errors=self._query_errors)

    # -- replies -------------------------------------------------------------------------------
    def url_for_path(self, path: str) -> str:
        root = self.request.scope.get("root_path", "")
        base = f"{self.request.url.scheme}://{self.request.url.netloc}{root}"
        return base + path

    def emit(self, event_type: str, obj: dict[str, Any], previous: dict[str, Any] | None = None, *,
             snapshot: dict[str, Any] | None = None) -> dict[str, Any]:
        return webhooks_dispatch.emit(self.state, self.tenant, event_type, obj, previous, snapshot=snapshot)


def _is_json(content_type: str) -> bool:
    media = content_type.split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def make_endpoint(op: Operation, state: RemoteOpsState) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        request_id = getattr(request.state, "request_id", "req_unknown")
        instance = request.url.path
        scope_key: tuple[str, ...] | None = None
        try:
            key = authenticate(request.headers.get("authorization"))
            decision = state.limiter.hit(key.key)
            request.state.rate_headers = decision.headers()
            if not decision.allowed:
                raise ApiError(429, "rate-limited",
                               f"Rate limit of {decision.limit} requests per {decision.window} s exceeded for "
                               f"this key; retry after {max(1, decision.reset_after)} s.",
                               headers={"Retry-After": str(max(1, decision.reset_after))})
            if op.method != "GET" and key.read_only:
                raise ApiError(403, "insufficient-scope",
                               "This API key is read-only; use a key with write access for this operation.")
            raw = await request.body()
            content_type = request.headers.get("content-type", "")
            if raw.strip() and not _is_json(content_type) and not (
                op.multipart and content_type.lower().startswith("multipart/form-data")
            ):
                raise ApiError(415, "unsupported-media-type",
                               "Send the request body as application/json.")
            raw_key = request.headers.get("idempotency-key")
            if op.idempotency == "key-required" and not raw_key:
                raise ApiError(400, "idempotency-key-required",
                               f"{op.operation_id} requires an Idempotency-Key header (a new UUIDv4 per "
                               "logical request; reuse it only when retrying the same request).")
            if raw_key is not None and op.method in ("POST", "PATCH"):
                idem_key = parse_key(raw_key)
                candidate = (key.tenant_id, op.method, request.url.path, idem_key)
                stored = state.idempotency.begin(candidate, fingerprint(raw))
                if stored is None:
                    scope_key = candidate  # this request owns the key until it finishes
                else:
                    headers = dict(stored.headers) | {"Idempotent-Replayed": "true"}
                    media = headers.pop("content-type", "application/json")
                    return Response(stored.body, status_code=stored.status, headers=headers, media_type=media)
            ctx = Ctx(request, state, key, raw, request_id)
            result = op.handler(ctx)
            reply: Reply = await result if inspect.isawaitable(result) else result
            response = _render(reply)
        except ApiError as error:
            response = problem_response(error, instance, request_id)
        except Exception:  # a bug in the emulator: answer like a real API would, and keep the log
            log.exception("unhandled error in %s", op.operation_id)
            failure = ApiError(500, "internal-error", "The sandbox failed unexpectedly; this is a bug.")
            response = problem_response(failure, instance, request_id)
        if scope_key is not None:
            state.idempotency.finish(scope_key, response.status_code, cast(bytes, response.body),
                                     {k.lower(): v for k, v in response.headers.items()})
        if op.method != "GET" and response.status_code < 300:
            state.save()
        await webhooks_dispatch.flush(state)
        return response

    return endpoint


def _render(reply: Reply) -> Response:
    if reply.content is not None:
        return Response(reply.content, status_code=reply.status, headers=reply.headers, media_type=reply.media_type)
    if reply.body is None and reply.status == 204:
        return Response(status_code=204, headers=reply.headers)
    return Response(json.dumps(reply.body), status_code=reply.status, headers=reply.headers,
                    media_type=reply.media_type)
