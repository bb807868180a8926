"""``ops-mcp run``: the demo — the HTTP server on the embedded sandbox, with a token for a demo agent."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .common import add_config, config_of, load_runtime, setup_logging

# The agent ``run`` issues a demo token for: the first of these the config defines, else the first agent.
DEMO_AGENTS = ("people-ops", "auditor", "dispatch-bot")


def register(sub: Any) -> None:
    run = sub.add_parser("run", help="demo: HTTP server on the embedded sandbox, with a demo agent token")
    add_config(run)
    run.add_argument("--host", help="bind address (default [server] host, 127.0.0.1)")
    run.add_argument("--port", type=int, help="port (default [server] port, 8765; a free one if taken)")
    run.add_argument("--agent", help="the agent the demo token is for (default: people-ops if configured)")
    run.set_defaults(handler=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    from ..transports.agent_auth import AgentTokenStore
    from ..transports.http import free_port, run_http

    setup_logging()
    runtime = load_runtime(config_of(args))
    settings = runtime.settings
    agents = runtime.policies.names()
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
    _print_banner(base, agent, token, config_of(args), runtime)
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
    others = ", ".join(a for a in runtime.policies.names() if a != agent)
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
