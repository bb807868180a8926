"""The composition root: settings → catalogue, policies, tenants, upstream client, audit, and exactly one
executor, confirmer, discovery view and event feed, each given what it uses by its constructor.

One ``Runtime`` is shared by every transport and session of a process. Only the upstream client is
built late (on the first call, see ``upstream/lazy.py``) so that start-up does not import httpx.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
from .events.feed import EventFeed
from .events.store import EVENTS_FILE, EventStore
from .governance.approvals import ApprovalStore
from .governance.confirmation import Confirmations
from .governance.sealing import StateSealer, load_key
from .governance.summaries import Summarizer
from .policy import AgentPolicy, Policies, build_policy
from .policy_store import JsonPolicyOverrides, PolicyOverrides, apply_saved
from .server.discovery import DiscoveryView
from .server.governed import GovernedServer
from .server.prompts import PromptLibrary, load_prompts
from .telemetry import Tracing, configure_tracing
from .tenants import SANDBOX_HOST, Tenant, Tenants, bind_agent, build_tenants
from .upstream.lazy import LazyUpstream

if TYPE_CHECKING:
    from .upstream.client import UpstreamClient
    from .upstream.grants import SqliteGrantStore as GrantStoreLike

AUDIT_FILE = "audit.sqlite3"
APPROVALS_FILE = "approvals.sqlite3"


@dataclass
class Runtime:
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
    sandbox_app: Any = None
    prompts: PromptLibrary | None = None
    tracing: Tracing | None = None
    grants: GrantStoreLike | None = None  # refresh tokens of partner connections bound to a company
    overrides: PolicyOverrides | None = None  # access saved in the console; wins over the TOML (policy_store.py)
    _closed: bool = field(default=False, repr=False)

    @property
    def state_dir(self) -> Path:
        return self.settings.state_dir()

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

        return request_state_security(self.state_dir)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self.upstream.aclose()
        self.audit.close()
        self.approvals.close()
        self.events.close()
        if self.grants is not None:
            self.grants.close()


def build_runtime(settings: Settings, *, sandbox_app: Any = None) -> Runtime:
    """Validate the configuration against the catalogue and assemble everything (fail closed)."""
    try:
        catalogue = catalogue_with(settings.extra_manifests())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"catalogue.manifests: {exc}") from None
    tenants = build_tenants(settings, catalogue)
    policies = _policies(settings, catalogue, tenants)
    overrides = JsonPolicyOverrides(settings.state_dir())
    apply_saved(policies, overrides.load(), catalogue, tenants)  # the TOML seeds; saved edits win
    tracing = configure_tracing(settings)  # None unless configured; then every step below gets a span
    if tenants.any_embedded and sandbox_app is None:
        from .sandbox.embedded import embedded_sandbox_app

        sandbox_app = embedded_sandbox_app(settings.sandbox)
    grants = _grant_store(settings, tenants)
    upstream = LazyUpstream(lambda: build_upstream(settings, catalogue, tenants, sandbox_app, tracing, grants))
    state_dir = settings.state_dir()
    # Every credential the deployment holds (connections; webhook signing secrets, also those registered
    # while it runs) by value, and every shape of credential its back ends and ops-mcp issue (profile token
    # prefixes, agent tokens…) by form.
    held = _held_webhook_secrets(state_dir, tuple(catalogue))
    patterns = (*DEFAULT_SECRET_PATTERNS,
                *profile_patterns(p for m in catalogue.values() for p in m.backend.token_prefixes.values()))
    redaction = Redaction(_redact_fields(settings), tenants.secrets, patterns, held=held)
    audit = AuditStore(state_dir / AUDIT_FILE, secrets=tenants.secrets, patterns=patterns, held=held)
    recorder = CallRecorder(tracing.audit_sink(audit) if tracing else audit, redaction, catalogue, tenants)
    approvals = ApprovalStore(state_dir / APPROVALS_FILE)
    confirmer = Confirmations(
        store=approvals, sealer=StateSealer(load_key(state_dir)), policies=policies,
        summarizer=Summarizer(catalogue, policies, tenants, upstream, redaction),
        console_url=settings.server.public_url,  # the approval pages; without it, people decide in the CLI
    )
    executor = ToolExecutor(catalogue=catalogue, policies=policies, tenants=tenants,
                            upstream=tracing.upstream(upstream) if tracing else upstream, recorder=recorder,
                            confirmer=tracing.confirmer(confirmer) if tracing else confirmer, tracing=tracing)
    tools = {e.tool: t.Tool.model_validate(tool_definition(e)) for m in catalogue.values() for e in m.endpoints}
    discovery = DiscoveryView(catalogue=catalogue, policies=policies, executor=executor, recorder=recorder,
                              tools_by_name=tools)
    events = EventStore(state_dir / EVENTS_FILE)
    feed = EventFeed(catalogue=catalogue, policies=policies, store=events, recorder=recorder)
    prompts = PromptLibrary(load_prompts(manifest_dir()), via_meta_tools=discovery.discovery_on)
    return Runtime(settings, catalogue, policies, tenants, upstream, audit, redaction, recorder, approvals,
                   confirmer, executor, tools, discovery, events, feed, sandbox_app=sandbox_app, prompts=prompts,
                   tracing=tracing, grants=grants, overrides=overrides)


def _grant_store(settings: Settings, tenants: Tenants) -> GrantStoreLike | None:
    """The encrypted refresh-token store, when a partner connection is bound to a company (opened lazily)."""
    if not tenants.company_grants():
        return None
    from .authorization.stores import open_grant_store

    return open_grant_store(settings)


def build_upstream(settings: Settings, catalogue: dict[str, Manifest], tenants: Tenants, sandbox_app: Any,
                   tracing: Tracing | None = None, grants: GrantStoreLike | None = None) -> UpstreamClient:
    from .upstream import ClientLimits, UpstreamClient

    profiles = {name: manifest.backend for name, manifest in catalogue.items()}
    limits = ClientLimits()
    if tenants.all_embedded:
        # The embedded sandbox may run compressed windows; pace against the window it really uses.
        limits = ClientLimits(rate_window_s=settings.sandbox.window_seconds)
    transport = None
    if sandbox_app is not None:
        from .sandbox.transport import SandboxRoutingTransport

        transport = SandboxRoutingTransport(sandbox_app, SANDBOX_HOST)
    return UpstreamClient(profiles, transport=transport, limits=limits, catalogue=catalogue, grants=grants,
                          wrap_transport=tracing.http_transport if tracing else None)


def _policies(settings: Settings, catalogue: dict[str, Manifest], tenants: Tenants) -> Policies:
    built = {}
    for name, agent in settings.agents.items():
        policy = build_policy(name, agent, catalogue)
        used = {area.split(".", 1)[0] for area, level in policy.levels.items() if level != "off"}
        policy.bindings = bind_agent(name, agent.connections, tenants, catalogue, used)
        built[name] = policy
    return Policies(built)


def _held_webhook_secrets(state_dir: Path, backends: tuple[str, ...]) -> Any:
    """The webhook signing secrets stored in the state dir, read again whenever the file changes."""
    from .events.secrets import WebhookSecrets

    store = WebhookSecrets(state_dir)

    def held() -> list[str]:
        try:
            return [s for backend in backends for _, s in store.for_backend(backend)]
        except Exception:  # a missing or unreadable file: none known
            return []

    return held


def _redact_fields(settings: Settings) -> tuple[str, ...]:
    base = settings.audit.redact_fields
    fields = list(DEFAULT_REDACTED_FIELDS) if base is None else list(base)
    return tuple(dict.fromkeys([*fields, *settings.audit.extra_redact_fields]))
