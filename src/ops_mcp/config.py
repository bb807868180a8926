"""Configuration: a TOML file plus ``OPS_MCP_*`` environment overrides, validated once at start.

Lookup order for the file: ``--config``, else ``$OPS_MCP_CONFIG``, else ``./ops-mcp.toml``; without any
file, both back ends run on the embedded sandbox and no agent exists. Secrets may be written as
``${ENV_VAR}``. Every error names the key it is about.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from .config_env import EnvError, environment_overrides, merge_into

AccessLevel = Literal["off", "read", "full"]
ToolMode = Literal["auto", "static", "discovery"]
# Who may say yes to a confirm-listed write: only a person out of band (CLI, console), or the client itself.
ConfirmVia = Literal["person", "client"]
DEFAULT_CONNECTION = "default"
_POSTGRES_URL = re.compile(r"^postgres(ql)?://")
_REDIS_URL = re.compile(r"^(rediss?|unix)://")
# The two URLs a hosted deployment sets, under the names operators expect (besides OPS_MCP_STORAGE__URL).
URL_ENV = {"OPS_MCP_STORAGE_URL": ("storage", "url"), "OPS_MCP_REDIS_URL": ("coordination", "redis_url")}
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ConfigError(ValueError):
    """A configuration problem, with the offending key in the message."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OAuthConfig(_Strict):
    """A partner's OAuth client. Paths are relative to the connection's base_url."""

    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    scope: str | None = None
    token_path: str = Field(default="/auth/oauth2/token", pattern=r"^/")
    authorize_path: str = Field(default="/auth/oauth2/authorize", pattern=r"^/")
    redirect_uri: str | None = Field(
        default=None, pattern=r"^https?://",
        description="Where the back end sends the company admin after consent when `ops-mcp connect --via "
        "server` is used (default: the server's public URL + /oauth/callback/<backend>).",
    )


class ConnectionConfig(_Strict):
    """One tenant of one back end. No ``base_url`` means the embedded sandbox.

    A partner connection bound to one company sets ``oauth`` and ``company_id``; its refresh token is
    stored (encrypted) by ``ops-mcp connect <backend> --connection <name>``. ``oauth`` without
    ``company_id`` is a partner-level connection (partner operations and reference data only).
    """

    base_url: str | None = None
    token: SecretStr | None = None
    oauth: OAuthConfig | None = None
    company_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$",
                                   description="The company this partner connection acts for.")
    label: str | None = None
    budget_key: str | None = Field(
        default=None, description="Connections with the same key share one rate-limit budget (Remote: the company)."
    )
    per_minute: int | None = Field(default=None, gt=0)
    timeout: float = Field(default=30.0, gt=0)


class BackendConfig(ConnectionConfig):
    """A back end. Its own connection fields describe the connection named ``default``."""

    enabled: bool = True
    connections: dict[str, ConnectionConfig] = {}

    def all_connections(self) -> dict[str, ConnectionConfig]:
        if self.connections:
            return dict(self.connections)
        own = ConnectionConfig(**{k: getattr(self, k) for k in ConnectionConfig.model_fields})
        return {DEFAULT_CONNECTION: own}


class AgentConfig(_Strict):
    description: str = ""
    areas: dict[str, AccessLevel] = {}
    confirm: list[str] = Field(default=[], description="Areas or tools whose writes need a human's yes.")
    deny_tools: list[str] = []
    connections: dict[str, str] = Field(default={}, description="Back end → connection (tenant) name.")
    tool_mode: ToolMode = "auto"
    token_budget: int = Field(default=6000, gt=0)
    budget_weight: int = Field(
        default=1, ge=1, le=100,
        description="This agent's share of a tenant's upstream budget when agents compete for it "
        "(served round-robin by weight: 2 gets twice the slots of 1).",
    )
    confirm_via: ConfirmVia = Field(
        default="person",
        description="'person' (default): only a person out of band (ops-mcp approvals, the console's "
        "approval page) may approve; 'client': the MCP client may ask its user (in-client elicitation) — "
        "choose it only for a human-facing client such as a desktop app over stdio.",
    )


class CatalogueConfig(_Strict):
    manifests: list[Path] = Field(
        default=[], description="More back ends: manifest files (relative paths are relative to the config file)."
    )


class StorageConfig(_Strict):
    """Where state lives: files and SQLite in ``dir`` (the default), or PostgreSQL when ``url`` is set."""

    dir: Path | None = None
    url: SecretStr | None = Field(
        default=None,
        description="postgresql://user@host/db: every replica's shared state (needs ops-mcp[postgres]); "
        "also $OPS_MCP_STORAGE_URL. Run `ops-mcp migrate` first.",
    )
    pool_size: int = Field(default=8, gt=0, le=256, description="PostgreSQL connections per process.")

    @field_validator("url")
    @classmethod
    def _postgres_url(cls, url: SecretStr | None) -> SecretStr | None:
        if url is not None and not _POSTGRES_URL.match(url.get_secret_value()):
            raise ValueError("must start with postgresql:// or postgres://")
        return url


class CoordinationConfig(_Strict):
    """What replicas share fast: rate budgets, fair shares, revocations (Redis; needs ops-mcp[redis])."""

    redis_url: SecretStr | None = Field(
        default=None, description="redis://host:6379/0 (also $OPS_MCP_REDIS_URL); unset: this process alone."
    )
    key_prefix: str = Field(default="ops-mcp", pattern=r"^[A-Za-z0-9_.:-]{1,64}$",
                            description="Prefix of every Redis key and channel (one per deployment).")
    heartbeat_seconds: float = Field(default=2.0, gt=0, description="How often a replica says it is alive.")
    expected_replicas: int = Field(
        default=1, ge=1, le=1000,
        description="How many replicas you run: with Redis unreachable, a replica takes at most 1/this of each "
        "budget, even before it has seen the others (and 1/the number last seen, if more).",
    )

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, url: SecretStr | None) -> SecretStr | None:
        if url is not None and not _REDIS_URL.match(url.get_secret_value()):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return url


class SecretsConfig(_Strict):
    """The key that encrypts stored secrets (refresh tokens). ``$OPS_MCP_SECRET_KEY`` overrides it."""

    key_file: Path | None = Field(
        default=None, description="A file holding the key, outside the state dir (relative to the config file)."
    )


class AuditConfig(_Strict):
    redact_fields: list[str] | None = Field(default=None, description="Replaces the default list.")
    extra_redact_fields: list[str] = []


class ResourceServerOAuthConfig(_Strict):
    """OAuth 2.1 resource-server mode: agents present JWTs from this issuer instead of ops-mcp tokens."""

    issuer: str
    audience: str | list[str]
    jwks_url: str | None = None
    jwks_file: Path | None = Field(default=None, description="Relative paths are relative to the config file.")
    agent_claim: str = Field(default="sub", description="The claim whose value names the agent (its policy).")
    algorithms: list[str] = ["RS256", "ES256", "PS256", "EdDSA"]
    required_scopes: list[str] = []
    leeway_seconds: int = Field(default=30, ge=0)
    allow_agent_tokens: bool = Field(default=True, description="Also accept tokens from `ops-mcp agents add`.")

    @model_validator(mode="after")
    def _one_key_source(self) -> ResourceServerOAuthConfig:
        if (self.jwks_url is None) == (self.jwks_file is None):
            raise ValueError("set exactly one of jwks_url or jwks_file")
        return self


class ServerLimits(_Strict):
    """What one agent, or one credential, may hold at once, and how long a slow peer may take.

    "Credential" is one bearer token (an agent token, or a JWT's issuer and subject), so several people or
    workers using one agent through their own JWTs cannot crowd each other out either.
    """

    sessions_per_agent: int = Field(default=64, gt=0, description="Open MCP sessions (handshake era, SSE).")
    sessions_per_credential: int = Field(default=32, gt=0)
    calls_per_agent: int = Field(default=32, gt=0, description="Requests being served at once.")
    calls_per_credential: int = Field(default=16, gt=0)
    streams_per_agent: int = Field(default=16, gt=0, description="Open GET and subscriptions/listen streams.")
    streams_per_credential: int = Field(default=8, gt=0)
    max_sessions: int = Field(default=2000, gt=0, description="Open sessions of all agents together.")
    session_idle_seconds: float = Field(default=1800.0, gt=0, description="A session with no request this long ends.")
    crowded_idle_seconds: float = Field(
        default=60.0, gt=0,
        description="A credential at its session limit loses sessions idle this long (instead of 30 minutes).",
    )
    max_connections: int = Field(
        default=1000, gt=0, description="Open TCP connections; lowered to fit the process's file-descriptor limit."
    )
    header_timeout_seconds: float = Field(default=10.0, gt=0, description="Time to send a request's headers.")
    body_timeout_seconds: float = Field(default=30.0, gt=0, description="Time to send a request's body.")
    keep_alive_seconds: int = Field(default=5, gt=0, description="An idle keep-alive connection is closed after this.")
    max_header_bytes: int = Field(default=16384, ge=1024, le=1 << 20, description="Request line and headers.")
    revocation_poll_seconds: float = Field(
        default=1.0, gt=0, description="How often the token store is checked for revoked agents (every replica)."
    )


class ServerConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=0, le=65535)
    public_url: str | None = None
    allowed_hosts: list[str] = []
    allowed_origins: list[str] = []
    stateless: bool = False
    trim_memory_seconds: float = Field(
        default=30.0, ge=0, description="Return freed heap pages to the OS this often (glibc); 0 = never."
    )
    oauth: ResourceServerOAuthConfig | None = None
    limits: ServerLimits = ServerLimits()


class SandboxConfig(_Strict):
    remote_rate_limit: int = Field(default=300, gt=0)
    remoteops_rate_limit: int = Field(default=60, gt=0)
    window_seconds: float = Field(default=60.0, gt=0)
    webhook_time_scale: float = Field(default=1.0, gt=0)


class LoggingConfig(_Strict):
    format: Literal["text", "json"] = Field(
        default="text", description="stderr logs: text lines, or one JSON object per line (--log-format)."
    )


class TelemetryConfig(_Strict):
    """OpenTelemetry traces (needs ``ops-mcp[otel]``). Off unless enabled here or by the standard
    ``OTEL_*`` environment (``OTEL_TRACES_EXPORTER`` or an ``OTEL_EXPORTER_OTLP_*ENDPOINT``)."""

    enabled: bool = False
    exporter: Literal["otlp", "console"] = "otlp"
    endpoint: str | None = Field(
        default=None, description="OTLP/HTTP traces endpoint (default: the OTEL_EXPORTER_OTLP_* environment)."
    )
    service_name: str = "ops-mcp"


class Settings(_Strict):
    """The whole configuration; ``load_settings`` lays the ``OPS_MCP_*`` environment over the file (config_env.py)."""

    storage: StorageConfig = StorageConfig()
    coordination: CoordinationConfig = CoordinationConfig()
    secrets: SecretsConfig = SecretsConfig()
    catalogue: CatalogueConfig = CatalogueConfig()
    backends: dict[str, BackendConfig] = {}
    agents: dict[str, AgentConfig] = {}
    audit: AuditConfig = AuditConfig()
    server: ServerConfig = ServerConfig()
    sandbox: SandboxConfig = SandboxConfig()
    logging: LoggingConfig = LoggingConfig()
    telemetry: TelemetryConfig = TelemetryConfig()
    config_path: Path | None = Field(default=None, exclude=True)

    def state_dir(self) -> Path:
        if self.storage.dir is not None:
            base = self.config_path.parent if self.config_path else Path.cwd()
            return (base / self.storage.dir).resolve()
        if self.config_path is not None:
            return self.config_path.parent.resolve() / ".ops-mcp"
        data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        return Path(data_home) / "ops-mcp"

    def secret_key_file(self) -> Path | None:
        if self.secrets.key_file is None:
            return None
        base = self.config_path.parent if self.config_path else Path.cwd()
        return (base / self.secrets.key_file.expanduser()).resolve()

    def extra_manifests(self) -> list[Path]:
        base = self.config_path.parent if self.config_path else Path.cwd()
        return [(base / path).resolve() for path in self.catalogue.manifests]

    def backend(self, name: str) -> BackendConfig:
        """The configured back end, or the embedded-sandbox default when the file does not name it."""
        return self.backends.get(name) or BackendConfig()


def find_config_path(explicit: str | os.PathLike | None) -> Path | None:
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        return path
    env = os.environ.get("OPS_MCP_CONFIG")
    if env:
        path = Path(env)
        if not path.is_file():
            raise ConfigError(f"OPS_MCP_CONFIG points at {path}, which does not exist")
        return path
    default = Path("ops-mcp.toml")
    return default if default.is_file() else None


def load_settings(explicit: str | os.PathLike | None = None) -> Settings:
    """Read, expand and validate the configuration's structure. Names (areas, tools, connections) are
    checked against the catalogue when the runtime is built (``runtime.build_runtime``)."""
    path = find_config_path(explicit)
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        data = _with_url_env(merge_into(_expand(data, ()), environment_overrides(Settings)))
    except EnvError as exc:
        raise ConfigError(str(exc)) from None
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path)) from None
    settings.config_path = path.resolve() if path else None
    return settings


def _with_url_env(data: dict[str, Any]) -> dict[str, Any]:
    """``$OPS_MCP_STORAGE_URL`` and ``$OPS_MCP_REDIS_URL`` override the file (empty: unset)."""
    for env, (section, key) in URL_ENV.items():
        value = os.environ.get(env)
        if value is not None:
            data = {**data, section: {**data.get(section, {}), key: value or None}}
    return data


def _expand(node: Any, where: tuple[str, ...]) -> Any:
    """Replace ``${VAR}`` with the environment's value; a missing variable names the key."""
    if isinstance(node, dict):
        return {k: _expand(v, (*where, str(k))) for k, v in node.items()}
    if isinstance(node, list):
        return [_expand(v, (*where, str(i))) for i, v in enumerate(node)]
    if isinstance(node, str) and "${" in node:
        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise ConfigError(f"{'.'.join(where)}: environment variable {name} is not set")
            return os.environ[name]

        return _ENV_REF.sub(substitute, node)
    return node


def _describe(exc: ValidationError, path: Path | None) -> str:
    where = f"{path}: " if path else ""
    lines = []
    for err in exc.errors():
        key = ".".join(str(part) for part in err["loc"]) or "(top level)"
        message = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        lines.append(f"{where}{key}: {message}")
    return "\n".join(lines)
