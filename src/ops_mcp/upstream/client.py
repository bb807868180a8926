"""The shared upstream client: one pooled HTTP client per back end, used by every MCP session.

``call`` turns one tool call into one (or, with ``max_items``, several) upstream requests and a
``CallOutcome``. The steps are in their own modules; this one sequences them:

    build_request → forms check → [rate budget → auth → send → classify → retry?]* → shape
"""

from __future__ import annotations

import contextlib
import math
import random
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import anyio
import httpx

from ..catalogue.models import BackendProfile, Endpoint, Manifest, PagePagination
from . import errors as E
from .auth import AuthError, TokenProvider
from .connection import Connection
from .errors import ErrorContext, UpstreamCallError, UpstreamError, parse_body
from .events import (
    RATE_LIMIT_WAIT,
    REQUEST,
    RETRY,
    TOKEN_REQUEST,
    UPSTREAM_429,
    EventSink,
    UpstreamEvent,
    UpstreamStats,
)
from .forms import FormProblem, FormValidator
from .pagination import page_info, pagination_fields, size_param
from .ratelimit import BudgetExhausted, BudgetRegistry, HeaderReading, read_headers
from .request import DEFAULT_MAX_UPLOAD_BYTES, InvalidArguments, PreparedRequest, build_request
from .retry import RETRYABLE_STATUSES, RetryPolicy, retry_allowed
from .shaping import drop_large_fields, fit_items, page_continuation, project, size_of, unwrap

Progress = Callable[[float, "float | None", str], Awaitable[None]]
USER_AGENT = "ops-mcp/0.1"
_PLACEHOLDER = re.compile(r"^\{.+\}$")


@dataclass(frozen=True)
class ClientLimits:
    max_connections: int = 50  # per back end
    max_keepalive_connections: int = 20
    keepalive_expiry_s: float = 30.0
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    form_cache_ttl_s: float = 600.0
    max_pages: int = 50  # a max_items walk never fetches more pages than this
    # Length of a rate-limit window; `per_minute` implies 60 s. Emulators with compressed time
    # (tests) set it shorter.
    rate_window_s: float = 60.0
    burst_fraction: float = 0.1  # share of a window's budget that may be spent at once


@dataclass(frozen=True)
class BinaryContent:
    data: bytes = field(repr=False)
    mime_type: str
    filename: str | None = None


@dataclass
class CallOutcome:
    ok: bool
    status: int | None
    data: dict[str, Any] | None
    binary: BinaryContent | None = None
    error: UpstreamError | None = None
    request_id: str | None = None
    attempts: int = 0
    rate_limit_wait_s: float = 0.0
    duration_ms: float = 0.0


@dataclass
class _Response:
    status: int
    headers: httpx.Headers
    content: bytes
    body: Any  # parsed JSON, or None
    is_json: bool


@dataclass
class _CallState:
    """What one tool call has spent so far (across pages and retries)."""

    attempts: int = 0
    rate_wait_s: float = 0.0
    request_id: str | None = None


class _Failed(Exception):
    def __init__(self, error: UpstreamError) -> None:
        super().__init__(error.message)
        self.error = error


def _thing(segment: str) -> str:
    word = segment.replace("-", " ").replace("_", " ")
    if word.endswith("ies"):
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    return word


class UpstreamClient:
    def __init__(
        self,
        profiles: Mapping[str, BackendProfile],
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy = RetryPolicy(),
        limits: ClientLimits = ClientLimits(),
        max_result_bytes: int = 60_000,
        clock: Callable[[], float] = time.time,
        catalogue: Mapping[str, Manifest] | None = None,
        events: EventSink | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._profiles = dict(profiles)
        self._transport = transport
        self._retry = retry
        self._limits = limits
        self._max_result_bytes = max_result_bytes
        self._clock = clock
        self._rng = rng or random.Random()
        self._http: dict[str, httpx.AsyncClient] = {}
        self._budgets = BudgetRegistry(clock, limits.rate_window_s, limits.burst_fraction)
        self._tokens = TokenProvider(self._post_token_form, clock, self._on_token_request)
        self._forms = FormValidator(self._get_json_for_forms, clock, limits.form_cache_ttl_s)
        self._events = events
        self.stats = UpstreamStats()
        # Back ends that take Idempotency-Key on every POST (RemoteOps): learnt from the catalogue
        # when given, else from the first endpoint that declares a key.
        self._keyed_backends: set[str] = set()
        self._hint_tools: dict[tuple[str, str], str] = {}
        if catalogue is not None:
            for name, manifest in catalogue.items():
                self._profiles.setdefault(name, manifest.backend)
                if any(e.idempotency_key != "none" for e in manifest.endpoints):
                    self._keyed_backends.add(name)
                for endpoint in manifest.endpoints:
                    if endpoint.method == "GET":
                        self._hint_tools.setdefault((name, endpoint.path), endpoint.tool)

    # -- lifecycle -------------------------------------------------------------------------------
    def _client(self, backend: str) -> httpx.AsyncClient:
        client = self._http.get(backend)
        if client is None:
            limits = httpx.Limits(
                max_connections=self._limits.max_connections,
                max_keepalive_connections=self._limits.max_keepalive_connections,
                keepalive_expiry=self._limits.keepalive_expiry_s,
            )
            client = httpx.AsyncClient(
                transport=self._transport,
                limits=limits,
                headers={"user-agent": USER_AGENT},
                follow_redirects=False,
            )
            self._http[backend] = client
        return client

    async def aclose(self) -> None:
        clients, self._http = list(self._http.values()), {}
        for client in clients:
            await client.aclose()

    async def __aenter__(self) -> UpstreamClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- events ----------------------------------------------------------------------------------
    def _emit(self, event: UpstreamEvent) -> None:
        self.stats.record(event)
        if self._events is not None:
            with contextlib.suppress(Exception):  # an observer must never break a call
                self._events(event)

    def _on_token_request(self, connection: Connection, status: int | None) -> None:
        self._emit(UpstreamEvent(TOKEN_REQUEST, connection.backend, connection.name, status=status))

    # -- public API ------------------------------------------------------------------------------
    async def call(
        self,
        connection: Connection,
        endpoint: Endpoint,
        arguments: dict[str, Any],
        *,
        progress: Progress | None = None,
        idempotency_key: str | None = None,
    ) -> CallOutcome:
        started = time.perf_counter()
        state = _CallState()
        ctx = self._context(connection, endpoint, None)
        try:
            prepared = build_request(endpoint, arguments, max_upload_bytes=self._limits.max_upload_bytes)
            ctx = self._context(connection, endpoint, prepared.object_id)
            if endpoint.forms and endpoint.access == "write":
                await self._check_forms(connection, endpoint, arguments, prepared, ctx)
            key = idempotency_key or (str(uuid.uuid4()) if self._keyed(connection, endpoint) else None)
            max_items = arguments.get("max_items") if endpoint.paginated else None
            fields = arguments.get("fields") if endpoint.access == "read" else None
            if max_items:
                status, data = await self._walk(
                    connection, endpoint, prepared, int(max_items), state, ctx, progress, fields
                )
                binary = None
            else:
                status, data, binary = await self._single(
                    connection, endpoint, prepared, key, state, ctx, fields
                )
            return self._outcome(True, status, data, binary, None, state, started)
        except InvalidArguments as exc:
            error = UpstreamError(
                E.INVALID_ARGS, E.scrub(f"{exc} — fix the arguments and try again.", ctx.secrets)
            )
            return self._outcome(False, None, None, None, error, state, started)
        except _Failed as exc:
            return self._outcome(False, exc.error.status, None, None, exc.error, state, started)

    async def request_json(
        self, connection: Connection, method: str, path: str, *, params: dict[str, Any] | None = None
    ) -> tuple[int, Any]:
        """A plain authenticated request for helpers (form schemas, name lookups).

        Goes through the same budget, auth and retries as ``call`` (GET is retried); returns the
        status and the parsed JSON body (None if not JSON). Raises UpstreamCallError when no answer
        could be had (network, timeout, rate limit).
        """
        state = _CallState()
        ctx = ErrorContext(
            connection.display_name, self._profile(connection).title, secrets=tuple(connection.secrets())
        )
        prepared = PreparedRequest(method.upper(), path).with_params(params or {})
        try:
            response = await self._execute(connection, prepared, None, None, state, ctx, binary_ok=False)
        except _Failed as exc:
            raise UpstreamCallError(exc.error) from None
        return response.status, response.body

    # -- steps -----------------------------------------------------------------------------------
    def _profile(self, connection: Connection) -> BackendProfile:
        try:
            return self._profiles[connection.backend]
        except KeyError:
            raise ValueError(f"no profile for back end {connection.backend!r}") from None

    def _keyed(self, connection: Connection, endpoint: Endpoint) -> bool:
        if endpoint.idempotency_key != "none":
            self._keyed_backends.add(connection.backend)
            return True
        return endpoint.method == "POST" and connection.backend in self._keyed_backends

    def _context(self, connection: Connection, endpoint: Endpoint, object_id: str | None) -> ErrorContext:
        segments = [s for s in endpoint.path.split("/") if s]
        thing, collection = "object", None
        last_param = max((i for i, s in enumerate(segments) if _PLACEHOLDER.match(s)), default=None)
        if last_param is not None and last_param > 0:
            thing = _thing(segments[last_param - 1])
            collection = "/" + "/".join(segments[:last_param])
        elif segments:
            thing = _thing(segments[-1])
        backend = connection.backend
        list_tool = None
        candidates = [collection] if endpoint.access == "read" else [endpoint.path, collection]
        if endpoint.access == "write" and last_param is not None:
            candidates.append("/" + "/".join(segments[: last_param + 1]))
        for path in candidates:
            if (
                path
                and (backend, path) in self._hint_tools
                and self._hint_tools[(backend, path)] != endpoint.tool
            ):
                list_tool = self._hint_tools[(backend, path)]
                break
        return ErrorContext(
            connection_name=connection.display_name,
            backend_title=self._profile(connection).title,
            thing=thing,
            object_id=object_id,
            list_tool=list_tool,
            is_write=endpoint.access == "write",
            secrets=tuple(connection.secrets()),
        )

    async def _check_forms(
        self,
        connection: Connection,
        endpoint: Endpoint,
        arguments: dict,
        prepared: PreparedRequest,
        ctx: ErrorContext,
    ) -> None:
        body = prepared.json_body
        try:
            problems = await self._forms.check(self._profile(connection).forms, connection, endpoint, arguments, body)
        except UpstreamCallError as exc:
            raise _Failed(exc.error) from None
        except FormProblem as exc:
            if exc.status is not None and exc.status != 404:
                raise _Failed(E.map_http_error(exc.status, exc.body, ctx)) from None
            message = (
                "The country form for this request could not be found (check the country code or the "
                "employment id; list them first if unsure)."
            )
            raise _Failed(UpstreamError(E.INVALID_ARGS, message, exc.status)) from None
        if problems:
            text = E.format_field_errors(problems)
            message = E.scrub(
                f"The request does not match the country's form: {text}. Nothing was sent; fix these fields.",
                ctx.secrets,
            )
            raise _Failed(UpstreamError(E.INVALID, message, None, details={"fields": problems}))

    async def _single(
        self,
        connection: Connection,
        endpoint: Endpoint,
        prepared: PreparedRequest,
        key: str | None,
        state: _CallState,
        ctx: ErrorContext,
        fields: Any = None,
    ) -> tuple[int, dict[str, Any] | None, BinaryContent | None]:
        response = await self._execute(connection, prepared, endpoint, key, state, ctx)
        if response.status >= 300:
            raise _Failed(self._http_error(response, ctx, state))
        if not response.is_json and response.content and endpoint.response.content_type != "application/json":
            mime = response.headers.get("content-type", endpoint.response.content_type).split(";")[0].strip()
            binary = BinaryContent(response.content, mime, _filename(response.headers, endpoint, prepared))
            return (
                response.status,
                {"content_type": mime, "size": len(response.content), "filename": binary.filename},
                binary,
            )
        data = self._project(connection, endpoint, unwrap(response.body, endpoint.response), fields)
        if endpoint.paginated and endpoint.response.list_key:
            pagination = self._profile(connection).pagination
            start = _start_args(prepared, pagination)
            data = await self._fit_list(
                connection,
                endpoint,
                prepared,
                data,
                [(start, len(data.get(endpoint.response.list_key) or []))],
                state,
                ctx,
            )
        else:
            data = self._fit_object(data, connection, endpoint)
        return response.status, data, None

    def _http_error(self, response: _Response, ctx: ErrorContext, state: _CallState) -> UpstreamError:
        retry_after = None
        if response.status == 429:
            raw = response.headers.get("retry-after")
            retry_after = float(raw) if raw and raw.replace(".", "", 1).isdigit() else None
        attempts_ctx = replace(ctx, attempts=state.attempts)
        return E.map_http_error(response.status, response.body, attempts_ctx, retry_after)

    # -- the request loop ------------------------------------------------------------------------
    async def _execute(
        self,
        connection: Connection,
        prepared: PreparedRequest,
        endpoint: Endpoint | None,
        key: str | None,
        state: _CallState,
        ctx: ErrorContext,
        *,
        binary_ok: bool = True,
    ) -> _Response:
        """Send with budget, auth and retries; returns the final response (any status).

        Raises _Failed for rate limits beyond the allowance, and for transport failures or
        unreadable bodies once retries are exhausted or not allowed.
        """
        profile = self._profile(connection)
        budget = self._budgets.get(connection.effective_budget_key, profile.rate_limit, connection.per_minute)
        is_read = prepared.method == "GET"
        can_retry = retry_allowed(is_read, key is not None)
        expects_json = (
            endpoint is None or endpoint.response.content_type == "application/json" or not binary_ok
        )
        refreshed = False
        error_attempts = 0
        tool = endpoint.tool if endpoint else None
        while True:
            # 1. a slot in the rate budget
            allowance = self._retry.max_rate_limit_wait_s - state.rate_wait_s
            try:
                ticket, waited = await budget.acquire(allowance)
            except BudgetExhausted as exc:
                retry_in = math.ceil(exc.retry_after_s)
                raise _Failed(self._rate_limited(ctx, retry_in)) from None
            if waited > 0:
                state.rate_wait_s += waited
                self._emit(
                    UpstreamEvent(RATE_LIMIT_WAIT, connection.backend, connection.name, tool, wait_s=waited)
                )
            # 2. credentials (a failure here means nothing was sent, so retrying is always safe)
            try:
                authorization, token = await self._tokens.header(connection)
            except AuthError as exc:
                budget.observe(ticket, HeaderReading(), None, self._clock())
                error_attempts += 1
                state.attempts += 1
                if exc.transport and error_attempts < self._retry.max_attempts:
                    await self._backoff(connection, tool, error_attempts, None, "token endpoint")
                    continue
                kind = E.NETWORK if exc.transport else E.UNAUTHORIZED
                message = (
                    f"ops-mcp could not obtain a token for {ctx.backend_title} ({ctx.connection_name}): {exc}. "
                    + (
                        "Try again later."
                        if exc.transport
                        else "Tell the operator the OAuth client credentials need fixing."
                    )
                )
                raise _Failed(UpstreamError(kind, E.scrub(message, ctx.secrets), exc.status)) from None
            # 3. send
            state.attempts += 1
            headers = {
                "authorization": authorization,
                "accept": "application/json" if expects_json else "*/*",
            }
            if key is not None:
                headers["idempotency-key"] = key
            sent = time.perf_counter()
            try:
                response = await self._send(connection, prepared, headers)
            except (httpx.TransportError, TimeoutError) as exc:
                budget.observe(ticket, HeaderReading(), None, self._clock())
                kind = E.TIMEOUT if isinstance(exc, TimeoutError | httpx.TimeoutException) else E.NETWORK
                self._emit(
                    UpstreamEvent(
                        REQUEST,
                        connection.backend,
                        connection.name,
                        tool,
                        None,
                        duration_ms=_ms(sent),
                        detail=kind,
                    )
                )
                error_attempts += 1
                if can_retry and error_attempts < self._retry.max_attempts:
                    await self._backoff(connection, tool, error_attempts, None, kind)
                    continue
                err_ctx = replace(ctx, attempts=state.attempts)
                raise _Failed(E.transport_error(kind, err_ctx, uncertain_write=not is_read)) from None
            now = self._clock()
            reading = read_headers(response.headers, profile.rate_limit, now, time.time())
            budget.observe(ticket, reading, response.status_code, now)
            state.request_id = next(
                (response.headers[h] for h in profile.request_id_headers if h in response.headers), state.request_id
            )
            self._emit(
                UpstreamEvent(
                    REQUEST,
                    connection.backend,
                    connection.name,
                    tool,
                    response.status_code,
                    duration_ms=_ms(sent),
                )
            )
            status = response.status_code
            content = response.content
            content_type = response.headers.get("content-type", "")
            is_json_type = "json" in content_type or not content_type
            body = parse_body(content, content_type) if (is_json_type or expects_json) else None
            result = _Response(status, response.headers, content, body, body is not None)

            # 4. classify
            if status == 401 and self._tokens.can_refresh(connection) and not refreshed:
                refreshed = True  # the server refused the request, so repeating it is safe
                self._tokens.invalidate(connection, token)
                self._emit(
                    UpstreamEvent(
                        RETRY, connection.backend, connection.name, tool, 401, detail="token refresh"
                    )
                )
                continue
            if status == 429:
                self._emit(UpstreamEvent(UPSTREAM_429, connection.backend, connection.name, tool, 429))
                retry_at = reading.retry_at or reading.reset_at or now + 1.0
                wait = max(0.0, retry_at - now)
                if state.rate_wait_s + wait > self._retry.max_rate_limit_wait_s:
                    raise _Failed(self._rate_limited(ctx, math.ceil(wait) or 1))
                # A 429 was refused before running: waiting and repeating is safe even for writes.
                await anyio.sleep(wait)
                state.rate_wait_s += wait
                self._emit(
                    UpstreamEvent(RATE_LIMIT_WAIT, connection.backend, connection.name, tool, wait_s=wait)
                )
                continue
            if (
                status == 409
                and key is not None
                and isinstance(body, dict)
                and body.get("code") in profile.errors.in_progress_codes
            ):
                error_attempts += 1
                if error_attempts < self._retry.max_attempts + 2:
                    retry_after = _float(response.headers.get("retry-after")) or 1.0
                    await self._backoff(
                        connection, tool, error_attempts, retry_after, "request in progress", floor_only=True
                    )
                    continue
                return result
            if status in RETRYABLE_STATUSES:
                error_attempts += 1
                if can_retry and error_attempts < self._retry.max_attempts:
                    await self._backoff(
                        connection,
                        tool,
                        error_attempts,
                        _float(response.headers.get("retry-after")),
                        str(status),
                    )
                    continue
                return result
            if 200 <= status < 300 and expects_json and content and body is None:
                # Truncated or non-JSON 2xx: the request ran, but we cannot read its answer.
                error_attempts += 1
                if can_retry and error_attempts < self._retry.max_attempts:
                    await self._backoff(connection, tool, error_attempts, None, "unreadable body")
                    continue
                tries = f"{error_attempts} attempt{'s' if error_attempts != 1 else ''}"
                message = f"{ctx.backend_title} ({ctx.connection_name}) sent an unreadable answer ({status}) ({tries})."
                # The same guidance as any other failed call: reads can simply be repeated.
                message += E.write_uncertain_hint(ctx) if not is_read else " Try again later."
                raise _Failed(
                    UpstreamError(
                        E.BAD_RESPONSE,
                        E.scrub(message, ctx.secrets),
                        status,
                        details={"outcome": "unknown"} if not is_read else {},
                    )
                )
            return result

    async def _send(
        self, connection: Connection, prepared: PreparedRequest, headers: dict[str, str]
    ) -> httpx.Response:
        client = self._client(connection.backend)
        kwargs: dict[str, Any] = {
            "params": prepared.params or None,
            "headers": headers,
            "timeout": connection.timeout,
        }
        if prepared.files is not None:
            kwargs["data"] = prepared.form_data
            kwargs["files"] = prepared.files
        elif prepared.has_json_body:
            kwargs["json"] = prepared.json_body
        # fail_after also bounds in-process transports, which ignore httpx's timeouts.
        with anyio.fail_after(connection.timeout):
            return await client.request(prepared.method, connection.url(prepared.path), **kwargs)

    async def _post_token_form(
        self, connection: Connection, path: str, form: dict[str, str], basic: tuple[str, str]
    ) -> httpx.Response:
        client = self._client(connection.backend)
        with anyio.fail_after(connection.timeout):
            return await client.post(
                connection.url(path),
                data=form,
                auth=basic,
                headers={"accept": "application/json"},
                timeout=connection.timeout,
            )

    async def _backoff(
        self,
        connection: Connection,
        tool: str | None,
        retry_number: int,
        retry_after: float | None,
        reason: str,
        *,
        floor_only: bool = False,
    ) -> None:
        if floor_only and retry_after is not None:
            delay = retry_after
        else:
            delay = self._retry.backoff(retry_number, self._rng, retry_after)
        self._emit(
            UpstreamEvent(RETRY, connection.backend, connection.name, tool, wait_s=delay, detail=reason)
        )
        await anyio.sleep(delay)

    async def _report(self, progress: Progress, done: float, total: float | None, message: str) -> None:
        # Progress is best effort: a client that went away must not fail the call.
        with contextlib.suppress(Exception):
            await progress(done, total, message)

    def _rate_limited(self, ctx: ErrorContext, retry_in: int) -> UpstreamError:
        message = (
            f"{ctx.backend_title} ({ctx.connection_name}) rate limit is used up for now. "
            f"Retry in about {retry_in} seconds; nothing was sent."
        )
        return UpstreamError(E.RATE_LIMITED, message, 429, retry_after_s=float(retry_in))

    async def _get_json_for_forms(
        self, connection: Connection, path: str, params: dict | None
    ) -> tuple[int, Any]:
        return await self.request_json(connection, "GET", path, params=params)

    # -- pagination and shaping ------------------------------------------------------------------
    async def _walk(
        self,
        connection: Connection,
        endpoint: Endpoint,
        prepared: PreparedRequest,
        max_items: int,
        state: _CallState,
        ctx: ErrorContext,
        progress: Progress | None,
        fields: Any = None,
    ) -> tuple[int, dict[str, Any]]:
        """Follow pages until ``max_items`` items, the last page, or the size cap."""
        pagination = self._profile(connection).pagination
        list_key = endpoint.response.list_key or "data"
        size_name = size_param(pagination)
        requested = _int(prepared.params.get(size_name))
        page_size = min(pagination.max_limit, requested or max_items, max_items)
        items: list[Any] = []
        pages: list[tuple[dict[str, Any], int]] = []  # (arguments that fetched it, items on it)
        args = {**_start_args(prepared, pagination), size_name: page_size}
        last: dict[str, Any] = {}
        status = 200
        fetched_bytes = 0
        for page_number in range(1, self._limits.max_pages + 1):
            if not isinstance(pagination, PagePagination):
                args[size_name] = min(page_size, max_items - len(items))
            response = await self._execute(connection, prepared.with_params(args), endpoint, None, state, ctx)
            if response.status >= 300:
                if not items:
                    raise _Failed(self._http_error(response, ctx, state))
                break  # keep what we have; `next` tells how to resume
            status = response.status
            last = unwrap(response.body, endpoint.response)
            page_items = last.get(list_key) or []
            items.extend(page_items)
            pages.append((dict(args), len(page_items)))
            fetched_bytes += size_of(page_items)
            info = page_info(last, pagination, args.get(size_name))
            total = min(info.total, max_items) if info.total is not None else None
            if progress is not None:
                await self._report(
                    progress,
                    float(min(len(items), max_items)),
                    float(total) if total is not None else None,
                    f"fetched page {page_number}: {min(len(items), max_items)} items",
                )
            if not info.has_more or not page_items or len(items) >= max_items or info.next_args is None:
                break
            if fetched_bytes > self._max_result_bytes:
                break  # more would be dropped by the size cap anyway
            args = {**args, **info.next_args}
        merged = self._project(connection, endpoint, {**last, list_key: items}, fields)
        return status, await self._fit_list(
            connection, endpoint, prepared, merged, pages, state, ctx, max_items=max_items
        )

    async def _fit_list(
        self,
        connection: Connection,
        endpoint: Endpoint,
        prepared: PreparedRequest,
        result: dict[str, Any],
        pages: list[tuple[dict[str, Any], int]],
        state: _CallState,
        ctx: ErrorContext,
        *,
        max_items: int | None = None,
    ) -> dict[str, Any]:
        """Apply ``max_items`` and the byte cap to a list result; say how to continue when cut."""
        pagination = self._profile(connection).pagination
        list_key = endpoint.response.list_key or "data"
        items = result.get(list_key) or []
        keep = len(items) if max_items is None else min(len(items), max_items)
        fitted = fit_items({**result, list_key: items[:keep]}, list_key, self._max_result_bytes)
        truncated_by_size = fitted is not None
        if fitted is not None:
            keep = fitted
        if keep == len(items):
            if len(pages) > 1 or max_items is not None:
                info = page_info(
                    result, pagination, pages[-1][0].get(size_param(pagination)) if pages else None
                )
                if info.next_args is not None:
                    result = {**result, "next": info.next_args}
            return result
        out = {**result, list_key: items[:keep]}
        if truncated_by_size:
            out["truncated"] = True
        out["next"] = await self._continuation(connection, endpoint, prepared, pages, keep, state, ctx)
        if isinstance(pagination, PagePagination):
            pass  # page fields describe the last page fetched; `next` is the exact resume point
        elif out["next"] and pagination.cursor_param in out["next"]:
            out[pagination.next_cursor_field] = out["next"][pagination.cursor_param]
            out[pagination.has_more_field] = True
        return out

    async def _continuation(
        self,
        connection: Connection,
        endpoint: Endpoint,
        prepared: PreparedRequest,
        pages: list[tuple[dict[str, Any], int]],
        keep: int,
        state: _CallState,
        ctx: ErrorContext,
    ) -> dict[str, Any] | None:
        pagination = self._profile(connection).pagination
        if not pages:
            return None
        if isinstance(pagination, PagePagination):
            first_args = pages[0][0]
            # Without an explicit size, a truncated first page was a full one of the default size.
            size = _int(first_args.get(pagination.size_param)) or pages[0][1] or 1
            page = _int(first_args.get(pagination.page_param)) or 1
            return page_continuation((page - 1) * size, keep, pagination.max_limit)
        # Cursor: find the page where the cut falls and ask the back end for a cursor right after the
        # last item kept (a cursor is opaque, so only the server can make one).
        seen = 0
        for args, count in pages:
            if keep < seen + count:
                kept_here = keep - seen
                start = {k: v for k, v in args.items() if k != pagination.limit_param}
                if kept_here == 0:
                    return {**start, pagination.limit_param: max(1, count)}
                try:
                    again = await self._execute(
                        connection,
                        prepared.with_params({**start, pagination.limit_param: kept_here}),
                        endpoint,
                        None,
                        state,
                        ctx,
                    )
                except _Failed:
                    again = None
                if again is not None and again.status < 300:
                    info = page_info(unwrap(again.body, endpoint.response), pagination, None)
                    if info.next_args:
                        return {**info.next_args, pagination.limit_param: kept_here}
                return {**start, pagination.limit_param: kept_here}
            seen += count
        return None

    def _fit_object(self, data: dict[str, Any], connection: Connection, endpoint: Endpoint) -> dict[str, Any]:
        if size_of(data) <= self._max_result_bytes:
            return data
        list_key = endpoint.response.list_key
        kept = fit_items(data, list_key, self._max_result_bytes)
        if kept is not None and list_key:
            dropped = len(data[list_key]) - kept
            return {
                **data,
                list_key: data[list_key][:kept],
                "truncated": True,
                "next": f"{dropped} more items were left out; ask with `fields` to get fewer fields per item",
            }
        out, omitted = drop_large_fields(data, self._max_result_bytes, set())
        return {
            **out,
            "truncated": True,
            "omitted_fields": omitted,
            "next": "ask for the omitted fields with `fields` to get them",
        }

    def _project(
        self, connection: Connection, endpoint: Endpoint, data: dict[str, Any], fields: Any
    ) -> dict[str, Any]:
        if not fields or not isinstance(fields, list):
            return data
        pagination = self._profile(connection).pagination
        keep = pagination_fields(pagination) | {"truncated", "next", "omitted_fields"}
        return project(data, [str(f) for f in fields], endpoint.response.list_key, keep)

    def _outcome(
        self,
        ok: bool,
        status: int | None,
        data: dict | None,
        binary: BinaryContent | None,
        error: UpstreamError | None,
        state: _CallState,
        started: float,
    ) -> CallOutcome:
        return CallOutcome(
            ok=ok,
            status=status,
            data=data,
            binary=binary,
            error=error,
            request_id=state.request_id,
            attempts=state.attempts,
            rate_limit_wait_s=round(state.rate_wait_s, 3),
            duration_ms=_ms(started),
        )


def _start_args(prepared: PreparedRequest, pagination) -> dict[str, Any]:
    if isinstance(pagination, PagePagination):
        out: dict[str, Any] = {pagination.page_param: _int(prepared.params.get(pagination.page_param)) or 1}
        if pagination.size_param in prepared.params:
            out[pagination.size_param] = _int(prepared.params[pagination.size_param])
        return out
    out = {}
    if pagination.cursor_param in prepared.params:
        out[pagination.cursor_param] = prepared.params[pagination.cursor_param]
    if pagination.limit_param in prepared.params:
        out[pagination.limit_param] = _int(prepared.params[pagination.limit_param])
    return out


def _filename(headers: httpx.Headers, endpoint: Endpoint, prepared: PreparedRequest) -> str:
    disposition = headers.get("content-disposition", "")
    match = re.search(r'filename="?([^";]+)"?', disposition)
    if match:
        return match.group(1)
    extension = endpoint.response.content_type.split("/")[-1].split("+")[0]
    base = prepared.object_id or endpoint.tool
    return f"{base}.{extension}"


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)
