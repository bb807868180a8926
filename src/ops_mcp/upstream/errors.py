"""Upstream failures → errors a model can act on.

Every message says what happened and what to do next, in one or two sentences. Messages are built
from the status and a few known body fields only, then scrubbed of secrets and capped, so no token,
stack trace or HTML page can reach the model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from ..records import Frozen, Record, set_fields

MAX_MESSAGE_CHARS = 600
MAX_FIELD_ERRORS = 20

# Error kinds, stable strings the server and audit can switch on.
INVALID_ARGS = "invalid_args"
BAD_REQUEST = "bad_request"
UNAUTHORIZED = "unauthorized"
FORBIDDEN = "forbidden"
NOT_FOUND = "not_found"
CONFLICT = "conflict"
PRECONDITION_FAILED = "precondition_failed"
INVALID = "invalid"
RATE_LIMITED = "rate_limited"
UPSTREAM_ERROR = "upstream_error"
TIMEOUT = "timeout"
NETWORK = "network"
BAD_RESPONSE = "bad_response"

_TOKEN_PATTERNS = [
    re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(r"\b(?:ra|rops)_(?:live|test)_[A-Za-z0-9_-]+"),
    re.compile(r"\bwhsec_[A-Za-z0-9+/=_-]+"),
]
_HTML = re.compile(r"(?is)<\s*(?:!doctype|html|head|body)\b")
_TRACEBACK = re.compile(r"(?s)Traceback \(most recent call last\).*")


class UpstreamError(Record):
    __slots__ = ("kind", "message", "status", "retry_after_s", "details")
    kind: str
    message: str
    status: int | None
    retry_after_s: float | None
    details: dict[str, Any]

    def __init__(
        self,
        kind: str,
        message: str,
        status: int | None = None,
        retry_after_s: float | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.kind = kind
        self.message = message
        self.status = status
        self.retry_after_s = retry_after_s
        self.details = {} if details is None else details

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "message": self.message}
        if self.status is not None:
            out["status"] = self.status
        if self.retry_after_s is not None:
            out["retry_after_s"] = self.retry_after_s
        if self.details:
            out["details"] = self.details
        return out


class UpstreamCallError(Exception):
    """Raised by the helper API (``request_json``) when no HTTP answer could be obtained."""

    def __init__(self, error: UpstreamError) -> None:
        super().__init__(error.message)
        self.error = error


def scrub(text: str, secrets: Iterable[str] = (), limit: int = MAX_MESSAGE_CHARS) -> str:
    """Remove secrets, token-looking strings, tracebacks and HTML; cap the length."""
    if _HTML.search(text):
        text = "the back end returned an HTML error page"
    text = _TRACEBACK.sub("", text)
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "[redacted]")
    for pattern in _TOKEN_PATTERNS:
        text = pattern.sub("[redacted]", text)
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


class ErrorContext(Frozen):
    """What the mapper needs to know about the call to phrase an actionable message."""

    __slots__ = (
        "connection_name", "backend_title", "thing", "object_id", "list_tool", "is_write", "attempts", "secrets",
        "not_ready_codes",
    )
    connection_name: str
    backend_title: str
    thing: str  # e.g. "work order", from the endpoint path
    object_id: str | None
    list_tool: str | None
    is_write: bool
    attempts: int
    secrets: tuple[str, ...]
    not_ready_codes: frozenset[str]  # from the back end's profile

    def __init__(
        self,
        connection_name: str,
        backend_title: str,
        thing: str = "object",
        object_id: str | None = None,
        list_tool: str | None = None,
        is_write: bool = False,
        attempts: int = 1,
        secrets: tuple[str, ...] = (),
        not_ready_codes: frozenset[str] = frozenset(),
    ) -> None:
        set_fields(
            self, connection_name=connection_name, backend_title=backend_title, thing=thing, object_id=object_id,
            list_tool=list_tool, is_write=is_write, attempts=attempts, secrets=secrets,
            not_ready_codes=not_ready_codes,
        )


def parse_body(content: bytes) -> Any:
    """The JSON body, or None when it is not JSON (HTML proxies, empty bodies)."""
    if not content:
        return None
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return None


def _text(value: Any) -> str | None:
    """A human string from Remote's ``message`` (str, {code,message}, list) or problem fields."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for key in ("message", "detail", "title", "code"):
            text = value.get(key)
            if isinstance(text, str):
                return text
        return None
    if isinstance(value, list):
        parts = [t for t in (_text(v) for v in value[:5]) if t]
        return "; ".join(parts) or None
    return str(value)


def field_errors(body: Any) -> dict[str, list[str]]:
    """Per-field messages from either error shape (``{errors:{f:[m]}}`` or ``errors[]{pointer,detail}``)."""
    if not isinstance(body, dict):
        return {}
    errors = body.get("errors")
    out: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for name, messages in errors.items():
            if isinstance(messages, list):
                out[str(name)] = [str(_text(m) or m) for m in messages[:5]]
            else:
                out[str(name)] = [str(_text(messages) or messages)]
    elif isinstance(errors, list):
        for item in errors:
            if not isinstance(item, dict):
                continue
            pointer = item.get("pointer") or item.get("field") or item.get("param") or ""
            name = str(pointer).lstrip("/#").replace("/", ".") or "body"
            out.setdefault(name, []).append(
                str(item.get("detail") or item.get("message") or item.get("code"))
            )
    return dict(list(out.items())[:MAX_FIELD_ERRORS])


def format_field_errors(errors: dict[str, list[str]]) -> str:
    return "; ".join(f"{name}: {', '.join(msgs)}" for name, msgs in errors.items())


def _describe(body: Any) -> tuple[str | None, str | None]:
    """(code, human text) from a problem+json or Remote body."""
    if not isinstance(body, dict):
        return None, None
    code = body.get("code") if isinstance(body.get("code"), str) else None
    message = body.get("message")
    if isinstance(message, dict) and isinstance(message.get("code"), str):
        code = code or message["code"]
    text = _text(body.get("detail")) or _text(message) or _text(body.get("title")) or _text(body.get("error"))
    return code, text


# Body fields worth passing on to the model (they say what to do next); never the whole body.
_DETAIL_KEYS = ("request_id", "allowed_transitions", "existing_id", "current_status", "status_now")


class _Refusal(Frozen):
    """One error answer, digested: what the phrasing of each status draws on."""

    __slots__ = ("status", "ctx", "code", "said", "fields", "details", "retry_after_s")
    status: int
    ctx: ErrorContext
    code: str | None
    said: str  # " The back end said: …." or ""
    fields: dict[str, list[str]]
    details: dict[str, Any]
    retry_after_s: float | None

    def __init__(
        self,
        status: int,
        ctx: ErrorContext,
        code: str | None,
        said: str,
        fields: dict[str, list[str]],
        details: dict[str, Any],
        retry_after_s: float | None,
    ) -> None:
        set_fields(self, status=status, ctx=ctx, code=code, said=said, fields=fields, details=details,
                   retry_after_s=retry_after_s)

    @property
    def where(self) -> str:
        return f"{self.ctx.backend_title} ({self.ctx.connection_name})"


def map_http_error(
    status: int, body: Any, ctx: ErrorContext, retry_after_s: float | None = None
) -> UpstreamError:
    """An error response → UpstreamError with a message saying what to do next."""
    code, text = _describe(body)
    fields = field_errors(body)
    details: dict[str, Any] = {}
    if code:
        details["code"] = code
    if isinstance(body, dict):
        details.update({key: body[key] for key in _DETAIL_KEYS if key in body})
    if fields:
        details["fields"] = fields
    said = f" The back end said: {text}." if text else ""
    refusal = _Refusal(status, ctx, code, said, fields, details, retry_after_s)
    kind, message = _phrase(refusal)
    return UpstreamError(
        kind=kind,
        message=scrub(message, ctx.secrets),
        status=status,
        retry_after_s=retry_after_s,
        details=_scrub_details(details, ctx),
    )


def _phrase(r: _Refusal) -> tuple[str, str]:
    """(kind, message) for the status."""
    phrase = _PHRASES.get(r.status)
    if phrase is not None:
        return phrase(r)
    if r.status >= 500:
        return _server_failed(r)
    return BAD_REQUEST, f"{r.where} answered {r.status}.{r.said}"


def _unauthorized(r: _Refusal) -> tuple[str, str]:
    return UNAUTHORIZED, (
        f"ops-mcp's credentials for {r.where} were rejected (401). This is not something you can fix: "
        "tell the operator that the connection needs new credentials."
    )


def _forbidden(r: _Refusal) -> tuple[str, str]:
    return FORBIDDEN, (
        f"{r.where} refused this operation (403): the configured credentials lack the permission.{r.said} "
        "Do not retry; tell the operator if this action is needed."
    )


def _not_found(r: _Refusal) -> tuple[str, str]:
    ctx = r.ctx
    if r.code is not None and r.code in ctx.not_ready_codes:
        return NOT_FOUND, f"The {ctx.thing}'s {r.code.split('-')[0]} is not ready yet.{r.said} Try again in a minute."
    target = f"no {ctx.thing} with id {ctx.object_id}" if ctx.object_id else f"the {ctx.thing} was not found"
    list_hint = f"use {ctx.list_tool}" if ctx.list_tool else "use the matching list tool"
    return NOT_FOUND, f"{r.where} has {target}.{r.said} Do not guess ids: {list_hint} first to find the right one."


def _conflict(r: _Refusal) -> tuple[str, str]:
    message = f"{r.where} refused this because of the {r.ctx.thing}'s current state (409).{r.said}"
    allowed = r.details.get("allowed_transitions")
    if isinstance(allowed, list):
        shown = ", ".join(map(str, allowed)) if allowed else "none"
        message += f" Allowed next statuses: {shown}."
    if "existing_id" in r.details:
        message += f" It already exists as {r.details['existing_id']}."
    return CONFLICT, message + " Fetch the current state before deciding what to do."


def _precondition_failed(r: _Refusal) -> tuple[str, str]:
    return PRECONDITION_FAILED, (
        f"The {r.ctx.thing} changed since it was read (412).{r.said} Fetch it again and retry with its "
        "current version."
    )


def _rejected(r: _Refusal) -> tuple[str, str]:
    kind = INVALID if r.status == 422 or r.fields else BAD_REQUEST
    if r.fields:
        message = f"{r.where} rejected the request ({r.status}): {format_field_errors(r.fields)}."
    else:
        message = f"{r.where} rejected the request ({r.status}).{r.said}"
    return kind, message + " Fix the arguments and try again."


def _rate_limited(r: _Refusal) -> tuple[str, str]:
    wait = f"{r.retry_after_s:.0f}" if r.retry_after_s is not None else "60"
    return RATE_LIMITED, f"{r.where} is rate limiting this connection. Retry in about {wait} seconds."


def _server_failed(r: _Refusal) -> tuple[str, str]:
    message = f"{r.where} failed ({r.status}) after {_attempts(r.ctx.attempts)}.{r.said}"
    return UPSTREAM_ERROR, message + (write_uncertain_hint(r.ctx) if r.ctx.is_write else " Try again later.")


_PHRASES: dict[int, Callable[[_Refusal], tuple[str, str]]] = {
    400: _rejected,
    401: _unauthorized,
    403: _forbidden,
    404: _not_found,
    409: _conflict,
    412: _precondition_failed,
    422: _rejected,
    429: _rate_limited,
}


def _attempts(count: int) -> str:
    return f"{count} attempt{'s' if count != 1 else ''}"


def write_uncertain_hint(ctx: ErrorContext) -> str:
    check = ctx.list_tool or "the matching list or get tool"
    return f" The write may or may not have happened — check with {check} before retrying."


def transport_error(kind: str, ctx: ErrorContext, uncertain_write: bool) -> UpstreamError:
    """Timeout or network failure after the retries that were allowed."""
    where = f"{ctx.backend_title} ({ctx.connection_name})"
    what = "did not answer in time" if kind == TIMEOUT else "could not be reached"
    message = f"{where} {what} ({_attempts(ctx.attempts)})."
    details: dict[str, Any] = {}
    if uncertain_write:
        message += write_uncertain_hint(ctx)
        details["outcome"] = "unknown"
    else:
        message += " Try again later."
    return UpstreamError(kind=kind, message=scrub(message, ctx.secrets), details=details)


def _scrub_details(details: dict[str, Any], ctx: ErrorContext) -> dict[str, Any]:
    # Details come from the upstream body; keep them small and secret-free.
    text = scrub(json.dumps(details, default=str), ctx.secrets, limit=4000)
    try:
        scrubbed: dict[str, Any] = json.loads(text)
    except ValueError:
        return {"code": details.get("code")} if details.get("code") else {}
    return scrubbed
