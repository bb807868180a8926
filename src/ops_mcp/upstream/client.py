"""The shared upstream client: one pooled HTTP client per back end, used by every MCP session.

``call`` turns one tool call into one (or, with ``max_items``, several) upstream requests and a
``CallOutcome``. The steps live in their own modules; this one sequences them:

    build_request → forms check → [attempt → classify → wait]* → shape

- ``attempt.py``: one attempt — rate-budget slot → send through the auth flow (``auth.py``) → observe;
- ``classify.py``: what an attempt's result means — done, try again after a delay, or fail;
- ``listing.py``: pages for ``max_items`` and results fitted into the size cap, in the back end's
  pagination style (``paginators.py``).
"""

from __future__ import annotations

import contextlib
import random
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio
import httpx

from ..catalogue.models import FIELDS_ARG, MAX_ITEMS_ARG, BackendProfile, Endpoint, Manifest
from ..records import Frozen, set_fields
from . import errors as E
from .attempt import Attempts, Wiring
from .classify import Done, Fail, Retry, Rules, answer_error, classify
from .connection import Connection
from .errors import ErrorContext, UpstreamCallError, UpstreamError
from .events import RATE_LIMIT_WAIT, RETRY, TOKEN_REQUEST, EventSink, UpstreamEvent, UpstreamStats
from .facts import BackendFacts, EndpointFacts, facts_for, list_tools
from .forms import FormProblem, FormValidator
from .grants import GrantStore
from .listing import Listing, Progress, fit_object, project_fields
from .outcome import Answer, BinaryContent, CallFailed, CallOutcome, CallState
from .pool import ClientPool
from .ratelimit import BudgetRegistry, RateBudget, Sleep
from .request import DEFAULT_MAX_UPLOAD_BYTES, InvalidArguments, PreparedRequest, build_request
from .retry import RetryPolicy, retry_allowed
from .shaping import unwrap
from .tokens import TokenProvider

__all__ = ["BinaryContent", "CallOutcome", "ClientLimits", "Progress", "UpstreamClient"]

_FILENAME = re.compile(r'filename="?([^";]+)"?')  # in Content-Disposition


class ClientLimits(Frozen):
    __slots__ = (
        "max_connections", "max_keepalive_connections", "keepalive_expiry_s", "max_upload_bytes",
        "form_cache_ttl_s", "max_pages", "rate_window_s", "burst_fraction",
    )
    max_connections: int  # per back end
    # As many as max_connections: httpcore (1.0) closes an idle connection whenever the pool holds more
    # connections (busy or idle) than this, so a lower number reopens a TCP connection for ~half the
    # requests once more calls than this run at once (32 hosted clients: 291 connects for 640 requests).
    max_keepalive_connections: int
    keepalive_expiry_s: float
    max_upload_bytes: int
    form_cache_ttl_s: float
    max_pages: int  # a max_items walk never fetches more pages than this
    # Length of a rate-limit window; `per_minute` implies 60 s. Emulators with compressed time
    # (tests) set it shorter.
    rate_window_s: float
    burst_fraction: float  # share of a window's budget that may be spent at once

    def __init__(
        self,
        max_connections: int = 50,
        max_keepalive_connections: int = 50,
        keepalive_expiry_s: float = 30.0,
        max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
        form_cache_ttl_s: float = 600.0,
        max_pages: int = 50,
        rate_window_s: float = 60.0,
        burst_fraction: float = 0.1,
    ) -> None:
        set_fields(
            self, max_connections=max_connections, max_keepalive_connections=max_keepalive_connections,
            keepalive_expiry_s=keepalive_expiry_s, max_upload_bytes=max_upload_bytes,
            form_cache_ttl_s=form_cache_ttl_s, max_pages=max_pages, rate_window_s=rate_window_s,
            burst_fraction=burst_fraction,
        )


def httpx_limits(limits: ClientLimits) -> httpx.Limits:
    return httpx.Limits(
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry_s,
    )


class UpstreamClient:
    """``clock`` is Unix time; ``sleep`` does every wait (backoff, 429 resets, rate budgets); both,
    and ``rng`` (backoff jitter), are injectable so tests can run on virtual time. ``grants`` holds
    the refresh tokens of partner connections bound to a company (see ``tokens.py``)."""

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
        sleep: Sleep = anyio.sleep,
        wrap_transport: Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport] | None = None,
        grants: GrantStore | None = None,
        budgets: BudgetRegistry | None = None,
    ) -> None:
        self._retry = retry
        self._limits = limits
        self._max_result_bytes = max_result_bytes
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._events = events
        self.stats = UpstreamStats()
        all_profiles = {**{name: m.backend for name, m in (catalogue or {}).items()}, **profiles}
        self._backends = {name: BackendFacts.of(profile) for name, profile in all_profiles.items()}
        self._pool = ClientPool(
            transport,
            httpx_limits(limits),
            wrap_transport=wrap_transport,  # tracing: a client span around every HTTP attempt
        )
        tokens = TokenProvider(self._pool.post_form, clock, self._on_token_request, grants)
        # ``budgets``: the runtime's, with agents' weights and the budget replicas share (coordination/).
        budgets = budgets or BudgetRegistry(clock, limits.rate_window_s, limits.burst_fraction, sleep=sleep)
        self._wiring = Wiring(self._pool, tokens, budgets, clock, self._emit, retry.max_rate_limit_wait_s)
        self._forms = FormValidator(self._get_json_for_forms, clock, limits.form_cache_ttl_s)
        # Back ends that take Idempotency-Key on every POST (RemoteOps): learnt from the catalogue
        # when given, else from the first endpoint that declares a key.
        self._keyed_backends: set[str] = set()
        self._hint_tools = list_tools(catalogue or {})
        self._endpoints: dict[tuple[str, str], EndpointFacts] = {}
        for name, manifest in (catalogue or {}).items():
            if any(e.idempotency_key != "none" for e in manifest.endpoints):
                self._keyed_backends.add(name)
            for endpoint in manifest.endpoints:
                self._endpoints[(name, endpoint.tool)] = facts_for(endpoint, name, self._hint_tools)

    # -- lifecycle -------------------------------------------------------------------------------
    def warm(self) -> None:
        """Make each back end's HTTP client now (httpx's client and transport objects: a few ms each)."""
        for backend in self._backends:
            self._pool.client(backend)

    async def aclose(self) -> None:
        await self._pool.aclose()

    def rate_budgets(self) -> dict[str, RateBudget]:
        """The rate budgets spent so far, by key (read-only use: the console's live view)."""
        return self._wiring.budgets.all()

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
        state = CallState()
        backend = self._backend(connection)
        facts = self._facts(connection, endpoint)
        try:
            prepared = build_request(
                endpoint, arguments, max_upload_bytes=self._limits.max_upload_bytes, path_rules=facts.path_rules
            )
        except InvalidArguments as exc:
            message = E.scrub(f"{exc} — fix the arguments and try again.", connection.secrets())
            return state.outcome(None, error=UpstreamError(E.INVALID_ARGS, message))
        ctx = facts.context(connection, backend, prepared.object_id)
        try:
            if endpoint.forms and endpoint.access == "write":
                await self._check_forms(connection, backend, endpoint, arguments, prepared, ctx)
            key = idempotency_key or (str(uuid.uuid4()) if self._keyed(connection, endpoint) else None)
            max_items = arguments.get(MAX_ITEMS_ARG) if endpoint.paginated else None
            fields = arguments.get(FIELDS_ARG) if endpoint.access == "read" else None
            if max_items:
                listing = self._listing(connection, backend, endpoint, prepared, state, ctx)
                status, data = await listing.walk(int(max_items), progress, fields)
                return state.outcome(status, data)
            return await self._single(connection, backend, endpoint, prepared, key, state, ctx, fields)
        except CallFailed as exc:
            return state.outcome(exc.error.status, error=exc.error)

    async def request_json(
        self, connection: Connection, method: str, path: str, *, params: dict[str, Any] | None = None
    ) -> tuple[int, Any]:
        """A plain authenticated request for helpers (form schemas, name lookups).

        Goes through the same budget, auth and retries as ``call`` (GET is retried); returns the
        status and the parsed JSON body (None if not JSON). Raises UpstreamCallError when no answer
        could be had (network, timeout, rate limit).
        """
        state = CallState()
        ctx = ErrorContext(
            connection.display_name, self._backend(connection).profile.title, secrets=tuple(connection.secrets())
        )
        prepared = PreparedRequest(method.upper(), path).with_params(params or {})
        try:
            answer = await self._execute(connection, prepared, None, None, state, ctx, binary_ok=False)
        except CallFailed as exc:
            raise UpstreamCallError(exc.error) from None
        return answer.status, answer.body

    # -- lookups ---------------------------------------------------------------------------------
    def _backend(self, connection: Connection) -> BackendFacts:
        try:
            return self._backends[connection.backend]
        except KeyError:
            raise ValueError(f"no profile for back end {connection.backend!r}") from None

    def _facts(self, connection: Connection, endpoint: Endpoint) -> EndpointFacts:
        key = (connection.backend, endpoint.tool)
        facts = self._endpoints.get(key)
        if facts is None or facts.endpoint is not endpoint:
            # An endpoint from outside the catalogue the client was built with: work it out now.
            facts = self._endpoints[key] = facts_for(endpoint, connection.backend, self._hint_tools)
        return facts

    def _keyed(self, connection: Connection, endpoint: Endpoint) -> bool:
        if endpoint.idempotency_key != "none":
            self._keyed_backends.add(connection.backend)
            return True
        return endpoint.method == "POST" and connection.backend in self._keyed_backends

    # -- the retry loop --------------------------------------------------------------------------
    async def _execute(
        self,
        connection: Connection,
        prepared: PreparedRequest,
        endpoint: Endpoint | None,
        key: str | None,
        state: CallState,
        ctx: ErrorContext,
        *,
        binary_ok: bool = True,
    ) -> Answer:
        """Attempt until the answer is final; returns it (any status).

        Raises CallFailed for rate limits beyond the allowance, and for transport failures,
        missing tokens or unreadable bodies once retries are exhausted or not allowed.
        """
        backend = self._backend(connection)
        is_read, keyed = prepared.method == "GET", key is not None
        expects_json = endpoint is None or endpoint.response.content_type == "application/json" or not binary_ok
        rules = Rules(
            policy=self._retry,
            rng=self._rng,
            ctx=ctx,
            is_read=is_read,
            can_retry=retry_allowed(is_read, keyed),
            keyed=keyed,
            expects_json=expects_json,
            in_progress_codes=backend.in_progress_codes,
        )
        tool = endpoint.tool if endpoint else None
        attempts = Attempts(
            self._wiring, connection, backend, prepared, tool=tool, token_kind=endpoint.token_kind if endpoint else None,
            key=key, expects_json=expects_json, state=state,
        )
        failures = 0
        while True:
            verdict = classify(await attempts.run(), rules, failures, state.attempts, state.rate_wait_s)
            if isinstance(verdict, Done):
                return verdict.answer
            if isinstance(verdict, Fail):
                raise CallFailed(verdict.error)
            failures += verdict.counted
            await self._wait(connection, tool, verdict, state)

    async def _wait(self, connection: Connection, tool: str | None, retry: Retry, state: CallState) -> None:
        backend, name = connection.backend, connection.name
        if retry.rate_limited:
            # A 429 was refused before running: waiting and repeating is safe even for writes.
            await self._sleep(retry.delay)
            state.rate_wait_s += retry.delay
            self._emit(UpstreamEvent(RATE_LIMIT_WAIT, backend, name, tool, wait_s=retry.delay))
        else:
            self._emit(UpstreamEvent(RETRY, backend, name, tool, wait_s=retry.delay, detail=retry.reason))
            await self._sleep(retry.delay)

    # -- steps -----------------------------------------------------------------------------------
    async def _check_forms(
        self,
        connection: Connection,
        backend: BackendFacts,
        endpoint: Endpoint,
        arguments: dict[str, Any],
        prepared: PreparedRequest,
        ctx: ErrorContext,
    ) -> None:
        try:
            problems = await self._forms.check(
                backend.profile, connection, endpoint, arguments, prepared.json_body
            )
        except UpstreamCallError as exc:
            raise CallFailed(exc.error) from None
        except FormProblem as exc:
            if exc.status is not None and exc.status != 404:
                raise CallFailed(E.map_http_error(exc.status, exc.body, ctx)) from None
            message = (
                "The country form for this request could not be found (check the country code or the "
                "employment id; list them first if unsure)."
            )
            raise CallFailed(UpstreamError(E.INVALID_ARGS, message, exc.status)) from None
        if problems:
            text = E.format_field_errors(problems)
            message = E.scrub(
                f"The request does not match the country's form: {text}. Nothing was sent; fix these fields.",
                ctx.secrets,
            )
            raise CallFailed(UpstreamError(E.INVALID, message, None, details={"fields": problems}))

    async def _single(
        self,
        connection: Connection,
        backend: BackendFacts,
        endpoint: Endpoint,
        prepared: PreparedRequest,
        key: str | None,
        state: CallState,
        ctx: ErrorContext,
        fields: object,
    ) -> CallOutcome:
        answer = await self._execute(connection, prepared, endpoint, key, state, ctx)
        if answer.status >= 300:
            raise CallFailed(answer_error(answer, ctx, state.attempts))
        spec = endpoint.response
        if not answer.is_json and answer.content and spec.content_type != "application/json":
            mime = answer.headers.get("content-type", spec.content_type).split(";")[0].strip()
            binary = BinaryContent(answer.content, mime, _filename(answer.headers, endpoint, prepared))
            summary = {"content_type": mime, "size": len(answer.content), "filename": binary.filename}
            return state.outcome(answer.status, summary, binary)
        data = project_fields(unwrap(answer.body, spec), fields, spec.list_key, backend.paginator)
        if endpoint.paginated and spec.list_key:
            listing = self._listing(connection, backend, endpoint, prepared, state, ctx)
            data = await listing.fit(data, listing.first_page(data))
        else:
            data = fit_object(data, spec.list_key, self._max_result_bytes)
        return state.outcome(answer.status, data)

    def _listing(
        self,
        connection: Connection,
        backend: BackendFacts,
        endpoint: Endpoint,
        prepared: PreparedRequest,
        state: CallState,
        ctx: ErrorContext,
    ) -> Listing:
        def fetch(page: PreparedRequest) -> Awaitable[Answer]:
            return self._execute(connection, page, endpoint, None, state, ctx)

        def failure(answer: Answer) -> CallFailed:
            return CallFailed(answer_error(answer, ctx, state.attempts))

        return Listing(
            endpoint, prepared, backend.paginator, fetch, failure,
            max_bytes=self._max_result_bytes, max_pages=self._limits.max_pages,
        )

    async def _get_json_for_forms(
        self, connection: Connection, path: str, params: dict[str, Any] | None
    ) -> tuple[int, Any]:
        return await self.request_json(connection, "GET", path, params=params)


def _filename(headers: httpx.Headers, endpoint: Endpoint, prepared: PreparedRequest) -> str:
    match = _FILENAME.search(headers.get("content-disposition", ""))
    if match:
        return match.group(1)
    extension = endpoint.response.content_type.split("/")[-1].split("+")[0]
    return f"{prepared.object_id or endpoint.tool}.{extension}"
