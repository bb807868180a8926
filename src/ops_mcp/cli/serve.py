"""``ops-mcp serve``: MCP for agents over stdio (one agent per process) or HTTP/SSE (agents by credential)."""

from __future__ import annotations

import argparse
from typing import Any

from .common import add_config, config_of, fail, load_runtime, require_agent, setup_logging


def register(sub: Any) -> None:
    serve = sub.add_parser("serve", help="serve MCP to agents")
    add_config(serve)
    serve.add_argument("--transport", choices=["stdio", "http", "sse"], default="stdio")
    serve.add_argument("--agent", help="the agent this stdio process serves (stdio only)")
    serve.add_argument("--host", help="bind address for http/sse (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port for http/sse (default 8765)")
    serve.add_argument("--stateless", action="store_true", help="no sticky sessions (several replicas)")
    serve.set_defaults(handler=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    setup_logging()
    runtime = load_runtime(config_of(args))
    if args.transport == "stdio":
        from ..transports.stdio import run_stdio

        return run_stdio(runtime, require_agent(runtime, args.agent))
    if args.agent:
        raise fail("--agent applies to stdio only; over HTTP the agent is whoever its bearer token belongs to "
                   "(issue one with `ops-mcp agents add NAME`)")
    from ..transports.http import run_http

    return run_http(runtime, transport=args.transport, host=args.host, port=args.port, stateless=args.stateless)
