"""ops-mcp configurations for the benchmarks: a TOML file for spawned servers, settings for in-process use.

Every connection points at a loopback sandbox with the sandbox's own test tokens, so the servers
under test reach the same upstream over the same kind of socket as the peer does.
"""

from __future__ import annotations

from pathlib import Path

from . import ops_internals

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / ".work"
EXAMPLE = ROOT / "examples" / "ops-mcp.toml"
MOUNTS = {"remote": "/remote", "remoteops": "/remoteops/v1"}
TENANTS = {"remote": "acme", "remoteops": "northwind"}
FULL_AGENT = "bench-full"  # every area, full access, static tool list: the full catalogue
UNLIMITED = 1_000_000  # a budget per minute no benchmark reaches ("rate limits raised")


# [server.limits] raised for the benchmark's one credential (see bench_toml).
SHARE_LIMITS = (
    "sessions_per_agent",
    "sessions_per_credential",
    "calls_per_agent",
    "calls_per_credential",
    "streams_per_agent",
    "streams_per_credential",
)
BENCH_SHARE = 256


def sandbox_token(backend: str, tenant: str | None = None) -> str:
    return ops_internals.sandbox_credentials(backend)[tenant or TENANTS[backend]]


def bench_toml(
    sandbox_url: str,
    state_dir: Path,
    *,
    client_per_minute: int | None = UNLIMITED,
    remote_rate_limit: int = UNLIMITED,
    remoteops_rate_limit: int = UNLIMITED,
    window_seconds: float = 60.0,
) -> str:
    """One file read by both ``ops-mcp sandbox`` (its ``[sandbox]`` table) and ``ops-mcp serve``.

    ``client_per_minute`` overrides ops-mcp's own pacing; None keeps the back end's published budget
    (what the rate-limit figure needs).
    """
    lines = [f'[storage]\ndir = "{state_dir}"\n']
    for backend, mount in MOUNTS.items():
        tenant = TENANTS[backend]
        lines += [
            f"[backends.{backend}.connections.{tenant}]",
            f'base_url = "{sandbox_url.rstrip("/")}{mount}"',
            f'token = "{sandbox_token(backend)}"',
        ]
        if client_per_minute is not None:
            lines.append(f"per_minute = {client_per_minute}")
        lines.append("")
    lines += [
        f"[agents.{FULL_AGENT}]",
        'areas = { "remote.*" = "full", "remoteops.*" = "full" }',
        'tool_mode = "static"',
        f'connections = {{ remote = "{TENANTS["remote"]}", remoteops = "{TENANTS["remoteops"]}" }}',
        "",
        "[sandbox]",
        f"remote_rate_limit = {remote_rate_limit}",
        f"remoteops_rate_limit = {remoteops_rate_limit}",
        f"window_seconds = {window_seconds}",
        "",
        # Every load client uses the one agent token (figure 3): a credential's fair share of the server
        # (issue 12: 16 calls and 8 streams at once) would refuse most of 32 clients, and the peer has no
        # such limits, so the figure would measure refusals. Raised here, for the benchmark only.
        "[server.limits]",
        *(f"{name} = {BENCH_SHARE}" for name in SHARE_LIMITS),
        "",
    ]
    return "\n".join(lines)


def offline_settings(state_dir: Path, *, example: Path = EXAMPLE):
    """The example configuration's agents, with every connection on an unused loopback URL.

    Listing tools never calls a back end; pointing at a URL (rather than the embedded sandbox) keeps
    the sandbox out of tool counting.
    """
    settings = ops_internals.load_settings(example)
    settings.storage.dir = state_dir
    for backend, config in settings.backends.items():
        for name, conn in config.all_connections().items():
            conn.base_url = f"http://127.0.0.1:9{MOUNTS[backend]}"
            if conn.token is None and conn.oauth is None:
                from pydantic import SecretStr

                conn.token = SecretStr(sandbox_token(backend, name))
            config.connections[name] = conn
    for agent in settings.agents.values():
        # The runtime wants a tenant per back end even where an agent has no area of it.
        agent.connections = {**TENANTS, **agent.connections}
    settings.agents["bench-discovery"] = ops_internals.agent_config(
        areas={"remote.*": "full", "remoteops.*": "full"},
        tool_mode="discovery",
        connections={"remote": TENANTS["remote"], "remoteops": TENANTS["remoteops"]},
    )
    return settings
