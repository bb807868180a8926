"""The composition root: settings → catalogue, policies, tenants, upstream client, audit, and exactly one
executor, confirmer, discovery view and event feed, each given what it uses by its constructor.

One ``Runtime`` is shared by every transport and session of a process. Only the upstream client is
built late (on the first call, see ``upstream/lazy.py``) so that start-up does not import httpx.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mcp_types as t

from .audit import DEFAULT_REDACTED_FIELDS, AuditStore, Redaction
from .audit.redact import DEFAULT_SECRET_PATTERNS, profile_patterns
from .calls.executor import ToolExecutor
from .calls.recorder import CallRecorder
from .catalogue import Manifest
from .catalogue.loader import catalogue_with, manifest_dir
from .catalogue.tools import tool_definition
from .config import ConfigError, Settings
from .coordination import Coordination, open_coordination
from .events.feed import EventFeed
from .events.store import EventStore
from .governance.approvals import ApprovalStore
from .governance.confirmation import Confirmations
from .governance.sealing import StateSealer
from .governance.summaries import Summarizer
from .policy import AgentPolicy, Policies
from .policy_store import PolicyOverrides, apply_saved, toml_policy
from .records import Record
from .server.discovery import DiscoveryView
from .server.governed import GovernedServer
from .server.prompts import PromptLibrary, load_prompts
from .storage import APPROVALS_FILE, AUDIT_FILE, StateStore, open_state
from .telemetry import Tracing, configure_tracing
from .tenants import SANDBOX_HOST, Tenant, Tenants, build_tenants
from .upstream.lazy import LazyUpstream

if TYPE_CHECKING:
    from .events.secrets import WebhookSecrets
    from .upstream.client import UpstreamClient
    from .upstream.grants import SqliteGrantStore as GrantStoreLike

__all__ = ["APPROVALS_FILE", "AUDIT_FILE", "Runtime", "build_runtime"]


class Runtime(Record):
    __slots__ = (
        "settings", "catalogue", "policies", "tenants", "upstream", "audit", "redaction", "recorder",
        "approvals", "confirmer", "executor", "tools", "discovery", "events", "feed",
        "sandbox_app", "prompts", "tracing", "grants", "overrides", "state", "coordination",
        "_closed",
    )  # fmt: skip
    _unshown = frozenset({"_closed"})
    settings: Settings
    catalogue: dict[str, Manifest]
    policies: Policies
    tenants: Tenants
    upstream: LazyUpstream
    audit: AuditStore
    redaction: Redaction
    recorder: CallRecorder
    approvals: ApprovalStore
    confirmer: Confirmations
    executor: ToolExecutor
    tools: dict[str, t.Tool]
    discovery: DiscoveryView
    events: EventStore
    feed: EventFeed
    sandbox_app: Any
    prompts: PromptLibrary | None
    tracing: Tracing | None
    grants: GrantStoreLike | None  # refresh tokens of partner connections bound to a company
    overrides: PolicyOverrides | None  # access saved in the console; wins over the TOML (policy_store.py)
    state: StateStore | None  # where all of the above persist (embedded files or PostgreSQL)
    coordination: Coordination | None  # budgets and news shared between replicas (Redis), or local
    _closed: bool

    def __init__(
        self, settings: Settings, catalogue: dict[str, Manifest], policies: Policies, tenants: Tenants,
        upstream: LazyUpstream, audit: AuditStore, redaction: Redaction, recorder: CallRecorder,
        approvals: ApprovalStore, confirmer: Confirmations, executor: ToolExecutor, tools: dict[str, t.Tool],
        discovery: DiscoveryView, events: EventStore, feed: EventFeed,
        sandbox_app: Any = None, prompts: PromptLibrary | None = None, tracing: Tracing | None = None,
        grants: GrantStoreLike | None = None, overrides: PolicyOverrides | None = None,
        state: StateStore | None = None, coordination: Coordination | None = None,
    ) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.policies = policies
        self.tenants = tenants
        self.upstream = upstream
        self.audit = audit
        self.redaction = redaction
        self.recorder = recorder
        self.approvals = approvals
        self.confirmer = confirmer
        self.executor = executor
        self.tools = tools
        self.discovery = discovery
        self.events = events
        self.feed = feed
        self.sandbox_app = sandbox_app
        self.prompts = prompts
        self.tracing = tracing
        self.grants = grants
        self.overrides = overrides
        self.state = state
        self.coordination = coordination
        self._closed = False

    @property
    def state_dir(self) -> Path:
        return self.settings.state_dir()

    @property
    def store(self) -> StateStore:
        """Where state persists (built by ``build_runtime``; the embedded store otherwise)."""
        if self.state is None:
            self.state = open_state(self.settings)
        return self.state

    def policy(self, agent: str) -> AgentPolicy:
        return self.policies[agent]

    def tenant_for(self, agent: str, backend: str) -> Tenant:
        """The tenant ``agent`` is bound to on ``backend`` (KeyError when it has none)."""
        tenant = self.tenants.get(backend, self.policies[agent].bindings[backend])
        if tenant is None:
            raise KeyError((agent, backend))
        return tenant

    def instructions(self) -> str:
        """What the server tells agents at start, naming the back ends this deployment serves."""
        names = [f"{m.backend.title} ({m.backend.description})" if m.backend.description else m.backend.title
                 for m in self.catalogue.values()]
        where = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
        return (
            f"ops-mcp gives you governed access to {where}. You only see the tools your policy allows. "
            "Never guess ids: list or search first. Lists are paginated; pass the returned page/cursor to "
            "continue, or max_items to walk pages. Some writes need a person's approval."
        )

    def mcp_server(self, *, resolve_agent: Any, transport: str, **sdk_options: Any) -> GovernedServer:
        """The MCP surface over this runtime's services (one per process; see transports/)."""
        # One key for every worker and restart: a 2026 retry may land on another replica.
        sdk_options.setdefault("request_state_security", self._request_state_security())
        return GovernedServer(
            tools=self.tools, policies=self.policies, executor=self.executor, view=self.discovery,
            providers=[self.feed], resources=[self.feed], resolve_agent=resolve_agent, transport=transport,
            instructions=self.instructions(), prompts=self.prompts, tracing=self.tracing,
            **sdk_options,
        )

    def _request_state_security(self) -> Any:
        from .governance.sealing import request_state_security

        if self.state is None:
            return request_state_security(self.state_dir)
        return request_state_security(None, key=self.state.sealing_key())

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self.upstream.aclose()
        if self.coordination is not None:
            await self.coordination.aclose()
        self.audit.close()
        self.approvals.close()
        self.events.close()
        if self.grants is not None:
            self.grants.close()
        if self.state is not None:
            self.state.close()


def build_runtime(settings: Settings, *, sandbox_app: Any = None,
                  retry_sleep: Callable[[float], Awaitable[None]] | None = None) -> Runtime:
    """Validate the configuration against the catalogue and assemble everything (fail closed).

    ``retry_sleep``: the wait between an upstream call's attempts (backoff, a 429's or 503's Retry-After);
    tests of what retries do, not of when, pass one that returns at once. Rate-budget pacing keeps real time.
    """
    try:
        catalogue = catalogue_with(settings.extra_manifests())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"catalogue.manifests: {exc}") from None
    tenants = build_tenants(settings, catalogue)
    policies = _policies(settings, catalogue, tenants)
    state = _open_state(settings)
    # First of what the state store seals: without a secret key, say how to make one before anything else
    # (the webhook secrets below need the same key) fails on it.
    sealing_key = _sealing_key(state)
    overrides = state.policy_overrides()  # saved in the state store: every replica reads the same
    apply_saved(policies, overrides.load(), catalogue, tenants)  # the TOML seeds; saved edits win
    tracing = configure_tracing(settings)  # None unless configured; then every step below gets a span
    if tenants.any_embedded and sandbox_app is None:
        from .sandbox.embedded import embedded_sandbox_app

        sandbox_app = embedded_sandbox_app(settings.sandbox)
    coordination = _open_coordination(settings)
    grants = _grant_store(state, tenants)
    upstream = LazyUpstream(lambda: build_upstream(settings, catalogue, tenants, sandbox_app, tracing, grants,
                                                   coordination, retry_sleep))
    # Every credential the deployment holds (connections; webhook signing secrets, also those registered
    # while it runs) by value, and every shape of credential its back ends and ops-mcp issue (profile token
    # prefixes, agent tokens…) by form.
    held = _held_webhook_secrets(state.webhook_secrets(), tuple(catalogue))
    patterns = (*DEFAULT_SECRET_PATTERNS,
                *profile_patterns(p for m in catalogue.values() for p in m.backend.token_prefixes.values()))
    redaction = Redaction(_redact_fields(settings), tenants.secrets, patterns, held=held)
    audit: AuditStore = state.audit(secrets=tenants.secrets, patterns=patterns, held=held)
    recorder = CallRecorder(tracing.audit_sink(audit) if tracing else audit, redaction, catalogue, tenants)
    approvals: ApprovalStore = state.approvals()
    confirmer = Confirmations(
        store=approvals, sealer=StateSealer(sealing_key), policies=policies,
        summarizer=Summarizer(catalogue, policies, tenants, upstream, redaction),
        console_url=settings.server.public_url,  # the approval pages; without it, people decide in the CLI
    )
    executor = ToolExecutor(catalogue=catalogue, policies=policies, tenants=tenants,
                            upstream=tracing.upstream(upstream) if tracing else upstream, recorder=recorder,
                            confirmer=tracing.confirmer(confirmer) if tracing else confirmer, tracing=tracing)
    tools = {e.tool: t.Tool.model_validate(tool_definition(e)) for m in catalogue.values() for e in m.endpoints}
    discovery = DiscoveryView(catalogue=catalogue, policies=policies, executor=executor, recorder=recorder,
                              tools_by_name=tools)
    events: EventStore = state.events()
    feed = EventFeed(catalogue=catalogue, policies=policies, store=events, recorder=recorder)
    prompts = PromptLibrary(load_prompts(manifest_dir()), via_meta_tools=discovery.discovery_on)
    return Runtime(settings, catalogue, policies, tenants, upstream, audit, redaction, recorder, approvals,
                   confirmer, executor, tools, discovery, events, feed, sandbox_app=sandbox_app, prompts=prompts,
                   tracing=tracing, grants=grants, overrides=overrides, state=state,
                   coordination=coordination)


def _open_state(settings: Settings) -> StateStore:
    """The configured state store; an unreachable or unmigrated database is a configuration error."""
    try:
        return open_state(settings)
    except RuntimeError as exc:  # StorageUnavailable, SchemaMismatch: the message says what to do
        raise ConfigError(f"storage.url: {exc}") from None


def _open_coordination(settings: Settings) -> Coordination:
    try:
        return open_coordination(settings)
    except RuntimeError as exc:  # the redis driver is missing: the message says what to install
        raise ConfigError(f"coordination.redis_url: {exc}") from None


def _sealing_key(state: StateStore) -> bytes:
    try:
        return state.sealing_key()
    except RuntimeError as exc:  # PostgreSQL without a secret key to seal it with: the message says how
        state.close()
        raise ConfigError(f"secrets.key_file: {exc}") from None


def _grant_store(state: StateStore, tenants: Tenants) -> GrantStoreLike | None:
    """The encrypted refresh-token store, when a partner connection is bound to a company (opened lazily)."""
    if not tenants.company_grants():
        return None
    return state.grants()  # type: ignore[return-value]


def build_upstream(settings: Settings, catalogue: dict[str, Manifest], tenants: Tenants, sandbox_app: Any,
                   tracing: Tracing | None = None, grants: GrantStoreLike | None = None,
                   coordination: Coordination | None = None,
                   retry_sleep: Callable[[float], Awaitable[None]] | None = None) -> UpstreamClient:
    import time

    from .upstream import ClientLimits, UpstreamClient
    from .upstream.client import httpx_limits
    from .upstream.ratelimit import BudgetRegistry

    profiles = {name: manifest.backend for name, manifest in catalogue.items()}
    limits = ClientLimits()
    if tenants.all_embedded:
        # The embedded sandbox may run compressed windows; pace against the window it really uses.
        limits = ClientLimits(rate_window_s=settings.sandbox.window_seconds)
    transport = None
    if sandbox_app is not None:
        from .sandbox.transport import SandboxRoutingTransport

        transport = SandboxRoutingTransport(sandbox_app, SANDBOX_HOST, httpx_limits(limits))
    # Agents share a tenant's budget by weight; replicas share it through the coordination's window.
    budgets = BudgetRegistry(time.time, limits.rate_window_s, limits.burst_fraction,
                             weights={name: agent.budget_weight for name, agent in settings.agents.items()},
                             shared=coordination.window if coordination is not None else None)
    extra = {"sleep": retry_sleep} if retry_sleep is not None else {}
    return UpstreamClient(profiles, transport=transport, limits=limits, catalogue=catalogue, grants=grants,
                          wrap_transport=tracing.http_transport if tracing else None, budgets=budgets, **extra)


def _policies(settings: Settings, catalogue: dict[str, Manifest], tenants: Tenants) -> Policies:
    return Policies({name: toml_policy(name, agent, catalogue, tenants) for name, agent in settings.agents.items()})


def _held_webhook_secrets(store: WebhookSecrets, backends: tuple[str, ...]) -> Any:
    """The webhook signing secrets the state store holds, read again as they change (one read per batch)."""

    def held() -> list[str]:
        try:
            return [s for backend in backends for _, s in store.for_backend(backend)]
        except Exception:  # a missing or unreadable file, an unreachable database: none known
            return []

    return held


def _redact_fields(settings: Settings) -> tuple[str, ...]:
    base = settings.audit.redact_fields
    fields = list(DEFAULT_REDACTED_FIELDS) if base is None else list(base)
    return tuple(dict.fromkeys([*fields, *settings.audit.extra_redact_fields]))
