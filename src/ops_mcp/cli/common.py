"""What every sub-command shares: the ``--config`` option, logging to stderr, loading settings and the
runtime with a one-line error (naming the bad key) instead of a traceback."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import Settings
    from ..runtime import Runtime


def add_config(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: a nested sub-command's --config must not reset one given before it (`audit --config X tail`).
    parser.add_argument("--config", default=argparse.SUPPRESS,
                        help="ops-mcp.toml (default: $OPS_MCP_CONFIG, else ./ops-mcp.toml)")


def config_of(args: argparse.Namespace) -> str | None:
    return getattr(args, "config", None)


def setup_logging() -> None:
    # stdout is the stdio transport: logs go to stderr only.
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)


def fail(message: str, code: int = 2) -> SystemExit:
    print(f"ops-mcp: {message}", file=sys.stderr)
    return SystemExit(code)


def load_settings_or_exit(config: str | None) -> Settings:
    from ..config import ConfigError, load_settings

    try:
        return load_settings(config)
    except ConfigError as exc:
        raise fail(f"configuration error: {exc}") from None


def load_runtime(config: str | None) -> Runtime:
    """Settings → runtime, or a one-line error naming the bad key and exit code 2."""
    from ..config import ConfigError
    from ..runtime import build_runtime

    settings = load_settings_or_exit(config)
    try:
        return build_runtime(settings)
    except ConfigError as exc:
        raise fail(f"configuration error: {exc}") from None


def require_agent(runtime: Runtime, agent: str | None, *, why: str = "stdio") -> str:
    known = ", ".join(runtime.policies.names()) or "none configured"
    if not agent:
        raise fail(f"--agent is required for {why}; configured agents: {known}")
    if agent not in runtime.policies:
        raise fail(f"unknown agent {agent!r}; configured agents: {known}")
    return agent
