"""What every sub-command shares: the ``--config`` option, logging to stderr, loading settings and the
runtime with a one-line error (naming the bad key) instead of a traceback, and the command name to print.

A command run where no configuration can be found says so and points to ``ops-mcp init``, instead of
carrying on with no agents (``unknown agent``) and a state dir in the user's home.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import Settings
    from ..coordination import Coordination
    from ..runtime import Runtime
    from ..storage import StateStore

LOG_FORMATS = ("text", "json")


def add_config(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: a nested sub-command's --config must not reset one given before it (`audit --config X tail`).
    parser.add_argument("--config", default=argparse.SUPPRESS,
                        help="ops-mcp.toml (default: $OPS_MCP_CONFIG, else ./ops-mcp.toml)")


def add_log_format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--log-format", choices=LOG_FORMATS, default=None,
                        help="stderr logs: text lines, or one JSON object per line "
                             "(default: [logging] format in the config, else text)")


def config_of(args: argparse.Namespace) -> str | None:
    return getattr(args, "config", None)


def setup_logging() -> None:
    """Logs go to stderr only (stdout is the stdio transport), as text until the settings are known."""
    from ..logs import configure_logging

    configure_logging("text")


def apply_log_format(log_format: str | None, settings: Settings) -> None:
    """``--log-format`` beats ``[logging] format``; logging set up by someone else is left alone."""
    from ..logs import use_format

    use_format(log_format or settings.logging.format)


def fail(message: str, code: int = 2) -> SystemExit:
    print(f"ops-mcp: {message}", file=sys.stderr)
    return SystemExit(code)


def command() -> str:
    """How the user can run ops-mcp again: ``ops-mcp`` when that is on PATH and is this very program,
    else the path of the running one (``.venv/bin/ops-mcp`` from a checkout)."""
    argv0 = sys.argv[0] if sys.argv else ""
    if not argv0.endswith("ops-mcp"):
        return "ops-mcp"
    running = Path(argv0).resolve()
    on_path = shutil.which("ops-mcp")
    if on_path and Path(on_path).resolve() == running:
        return "ops-mcp"
    try:
        return str(Path(argv0).absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(Path(argv0).absolute())


def no_config_message() -> str:
    return (
        f"no configuration found: no --config given, $OPS_MCP_CONFIG is not set, and there is no ops-mcp.toml "
        f"in {Path.cwd()}. Create one with `{command()} init` (a starter config with two example agents), "
        "or pass --config PATH"
    )


def is_configured(settings: Settings) -> bool:
    """A file was found, or the environment alone configures agents or a state dir (containers)."""
    return settings.config_path is not None or bool(settings.agents) or settings.storage.dir is not None


def load_settings_or_exit(config: str | None, *, require: bool = True) -> Settings:
    """The settings, or a one-line error and exit code 2 — also when nothing configures ops-mcp at all
    (unless ``require`` is False: ``check`` reports that itself)."""
    from ..config import ConfigError, load_settings

    try:
        settings = load_settings(config)
    except ConfigError as exc:
        raise fail(f"configuration error: {exc}") from None
    if require and not is_configured(settings):
        raise fail(no_config_message())
    return settings


def open_state_or_exit(settings: Settings) -> StateStore:
    """The configured state store, or a one-line error (unreachable, unmigrated) and exit code 2."""
    from ..storage import open_state

    try:
        return open_state(settings)
    except RuntimeError as exc:  # StorageUnavailable, SchemaMismatch
        raise fail(f"storage.url: {exc}") from None


def load_runtime(config: str | None, *, require: bool = True, settings: Settings | None = None) -> Runtime:
    """Settings → runtime, or a one-line error naming the bad key and exit code 2."""
    from ..config import ConfigError
    from ..logs import protect
    from ..runtime import build_runtime

    settings = settings or load_settings_or_exit(config, require=require)
    try:
        runtime = build_runtime(settings)
    except ConfigError as exc:
        raise fail(f"configuration error: {exc}") from None
    protect(runtime.tenants.secrets)  # from now on no log line carries the back ends' credentials
    return runtime


def where_config(settings: Settings) -> str:
    return str(settings.config_path) if settings.config_path else "the environment (OPS_MCP_*)"


def require_agent(runtime: Runtime, agent: str | None, *, why: str = "stdio") -> str:
    known = ", ".join(runtime.policies.names()) or "none configured"
    if not agent:
        raise fail(f"--agent is required for {why}; configured agents: {known}")
    if agent not in runtime.policies:
        raise fail(f"unknown agent {agent!r} in {where_config(runtime.settings)}; configured agents: {known}")
    return agent


def tell_replicas(settings: Settings, news: Callable[[Coordination], Awaitable[None]]) -> None:
    """With Redis (``[coordination] redis_url``), publish ``news`` to every replica now; without it there is
    nobody to tell at once (replicas find a change at their next poll of the state store)."""
    if settings.coordination.redis_url is None:
        return
    import anyio

    from ..coordination import open_coordination

    async def publish() -> None:
        coordination = open_coordination(settings)
        try:
            await news(coordination)
        finally:
            await coordination.aclose()

    anyio.run(publish)
