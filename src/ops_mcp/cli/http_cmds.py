"""Sub-commands for hosted agents: ``agents add|list|revoke``, ``webhooks register|status`` and ``run``.

Tokens are printed on stdout exactly once (``agents add``, ``run``); everything else goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .server_cmds import _add_config, _config

# The agent ``run`` issues a demo token for: the first of these the config defines, else the first agent.
DEMO_AGENTS = ("people-ops", "auditor", "dispatch-bot")




def register_http_commands(sub: Any) -> None:
    agents = sub.add_parser("agents", help="bearer tokens of hosted (HTTP) agents")
    agents_sub = agents.add_subparsers(dest="agents_command", required=True)
    add = agents_sub.add_parser("add", help="issue a token for a configured agent (shown once)")
    add.add_argument("name")
    add.add_argument("--rotate", action="store_true", help="replace the agent's existing token")
    listing = agents_sub.add_parser("list", help="agents and whether each has a token")
    listing.add_argument("--json", action="store_true")
    revoke = agents_sub.add_parser("revoke", help="revoke an agent's token (effective immediately)")
    revoke.add_argument("name")
    for parser in (add, listing, revoke):
        _add_config(parser)
    agents.set_defaults(handler=cmd_agents)

    webhooks = sub.add_parser("webhooks", help="register the webhook receiver with the back ends")
    webhooks_sub = webhooks.add_subparsers(dest="webhooks_command", required=True)
    register = webhooks_sub.add_parser("register", help="register the receiver URL with each back end's API")
    register.add_argument("--url", help="public base URL of this server (default [server] public_url)")
    register.add_argument("--backend", action="append", help="only this back end (repeatable)")
    status = webhooks_sub.add_parser("status", help="registrations and recent rejected deliveries")
    for parser in (register, status):
        _add_config(parser)
    webhooks.set_defaults(handler=cmd_webhooks)

    run = sub.add_parser("run", help="demo: HTTP server on the embedded sandbox, with a demo agent token")
    _add_config(run)
    run.add_argument("--host", help="bind address (default [server] host, 127.0.0.1)")
    run.add_argument("--port", type=int, help="port (default [server] port, 8765; a free one if taken)")
    run.add_argument("--agent", help="the agent the demo token is for (default: people-ops if configured)")
    run.set_defaults(handler=cmd_run)


def _settings(config: str | None):
    from ..config import ConfigError, load_settings

    try:
        return load_settings(config)
    except ConfigError as exc:
        print(f"ops-mcp: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_agents(args: argparse.Namespace) -> int:
    from ..transports.agent_auth import AgentTokenStore

    settings = _settings(_config(args))
    store = AgentTokenStore(settings.state_dir())
    configured = sorted(settings.agents)
    if args.agents_command == "list":
        tokens = store.tokens()
        rows = [{"agent": name, "token": name in tokens,
                 "created_at": tokens[name].created_at if name in tokens else None,
                 "hint": tokens[name].hint + "…" if name in tokens else None} for name in configured]
        orphans = [{"agent": name, "token": True, "created_at": t.created_at, "hint": t.hint + "…",
                    "note": "not in the config: this token is refused"}
                   for name, t in sorted(tokens.items()) if name not in settings.agents]
        if args.json:
            print(json.dumps(rows + orphans, indent=2))
            return 0
        for row in rows + orphans:
            state = f"token {row['hint']} issued {row['created_at']}" if row["token"] else "no token"
            print(f"{row['agent']:<24} {state}{'  (' + row['note'] + ')' if row.get('note') else ''}")
        return 0
    name = args.name
    if args.agents_command == "revoke":
        if not store.revoke(name):
            print(f"ops-mcp: {name!r} has no token", file=sys.stderr)
            return 1
        print(f"revoked the token of {name}", file=sys.stderr)
        return 0
    if name not in settings.agents:
        print(f"ops-mcp: unknown agent {name!r}; configured agents: {', '.join(configured) or 'none'}",
              file=sys.stderr)
        return 2
    if name in store.tokens() and not args.rotate:
        print(f"ops-mcp: {name} already has a token; pass --rotate to replace it (the old one stops working)",
              file=sys.stderr)
        return 1
    token = store.issue(name)
    print(f"Token for {name} (shown once; only its hash is stored in {store.path}):", file=sys.stderr)
    print(token)
    return 0


def cmd_webhooks(args: argparse.Namespace) -> int:
    from ..events.receiver import WebhookSecrets
    from ..events.store import EVENTS_FILE, EventStore

    settings = _settings(_config(args))
    secrets = WebhookSecrets(settings.state_dir())
    if args.webhooks_command == "status":
        for backend, connections in sorted(secrets.entries().items()):
            for name, entry in sorted(connections.items()):
                print(f"{backend}/{name}: {entry.get('url')} (id {entry.get('id')}, registered "
                      f"{entry.get('registered_at')}, {len(entry.get('secrets', []))} signing secret(s))")
        path = settings.state_dir() / EVENTS_FILE
        if path.exists():
            store = EventStore(path)
            for row in store.rejections(20):
                print(f"rejected {row['backend']} delivery from {row['remote_addr']}: {row['reason']}")
            store.close()
        return 0
    return _register(args, settings, secrets)


def _register(args: argparse.Namespace, settings: Any, secrets: Any) -> int:
    import anyio

    from ..events.receiver import register_webhooks
    from .server_cmds import _setup_logging, load_runtime

    _setup_logging()
    base = args.url or settings.server.public_url
    if not base:
        print("ops-mcp: pass --url https://your-host (or set [server] public_url): the back ends must reach it",
              file=sys.stderr)
        return 2
    runtime = load_runtime(_config(args))
    if any(t.embedded for t in runtime.tenants.values()):
        print("note: the embedded sandbox lives inside the server process; `ops-mcp run` registers it itself",
              file=sys.stderr)

    async def main() -> int:
        try:
            results = await register_webhooks(runtime, base, secrets, backends=args.backend, embedded=False)
        finally:
            await runtime.aclose()
        for r in results:
            print(f"{r.backend}/{r.connection}: {'ok' if r.ok else 'FAILED'} — {r.url}: {r.detail}")
        return 0 if all(r.ok for r in results) else 1

    return anyio.run(main)


def cmd_run(args: argparse.Namespace) -> int:
    from ..transports.agent_auth import AgentTokenStore
    from ..transports.http import free_port, run_http
    from .server_cmds import _setup_logging, load_runtime

    _setup_logging()
    runtime = load_runtime(_config(args))
    settings = runtime.settings
    agents = sorted(runtime.policies)
    if not agents:
        print("ops-mcp: the config defines no agents; add an [agents.NAME] table", file=sys.stderr)
        return 2
    agent = args.agent or next((a for a in DEMO_AGENTS if a in runtime.policies), agents[0])
    if agent not in runtime.policies:
        print(f"ops-mcp: unknown agent {agent!r}; configured agents: {', '.join(agents)}", file=sys.stderr)
        return 2
    host = args.host or settings.server.host
    port = settings.server.port if args.port is None else args.port
    if port == 0 or not _port_free(host, port):
        wanted, port = port, free_port(_bind_probe_host(host))
        if wanted:
            print(f"port {wanted} is taken; using {port}", file=sys.stderr)
    # The token is shown once, so each run issues a fresh one for the demo agent (the previous one stops working).
    token = AgentTokenStore(runtime.state_dir).issue(agent)
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    _print_banner(base, agent, token, _config(args), runtime)
    sys.stdout.flush()
    return run_http(runtime, transport="http", host=host, port=port, register_webhooks_at=base)


def _bind_probe_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::", "localhost") else host


def _port_free(host: str, port: int) -> bool:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind((_bind_probe_host(host), port))
        except OSError:
            return False
    return True


def _print_banner(base: str, agent: str, token: str, config: str | None, runtime: Any) -> None:
    from pathlib import Path

    config_path = str(Path(config).resolve()) if config else str(runtime.settings.config_path or "ops-mcp.toml")
    exe = str(Path(sys.argv[0]).resolve()) if sys.argv and sys.argv[0].endswith("ops-mcp") else "ops-mcp"
    desktop = {"mcpServers": {f"ops-{agent}": {
        "command": exe, "args": ["serve", "--transport", "stdio", "--agent", agent, "--config", config_path]}}}
    others = ", ".join(a for a in sorted(runtime.policies) if a != agent)
    print(f"""
ops-mcp is running on the embedded sandbox (Remote + RemoteOps; no real credentials involved).

  MCP (streamable HTTP):  {base}/mcp
  MCP (SSE, deprecated):  {base}/sse
  health / metrics:       {base}/healthz  {base}/readyz  {base}/metrics
  webhook receiver:       {base}/webhooks/remote  {base}/webhooks/remoteops  (sandbox registered automatically)

Demo agent: {agent}   token (shown once, a new one each run):
  {token}

Try it:
  curl -s {base}/mcp -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' \\
    -H 'Accept: application/json, text/event-stream' \\
    -d '{{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{"protocolVersion":"2025-06-18","capabilities":{{}},"clientInfo":{{"name":"curl","version":"1"}}}}}}'

Other agents ({others or 'none'}): ops-mcp agents add NAME --config {config_path}

Claude Desktop (stdio, one agent per process) — claude_desktop_config.json:
{json.dumps(desktop, indent=2)}

Press Ctrl+C to stop.
""")
