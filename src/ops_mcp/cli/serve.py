"""``ops-mcp serve``: MCP for agents over stdio (one agent per process) or HTTP/SSE (agents by credential).

Over HTTP the server refuses to start with no agents configured (every request would be refused, and
nothing would say why) and warns when no agent can authenticate yet.
"""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING, Any

from .common import (
    add_config,
    add_log_format,
    apply_log_format,
    command,
    config_of,
    fail,
    load_runtime,
    load_settings_or_exit,
    require_agent,
    setup_logging,
    where_config,
)

if TYPE_CHECKING:
    from ..config import Settings
    from ..runtime import Runtime

log = logging.getLogger("ops_mcp.serve")


def register(sub: Any) -> None:
    serve = sub.add_parser("serve", help="serve MCP to agents",
                           description="Serve MCP over stdio (one agent, fixed by --agent) or HTTP/SSE "
                                       "(each request's bearer token names its agent).")
    add_config(serve)
    serve.add_argument("--transport", choices=["stdio", "http", "sse"], default="stdio")
    serve.add_argument("--agent", help="the agent this stdio process serves (stdio only)")
    serve.add_argument("--host", help="bind address for http/sse (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port for http/sse (default 8765)")
    serve.add_argument("--stateless", action="store_true", help="no sticky sessions (several replicas)")
    add_log_format(serve)
    serve.set_defaults(handler=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    if args.transport != "stdio" and args.agent:
        # Refused before anything starts: over HTTP an --agent would silently change nothing.
        raise fail("--agent applies to stdio only; over HTTP the agent is whoever its bearer token belongs to "
                   f"(issue one with `{command()} agents add NAME`)")
    from .. import startup_gc

    startup_gc.pause()  # until the server is ready (startup_gc.py)
    try:
        return _serve(args)
    finally:
        startup_gc.end()


def _serve(args: argparse.Namespace) -> int:
    setup_logging()
    settings = load_settings_or_exit(config_of(args))
    apply_log_format(args.log_format, settings)
    if args.transport != "stdio":
        refuse_zero_agents(settings)
    runtime = load_runtime(config_of(args), settings=settings)
    from ..warmup import load_call_path

    load_call_path()
    if args.transport == "stdio":
        from ..transports.stdio import run_stdio

        return run_stdio(runtime, require_agent(runtime, args.agent))
    warn_without_tokens(runtime)
    from ..transports.http import run_http

    return run_http(runtime, transport=args.transport, host=args.host, port=args.port, stateless=args.stateless)


def refuse_zero_agents(settings: Settings) -> None:
    """Serving HTTP with zero agents would refuse every request and say nothing: stop, with the reason."""
    if not settings.agents:
        raise fail(f"refusing to serve HTTP with no agents: {where_config(settings)} defines no "
                   f"[agents.NAME] table, so every request would be refused. Add one (`{command()} init` writes a "
                   f"starter config with two), then issue its token with `{command()} agents add NAME`")


def warn_without_tokens(runtime: Runtime) -> None:
    """In agent-token mode, say so when no configured agent has a token yet (every request gets 401)."""
    if runtime.settings.server.oauth is not None:
        return
    issued = set(runtime.store.agent_tokens().tokens()) & set(runtime.policies.names())
    if not issued:
        log.warning("no agent has a token yet, so every request will get 401: issue one with "
                    "`%s agents add NAME%s` (configured agents: %s)", command(), _config_flag(runtime),
                    ", ".join(runtime.policies.names()))


def _config_flag(runtime: Runtime) -> str:
    path = runtime.settings.config_path
    return f" --config {path}" if path is not None else ""
