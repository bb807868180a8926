"""The HTTP app: streamable HTTP at ``/mcp``, legacy SSE at ``/sse`` + ``/messages/`` (deprecated), the webhook
receiver, ``/healthz``, ``/readyz``, ``/metrics``, and RFC 9728 protected-resource metadata.

Every MCP route requires a bearer credential; the agent is whoever the credential belongs to (see
``agent_auth``), and the governed server filters and checks every call through that agent's policy.
Credentials are looked at on the MCP routes only (a token sent to ``/healthz`` is never verified).
Host and Origin headers are validated (DNS rebinding) on every MCP route. Several replicas started with
``--stateless`` over one state dir need no sticky sessions: tokens, events and replay memory live on disk.

Fair and bounded (``[server.limits]``): sessions, requests and streams per agent and credential
(``admission``), header and body deadlines and a connection cap (``connections``), and a revoked credential's
sessions and streams closed on every replica (``revocation``). No peer-chosen text reaches a log raw
(``logsafe``).
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import anyio
from mcp.server.auth.middleware.auth_context import AuthContextMiddleware, get_access_token
from mcp.server.auth.middleware.bearer_auth import BearerAuthBackend
from mcp.server.auth.routes import build_resource_metadata_url
from mcp.server.auth.settings import AuthSettings
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import AnyHttpUrl
from starlette.applications import Starlette
from starlette.authentication import AuthCredentials, UnauthenticatedUser
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from ..authorization.callback import authorization_routes
from ..calls.context import CallContext
from ..console import console_routes
from ..events.notifier import EventNotifier
from ..events.receiver import WebhookReceiver
from ..events.registration import Registration, register_webhooks
from ..events.secrets import WebhookSecrets
from ..runtime import Runtime
from ..server.agent_bus import AgentScopedBus
from ..server.governed import GovernedServer
from ..warmup import start_warm_up
from . import logsafe
from .admission import AdmissionMiddleware, AgentConnections, HandlerLimit, is_mcp_path
from .agent_auth import CompositeVerifier, build_verifier
from .call_witness import witnessed
from .connections import BodyDeadline, uvicorn_config
from .limits import Principal
from .memory import trim_periodically
from .metrics import Metrics, create_metrics
from .response_mode import answer_quiet_requests_in_json, may_talk_back
from .revocation import RevocationWatcher

log = logging.getLogger("ops_mcp.http")

LOOPBACK_HOSTS = ["127.0.0.1:*", "localhost:*", "[::1]:*", "127.0.0.1", "localhost", "[::1]"]
LOOPBACK_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]


@dataclass
class AppState:
    """What the app is made of, for the lifespan, health checks and tests."""

    runtime: Runtime
    base_url: str
    server: GovernedServer
    transports: tuple[str, ...]
    secrets: WebhookSecrets
    receiver: WebhookReceiver
    notifier: EventNotifier
    verifier: CompositeVerifier
    metrics: Metrics | None
    connections: AgentConnections
    revocations: RevocationWatcher
    register_webhooks_at: str | None = None
    ready: bool = False
    registrations: list[Registration] = field(default_factory=list)

    @property
    def store(self) -> Any:
        return self.runtime.events


def current_agent() -> str | None:
    """The agent named by the verified credential of this request; nothing else can name it."""
    token = get_access_token()
    return token.client_id if token is not None else None


def create_app(
    runtime: Runtime,
    *,
    transports: tuple[str, ...] = ("http", "sse"),
    stateless: bool | None = None,
    host: str | None = None,
    port: int | None = None,
    public_url: str | None = None,
    register_webhooks_at: str | None = None,
) -> Starlette:
    logsafe.install()
    config = runtime.settings.server
    host = host or config.host
    port = config.port if port is None else port
    stateless = config.stateless if stateless is None else stateless
    base_url = (public_url or config.public_url or f"http://{_url_host(host)}:{port}").rstrip("/")
    state = _assemble(runtime, base_url, transports, register_webhooks_at)
    security = _transport_security(base_url, config)
    routes = _mcp_routes(state.server, transports, stateless, security, host, config.limits)
    if "http" in transports:
        state.connections.attach(state.server.session_manager)
    routes += _metadata_routes(base_url, config.oauth)
    routes += [Route("/healthz", _healthz, methods=["GET"]), Route("/readyz", _readyz(state), methods=["GET"])]
    routes += state.receiver.routes()
    routes += authorization_routes(runtime)  # GET /oauth/callback/{backend}: `ops-mcp connect --via server`
    routes += console_routes(state)  # /admin: the operator console (console/)
    if state.metrics is not None:
        routes.append(state.metrics.route())
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(BodyDeadline, seconds=config.limits.body_timeout_seconds),
            Middleware(_McpOnly, inner=AuthenticationMiddleware, backend=BearerAuthBackend(state.verifier)),
            Middleware(AuthContextMiddleware),
            Middleware(AdmissionMiddleware, connections=state.connections, stateless=stateless),
        ],
        lifespan=_lifespan(state),
    )
    app.state.ops = state
    if state.metrics is not None:
        app.add_middleware(_Wrap, wrap=state.metrics.middleware)
    return app


def _assemble(runtime: Runtime, base_url: str, transports: tuple[str, ...],
              register_webhooks_at: str | None) -> AppState:
    """The services of the HTTP app, over the runtime's: one governed server for every MCP route."""
    config = runtime.settings.server
    for transport in transports:
        if transport not in ("http", "sse"):
            raise ValueError(f"unknown transport {transport!r}")
    verifier = build_verifier(runtime.settings, runtime.policies, runtime.store.agent_tokens())
    metrics = create_metrics(lambda: runtime.upstream.stats)
    if metrics is not None:
        runtime.recorder.observe(metrics.record_call)
        if runtime.coordination is not None:
            from ..coordination.metrics import CoordinationCollector

            metrics.registry.register(CoordinationCollector(runtime.coordination.status))
    bus = AgentScopedBus(current_agent)  # tools/list_changed reaches only the changed agent's streams
    notifier = EventNotifier(runtime.feed, bus, current_agent)
    bus.admits = notifier.admits  # a stream hears only of feeds its agent may read now
    secrets = runtime.store.webhook_secrets()
    receiver = WebhookReceiver(runtime.catalogue, runtime.events, secrets, on_event=notifier.kick,
                               on_outcome=metrics.webhook if metrics is not None else None)
    oauth = config.oauth
    auth = AuthSettings(
        # In agent-token mode there is no separate authorization server; the SDK needs a value, but the
        # metadata document served below lists an issuer only in OAuth mode.
        issuer_url=AnyHttpUrl(oauth.issuer if oauth is not None else base_url),
        resource_server_url=AnyHttpUrl(f"{base_url}/mcp"),
        # Audience is checked by the JWT verifier itself; agent tokens are not bound to a resource.
        validate_token_resource=False,
    )
    server = runtime.mcp_server(resolve_agent=current_agent, transport=transports[0], subscriptions=bus,
                                auth=auth, token_verifier=verifier)
    connections = AgentConnections(config.limits)
    server.middleware.append(HandlerLimit(connections.ledger, _audit_refused_call(runtime)))
    notifier.install(server)
    tokens = verifier.agent_tokens.store if verifier.agent_tokens is not None else None
    revocations = RevocationWatcher(tokens, connections, agents=runtime.policies,
                                    interval=config.limits.revocation_poll_seconds)
    return AppState(runtime, base_url, server, transports, secrets, receiver, notifier, verifier, metrics,
                    connections, revocations, register_webhooks_at)


def _audit_refused_call(runtime: Runtime) -> Any:
    """A ``tools/call`` refused for the caller's load still reached the server: it gets its audit record."""
    def record(principal: Principal, ctx: Any, why: str) -> None:
        params = ctx.params if isinstance(ctx.params, dict) else {}
        name = params.get("name")
        arguments = params.get("arguments") if isinstance(params.get("arguments"), dict) else {}
        path = getattr(getattr(ctx, "request", None), "url", None)
        transport = "sse" if path is not None and path.path.startswith("/messages") else "http"
        call = CallContext(agent=principal.agent, transport=transport)
        tool = name if isinstance(name, str) else "(no tool name)"
        runtime.recorder.local(call, tool=tool, title=tool, access="unknown", decision="rate_limited",
                               arguments=arguments, started=time.perf_counter(), error=why)

    return record


def _transport_security(base_url: str, config: Any) -> TransportSecuritySettings:
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=_unique([*LOOPBACK_HOSTS, *_public_hosts(base_url), *config.allowed_hosts]),
        allowed_origins=_unique([*LOOPBACK_ORIGINS, _origin(base_url), *config.allowed_origins]),
    )


def _mcp_routes(server: GovernedServer, transports: tuple[str, ...], stateless: bool,
                security: TransportSecuritySettings, host: str, limits: Any) -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    if "http" in transports:
        # The SDK's cap is only a backstop: admission keeps every agent within its share of it.
        sdk_app = server.streamable_http_app(streamable_http_path="/mcp", stateless_http=stateless,
                                             transport_security=security, host=host,
                                             session_idle_timeout=limits.session_idle_seconds,
                                             max_sessions=limits.max_sessions)
        if not stateless:
            answer_quiet_requests_in_json(server.session_manager, may_talk_back(server))
        # Every tools/call the transport refuses before the server sees it is still audited (issue 12).
        routes += [witnessed(r, server.executor.recorder, current_agent)
                   for r in sdk_app.routes if getattr(r, "path", None) == "/mcp"]
    if "sse" in transports:
        sdk_app = server.sse_app(sse_path="/sse", message_path="/messages/", transport_security=security, host=host)
        routes += [r for r in sdk_app.routes if getattr(r, "path", None) in ("/sse", "/messages")]
    return routes


class _McpOnly:
    """Runs ``inner`` (authentication) on the MCP routes only; elsewhere the request is anonymous.

    Health checks, metrics, metadata and webhooks need no credential, so a token sent there is never
    verified (no JWKS lookup, no log line, no cost an anonymous peer can multiply).
    """

    def __init__(self, app: Any, /, inner: Any, **options: Any) -> None:
        self.app = app
        self.inner = inner(app, **options)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket") and is_mcp_path(scope["path"]):
            await self.inner(scope, receive, send)
            return
        if scope["type"] in ("http", "websocket"):
            scope["user"], scope["auth"] = UnauthenticatedUser(), AuthCredentials()
        await self.app(scope, receive, send)


class _Wrap:
    """Adapts a ``wrap(app) -> app`` function to Starlette's middleware signature."""

    def __init__(self, app: Any, wrap: Any) -> None:
        self.app = wrap(app)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def _lifespan(state: AppState) -> Any:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            async with AsyncExitStack() as stack:
                if "http" in state.transports:
                    # Mounted SDK apps never run their own lifespan: the session manager must be run here.
                    await stack.enter_async_context(state.server.session_manager.run())
                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(state.notifier.run)
                    tasks.start_soon(state.revocations.run)
                    tasks.start_soon(_every, state.runtime.settings.server.limits.revocation_poll_seconds,
                                     state.connections.expire_crowded)
                    tasks.start_soon(trim_periodically, state.runtime.settings.server.trim_memory_seconds)
                    if state.register_webhooks_at:
                        tasks.start_soon(_register, state, state.register_webhooks_at)
                    if state.runtime.coordination is not None:
                        tasks.start_soon(_coordinate, state)
                    state.ready = True
                    start_warm_up(state.runtime)  # what the first call needs, while no call is running yet
                    try:
                        yield
                    finally:
                        state.ready = False
                        tasks.cancel_scope.cancel()
        finally:
            await state.runtime.aclose()

    return lifespan


async def _coordinate(state: AppState) -> None:
    """Share budgets and news with the other replicas: a revocation heard from one is checked here at once
    (the token store says whose credentials are gone), a policy changed on one is put into ours."""
    from ..coordination.policies import PolicyFanOut

    coordination = state.runtime.coordination
    assert coordination is not None
    fan_out = PolicyFanOut(state.runtime.policies, coordination)

    async def revoked(agent: str) -> None:
        await state.revocations.check()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(fan_out.run)
        await coordination.run(on_revoked=revoked, on_policy=fan_out.apply)


async def _every(interval: float, job: Any) -> None:
    while True:
        await anyio.sleep(interval)
        try:
            await job()
        except Exception:  # housekeeping must not stop the server
            log.exception("periodic %s failed", getattr(job, "__name__", "job"))


async def _register(state: AppState, base: str) -> None:
    runtime = state.runtime
    try:
        # Only the embedded sandbox is registered automatically: it delivers over loopback to this very
        # process. Real back ends are registered on purpose, with `ops-mcp webhooks register`.
        results = await register_webhooks(runtime.catalogue, runtime.tenants, runtime.upstream, base,
                                          state.secrets, embedded=True)
    except Exception:
        log.exception("webhook registration failed")
        return
    state.registrations = results
    for r in results:
        level = logging.INFO if r.ok else logging.WARNING
        log.log(level, "webhooks %s/%s → %s: %s", r.backend, r.connection, r.url, r.detail)


async def _healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def _readyz(state: AppState) -> Any:
    async def readyz(request: Request) -> JSONResponse:
        problems = []
        if not state.ready:
            problems.append("starting or stopping")
        try:
            state.runtime.events.ping()
        except Exception:
            problems.append("event store unavailable")
        if not len(state.runtime.policies):
            problems.append("no agents configured")
        store = state.runtime.state
        if store is not None and not await anyio.to_thread.run_sync(store.ping):
            problems.append(f"state store ({store.engine}) unavailable")
        # Redis down is not "unavailable": budgets fall back to this replica's share, and it says so.
        status = state.runtime.coordination.status() if state.runtime.coordination else None
        shared = {"coordination": status.as_dict()} if status is not None and status.engine != "local" else {}
        if problems:
            return JSONResponse({"status": "unavailable", "problems": problems, **shared}, status_code=503)
        return JSONResponse({"status": "ready", **shared})

    return readyz


def _metadata_routes(base_url: str, oauth: Any) -> list[Route]:
    """RFC 9728 protected-resource metadata, where the 401's ``resource_metadata`` points."""
    resource = f"{base_url}/mcp"
    document: dict[str, Any] = {"resource": resource, "bearer_methods_supported": ["header"],
                                "resource_name": "ops-mcp"}
    if oauth is not None:
        document["authorization_servers"] = [oauth.issuer]
        if oauth.required_scopes:
            document["scopes_supported"] = list(oauth.required_scopes)

    async def metadata(request: Request) -> JSONResponse:
        return JSONResponse(document, headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "max-age=3600"})

    path = urlsplit(str(build_resource_metadata_url(AnyHttpUrl(resource)))).path
    return [Route(path, metadata, methods=["GET"]),
            Route("/.well-known/oauth-protected-resource", metadata, methods=["GET"])]


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _public_hosts(base_url: str) -> list[str]:
    parts = urlsplit(base_url)
    return [h for h in {parts.netloc, parts.hostname or ""} if h]


def _origin(base_url: str) -> str:
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}"


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def run_http(runtime: Runtime, *, transport: str = "http", host: str | None = None, port: int | None = None,
             stateless: bool = False, register_webhooks_at: str | None = None) -> int:
    import uvicorn

    config = runtime.settings.server
    host = host or config.host
    port = config.port if port is None else port
    if port == 0:
        port = free_port(host if host not in ("0.0.0.0", "::") else "127.0.0.1")
    transports = ("http", "sse") if transport == "http" else ("sse",)
    app = create_app(runtime, transports=transports, stateless=stateless or config.stateless, host=host,
                     port=port, register_webhooks_at=register_webhooks_at)
    base = app.state.ops.base_url
    where = f"{base}/mcp (streamable HTTP) and {base}/sse (SSE, deprecated)" if transport == "http" else f"{base}/sse"
    log.info("ops-mcp serving %s%s", where, " — stateless" if stateless else "")
    # stdout stays clean; uvicorn logs to stderr. Access logs are off: paths carry session ids.
    # log_config=None: uvicorn's records go through ops-mcp's handler (text or JSON, scrubbed; see logs.py).
    uvicorn.Server(uvicorn_config(app, config.limits, host=host, port=port, log_config=None)).run()
    return 0
