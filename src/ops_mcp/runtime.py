"""The assembled application: settings → catalogue, agent policies, tenant connections, upstream client,
audit store. One ``Runtime`` is shared by every session of a process, whatever the transport.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .catalogue import Manifest, load_catalogue
from .config import DEFAULT_CONNECTION, ConfigError, ConnectionConfig, Settings
from .policy import AgentPolicy, build_policy

# The embedded sandbox answers in-process under this host; nothing ever resolves it on a network.
SANDBOX_HOST = "sandbox.ops-mcp.invalid"
SANDBOX_MOUNTS = {"remote": "/remote", "remoteops": "/remoteops/v1"}
SANDBOX_DEFAULT_TENANTS = {"remote": "acme", "remoteops": "northwind"}


@dataclass
class Tenant:
    """A named connection of a back end, with what the audit log and confirmations show of it."""

    backend: str
    name: str
    label: str
    embedded: bool
    connection: Any  # ops_mcp.upstream.Connection


@dataclass
class Runtime:
    settings: Settings
    catalogue: dict[str, Manifest]
    tenants: dict[tuple[str, str], Tenant]
    policies: dict[str, AgentPolicy]
    bindings: dict[str, dict[str, str]]  # agent -> backend -> connection name
    sandbox_app: Any = None
    _closers: list = field(default_factory=list)

    @cached_property
    def upstream(self):
        from .upstream import ClientLimits, UpstreamClient

        profiles = {name: manifest.backend for name, manifest in self.catalogue.items()}
        limits = ClientLimits()
        if self.tenants and all(t.embedded for t in self.tenants.values()):
            # The embedded sandbox may run compressed windows; pace against the window it really uses.
            limits = ClientLimits(rate_window_s=self.settings.sandbox.window_seconds)
        return UpstreamClient(profiles, transport=self._transport(), limits=limits, catalogue=self.catalogue)

    @cached_property
    def audit(self):
        from .audit import AuditStore

        return AuditStore(self.state_dir / "audit.sqlite3", secrets=self.secrets)

    @cached_property
    def redact_fields(self) -> tuple[str, ...]:
        from .audit.redact import DEFAULT_REDACTED_FIELDS

        base = self.settings.audit.redact_fields
        fields = list(DEFAULT_REDACTED_FIELDS) if base is None else list(base)
        return tuple(dict.fromkeys([*fields, *self.settings.audit.extra_redact_fields]))

    @cached_property
    def secrets(self) -> tuple[str, ...]:
        """Every configured credential (fixed for a runtime), so redaction can scrub them anywhere."""
        return tuple(s for tenant in self.tenants.values() for s in tenant.connection.secrets())

    @property
    def state_dir(self) -> Path:
        return self.settings.state_dir()

    def tenant_for(self, agent: str, backend: str) -> Tenant:
        return self.tenants[(backend, self.bindings[agent][backend])]

    def policy(self, agent: str) -> AgentPolicy:
        return self.policies[agent]

    def _transport(self) -> Any:
        if self.sandbox_app is None:
            return None
        from .sandbox.transport import SandboxRoutingTransport

        return SandboxRoutingTransport(self.sandbox_app, SANDBOX_HOST)

    async def aclose(self) -> None:
        if "upstream" in self.__dict__:
            await self.upstream.aclose()
        if "audit" in self.__dict__:
            self.audit.close()


def build_runtime(settings: Settings, *, sandbox_app: Any = None) -> Runtime:
    """Validate the configuration against the catalogue and assemble everything (fail closed)."""
    catalogue = load_catalogue()
    tenants: dict[tuple[str, str], Tenant] = {}
    embedded = False
    for backend, manifest in catalogue.items():
        config = settings.backend(backend)
        if not config.enabled:
            continue
        for name, conn in config.all_connections().items():
            tenant = _tenant(backend, name, conn, manifest, settings)
            embedded = embedded or tenant.embedded
            tenants[(backend, name)] = tenant
    for backend in settings.backends:
        if backend not in catalogue:
            raise ConfigError(f"backends.{backend}: unknown back end; known: {', '.join(sorted(catalogue))}")

    policies: dict[str, AgentPolicy] = {}
    bindings: dict[str, dict[str, str]] = {}
    for agent_name, agent in settings.agents.items():
        policies[agent_name] = build_policy(agent_name, agent, catalogue)
        used = {area.split(".", 1)[0] for area, level in policies[agent_name].levels.items() if level != "off"}
        bindings[agent_name] = _bind(agent_name, agent.connections, tenants, catalogue, used)

    if embedded and sandbox_app is None:
        sandbox_app = _embedded_sandbox(settings)
    return Runtime(settings, catalogue, tenants, policies, bindings, sandbox_app=sandbox_app)


def _bind(agent: str, wanted: dict[str, str], tenants: dict, catalogue: dict,
          used: set[str] | None = None) -> dict[str, str]:
    """Each agent is bound to exactly one connection per back end: the named one, or the only one.

    A back end the agent has no access to at all (``used``) needs no binding, so it need not be named.
    """
    out: dict[str, str] = {}
    for backend in wanted:
        if backend not in catalogue:
            raise ConfigError(f"agents.{agent}.connections: unknown back end {backend!r}")
    for backend in catalogue:
        names = [name for (b, name) in tenants if b == backend]
        if backend in wanted:
            if wanted[backend] not in names:
                raise ConfigError(
                    f"agents.{agent}.connections.{backend}: unknown connection {wanted[backend]!r}; "
                    f"configured: {', '.join(names) or 'none'}"
                )
            out[backend] = wanted[backend]
        elif len(names) == 1:
            out[backend] = names[0]
        elif DEFAULT_CONNECTION in names:
            out[backend] = DEFAULT_CONNECTION
        elif names and used is not None and backend not in used:
            continue
        elif names:
            raise ConfigError(
                f"agents.{agent}.connections.{backend}: {backend} has several connections "
                f"({', '.join(names)}); name the one this agent uses"
            )
    return out


def _tenant(backend: str, name: str, conn: ConnectionConfig, manifest: Manifest, settings: Settings) -> Tenant:
    from .upstream import Connection, OAuthCredentials

    where = f"backends.{backend}" + ("" if name == DEFAULT_CONNECTION else f".connections.{name}")
    embedded = conn.base_url is None
    token = conn.token.get_secret_value() if conn.token else None
    label = conn.label or name
    per_minute = conn.per_minute
    if embedded and per_minute is None:
        per_minute = _sandbox_limit(backend, settings)
    if embedded:
        base_url = f"http://{SANDBOX_HOST}{SANDBOX_MOUNTS[backend]}"
        if token is None and conn.oauth is None:
            token, sandbox_label = _sandbox_token(backend, name)
            label = conn.label or sandbox_label
    else:
        base_url = conn.base_url.rstrip("/")
        if token is None and conn.oauth is None:
            raise ConfigError(f"{where}: set token or [oauth] for {base_url}")
    _check_environment(where, backend, base_url, token, embedded, manifest)
    oauth = None
    if conn.oauth is not None:
        oauth = OAuthCredentials(
            client_id=conn.oauth.client_id,
            client_secret=conn.oauth.client_secret.get_secret_value(),
            token_path=conn.oauth.token_path,
            scope=conn.oauth.scope,
        )
    connection = Connection(
        name=name,
        backend=backend,
        base_url=base_url,
        token=token,
        oauth=oauth,
        budget_key=conn.budget_key or f"{backend}:{base_url}:{name}",
        per_minute=per_minute,
        label=label,
        timeout=conn.timeout,
    )
    return Tenant(backend=backend, name=name, label=label, embedded=embedded, connection=connection)


def _sandbox_limit(backend: str, settings: Settings) -> int:
    """The embedded sandbox's budget, per its own window (see ``Runtime.upstream``)."""
    sandbox = settings.sandbox
    limit = getattr(sandbox, f"{backend}_rate_limit")
    others_real = any(c.base_url for b in settings.backends.values() for c in b.all_connections().values())
    # With real back ends in the same process the client paces per minute: scale the sandbox's budget.
    return max(1, int(limit * 60 / sandbox.window_seconds)) if others_real else limit


def _sandbox_token(backend: str, name: str) -> tuple[str, str]:
    """Sandbox credentials for a connection on the embedded sandbox: by tenant name, else the default."""
    import importlib

    module = importlib.import_module(f"ops_mcp.sandbox.{backend}.credentials")
    credentials: dict[str, str] = module.SANDBOX_CREDENTIALS
    tenant = name if name in credentials else SANDBOX_DEFAULT_TENANTS[backend]
    labels: dict[str, str] = getattr(module, "SANDBOX_TENANT_LABELS", {})
    return credentials[tenant], labels.get(tenant, tenant)


def _check_environment(where: str, backend: str, base_url: str, token: str | None, embedded: bool,
                       manifest: Manifest) -> None:
    """Live tokens never reach a sandbox, and test tokens never reach production."""
    if token is None:
        return
    prefixes = manifest.backend.token_prefixes
    live, test = prefixes.get("live"), prefixes.get("test")
    production = manifest.backend.base_urls.production.rstrip("/")
    sandboxish = embedded or _is_sandbox_url(base_url, manifest)
    if live and token.startswith(live) and sandboxish:
        raise ConfigError(f"{where}: a live token ({live}…) is configured against a sandbox URL ({base_url}); refused")
    if test and token.startswith(test) and base_url == production:
        raise ConfigError(f"{where}: a test token ({test}…) is configured against production ({base_url}); refused")


def _is_sandbox_url(url: str, manifest: Manifest) -> bool:
    if url.rstrip("/") == manifest.backend.base_urls.sandbox.rstrip("/"):
        return True
    host = urlsplit(url).hostname or ""
    if host in ("localhost", SANDBOX_HOST) or "sandbox" in host:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _embedded_sandbox(settings: Settings) -> Any:
    from .sandbox.embedded import embedded_sandbox_app

    return embedded_sandbox_app(settings.sandbox)
