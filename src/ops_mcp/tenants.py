"""Tenants: each named connection of each back end, with the name people see, and which one every
agent is bound to.

A connection carries exactly one tenant's credential: a customer API token, a partner client bound to
one company (``oauth`` + ``company_id``; its refresh token is stored encrypted by ``ops-mcp connect``),
or a partner client alone (partner-level). Each agent reaches one connection per back end (the one
named in its config, or the only one), so an agent can never choose another tenant.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from .catalogue.models import Manifest
from .config import DEFAULT_CONNECTION, ConfigError, ConnectionConfig, Settings
from .records import Frozen, set_fields
from .upstream.connection import Connection, OAuthCredentials

# The embedded sandbox answers in-process under this host; nothing ever resolves it on a network.
SANDBOX_HOST = "sandbox.ops-mcp.invalid"


class Tenant(Frozen):
    """A named connection of a back end, with what the audit log and confirmations show of it."""

    __slots__ = ("backend", "name", "label", "embedded", "connection")
    backend: str
    name: str
    label: str
    embedded: bool
    connection: Connection

    def __init__(self, backend: str, name: str, label: str, embedded: bool, connection: Connection) -> None:
        set_fields(self, backend=backend, name=name, label=label, embedded=embedded, connection=connection)


class Tenants:
    """Every configured tenant, by (back end, connection name)."""

    def __init__(self, tenants: dict[tuple[str, str], Tenant]) -> None:
        self._tenants = dict(tenants)
        # Every configured credential, so redaction can scrub them from any stored or shown text.
        self.secrets: tuple[str, ...] = tuple(s for t in self._tenants.values() for s in t.connection.secrets())

    def get(self, backend: str, name: str) -> Tenant | None:
        return self._tenants.get((backend, name))

    def all(self) -> list[Tenant]:
        return [self._tenants[key] for key in sorted(self._tenants)]

    def names(self, backend: str) -> list[str]:
        return sorted(name for (b, name) in self._tenants if b == backend)

    def __len__(self) -> int:
        return len(self._tenants)

    def company_grants(self) -> list[Tenant]:
        """Partner connections bound to a company: their refresh tokens live in the grant store."""
        return [t for t in self.all() if t.connection.company_id is not None and t.connection.token is None]

    @property
    def any_embedded(self) -> bool:
        return any(t.embedded for t in self._tenants.values())

    @property
    def all_embedded(self) -> bool:
        return bool(self._tenants) and all(t.embedded for t in self._tenants.values())


def build_tenants(settings: Settings, catalogue: dict[str, Manifest]) -> Tenants:
    """One tenant per configured connection of every enabled back end (fail closed on unknown names)."""
    for backend in settings.backends:
        if backend not in catalogue:
            raise ConfigError(f"backends.{backend}: unknown back end; known: {', '.join(sorted(catalogue))}")
    tenants: dict[tuple[str, str], Tenant] = {}
    for backend, manifest in catalogue.items():
        config = settings.backend(backend)
        if not config.enabled:
            continue
        for name, conn in config.all_connections().items():
            tenants[(backend, name)] = _tenant(backend, name, conn, manifest, settings)
    found = Tenants(tenants)
    if found.company_grants():
        check_secret_key(settings, found.company_grants()[0])
    return found


def connection_key(backend: str, name: str) -> str:
    """The config key of a connection, for messages."""
    return f"backends.{backend}" + ("" if name == DEFAULT_CONNECTION else f".connections.{name}")


def check_secret_key(settings: Settings, tenant: Tenant) -> None:
    """Partner connections bound to a company keep refresh tokens encrypted: the key must be usable now."""
    import importlib.util

    from .secretbox import SecretKeyError, load_secret_key

    where = connection_key(tenant.backend, tenant.name)
    if importlib.util.find_spec("cryptography") is None:
        raise ConfigError(f"{where}: keeping its refresh token encrypted needs the 'cryptography' package: "
                          "pip install 'ops-mcp[partner]'")
    try:
        load_secret_key(settings.secret_key_file(), settings.state_dir())
    except SecretKeyError as exc:
        raise ConfigError(f"{where}.company_id: its refresh token is stored encrypted, but {exc}") from None


def bind_agent(agent: str, wanted: dict[str, str], tenants: Tenants, catalogue: dict[str, Manifest],
               used: set[str]) -> dict[str, str]:
    """The agent's connection per back end: the named one, or the only one (or ``default``).

    A back end the agent has no access to at all (not in ``used``) needs no binding, so it need not be named.
    """
    out: dict[str, str] = {}
    for backend in wanted:
        if backend not in catalogue:
            raise ConfigError(f"agents.{agent}.connections: unknown back end {backend!r}")
    for backend in catalogue:
        names = tenants.names(backend)
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
        elif names and backend in used:
            raise ConfigError(
                f"agents.{agent}.connections.{backend}: {backend} has several connections "
                f"({', '.join(names)}); name the one this agent uses"
            )
    return out


def _tenant(backend: str, name: str, conn: ConnectionConfig, manifest: Manifest, settings: Settings) -> Tenant:
    where = connection_key(backend, name)
    _check_credentials(where, conn, manifest)
    token = conn.token.get_secret_value() if conn.token else None
    label = conn.label or name
    per_minute = conn.per_minute
    if conn.base_url is None:
        base_url, token, label, per_minute = _embedded(where, backend, name, conn, manifest, settings)
    else:
        base_url = conn.base_url.rstrip("/")
        if token is None and conn.oauth is None:
            raise ConfigError(f"{where}: set token or [oauth] for {base_url}")
    embedded = conn.base_url is None
    _check_environment(where, base_url, token, embedded, manifest)
    oauth = None
    if conn.oauth is not None:
        oauth = OAuthCredentials(
            client_id=conn.oauth.client_id,
            client_secret=conn.oauth.client_secret.get_secret_value(),
            token_path=conn.oauth.token_path,
            scope=conn.oauth.scope,
            authorize_path=conn.oauth.authorize_path,
        )
    connection = Connection(
        name=name, backend=backend, base_url=base_url, token=token, oauth=oauth,
        budget_key=conn.budget_key or f"{backend}:{base_url}:{name}", per_minute=per_minute, label=label,
        timeout=conn.timeout, company_id=conn.company_id,
    )
    return Tenant(backend=backend, name=name, label=label, embedded=embedded, connection=connection)


def _check_credentials(where: str, conn: ConnectionConfig, manifest: Manifest) -> None:
    """One credential per connection, and a company only where the back end has company tokens."""
    if conn.token is not None and conn.oauth is not None:
        raise ConfigError(f"{where}: set token (a customer API token) or oauth (a partner client), not both: "
                          "a connection holds one tenant's credential")
    if conn.company_id is None:
        return
    if not any(e.token_kind for e in manifest.endpoints):
        raise ConfigError(f"{where}.company_id: {manifest.backend.title} has one kind of token; company_id "
                          "does not apply (remove it)")
    if conn.oauth is None:
        raise ConfigError(f"{where}.company_id: a company is named only for a partner connection: add "
                          f"[{where}.oauth] client_id and client_secret (a customer API token needs no company_id)")


def _embedded(where: str, backend: str, name: str, conn: ConnectionConfig, manifest: Manifest,
              settings: Settings) -> tuple[str, str | None, str, int | None]:
    """(base URL, token, label, per-minute budget) of a connection served by the embedded sandbox."""
    profile = manifest.backend.sandbox
    from .sandbox.emulators import EMULATORS

    if profile is None or backend not in EMULATORS:
        raise ConfigError(f"{where}: {manifest.backend.title} has no embedded sandbox; set base_url and a token")
    token = conn.token.get_secret_value() if conn.token else None
    label = conn.label or name
    if token is None and conn.oauth is None:
        from .sandbox.emulators import sandbox_credentials

        token, sandbox_label = sandbox_credentials(backend, name, profile.default_tenant)
        label = conn.label or sandbox_label
    per_minute = conn.per_minute if conn.per_minute is not None else _sandbox_limit(backend, settings)
    return f"http://{SANDBOX_HOST}{profile.mount}", token, label, per_minute


def _sandbox_limit(backend: str, settings: Settings) -> int:
    """The embedded sandbox's budget, per its own window (see ``runtime.build_upstream``)."""
    sandbox = settings.sandbox
    from .sandbox.emulators import EMULATORS

    limit: int = getattr(sandbox, EMULATORS[backend].rate_limit_field)
    others_real = any(c.base_url for b in settings.backends.values() for c in b.all_connections().values())
    # With real back ends in the same process the client paces per minute: scale the sandbox's budget.
    return max(1, int(limit * 60 / sandbox.window_seconds)) if others_real else limit


def _check_environment(where: str, base_url: str, token: str | None, embedded: bool, manifest: Manifest) -> None:
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
