"""``ops-mcp run``: the demo — the HTTP server on the embedded sandbox, with a token for a demo agent.

The demo agent keeps its token from one run to the next: a token issued on purpose (and handed to a
client) must not stop working because someone restarted the demo. The first run issues one and shows
it; later runs say when it was issued and how to rotate it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
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
    setup_logging,
)
from .try_it import PROTOCOL, TOKEN_VARIABLE, session_less_requests

if TYPE_CHECKING:
    from ..runtime import Runtime

# The agent ``run`` issues a demo token for: the first of these the config defines, else the first agent.
DEMO_AGENTS = ("people-ops", "auditor", "dispatch-bot")


def register(sub: Any) -> None:
    run = sub.add_parser("run", help="demo: HTTP server on the embedded sandbox, with a demo agent token",
                         description="The HTTP server with a token for a demo agent (issued on the first run "
                                     "and kept afterwards), and the commands to try it.")
    add_config(run)
    run.add_argument("--host", help="bind address (default [server] host, 127.0.0.1)")
    run.add_argument("--port", type=int,
                     help="port (default [server] port, 8765; a free one if taken). With make: PORT=9000 make run")
    run.add_argument("--agent", help="the agent the demo token is for (default: people-ops if configured)")
    add_log_format(run)
    run.set_defaults(handler=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    from ..transports.http import free_port, run_http

    setup_logging()
    settings = load_settings_or_exit(config_of(args))
    apply_log_format(args.log_format, settings)
    runtime = load_runtime(config_of(args), settings=settings)
    agents = runtime.policies.names()
    if not agents:
        raise fail("the config defines no agents; add an [agents.NAME] table "
                   f"(`{command()} init` writes a starter config with two)")
    agent = args.agent or next((a for a in DEMO_AGENTS if a in runtime.policies), agents[0])
    if agent not in runtime.policies:
        raise fail(f"unknown agent {agent!r}; configured agents: {', '.join(agents)}")
    host = args.host or settings.server.host
    port = settings.server.port if args.port is None else args.port
    if port == 0 or not _port_free(host, port):
        wanted, port = port, free_port(_bind_probe_host(host))
        if wanted:
            print(f"port {wanted} is taken; using {port} (choose one with --port, or PORT=… make run)",
                  file=sys.stderr)
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    print(banner(runtime, agent, base, _demo_token(runtime, agent)))
    print(console_lines(runtime, base, _demo_people(runtime)))
    sys.stdout.flush()
    return run_http(runtime, transport="http", host=host, port=port, register_webhooks_at=base)


def _demo_token(runtime: Runtime, agent: str) -> str | None:
    """A new token when the agent has none (returned, to be shown once); None when one is kept."""
    store = runtime.store.agent_tokens()
    if agent in store.tokens():
        return None
    return store.issue(agent)


# On the embedded sandbox, the first run creates these console accounts and shows their passwords once.
DEMO_PEOPLE = (("admin", "admin"), ("approver", "approver"))


def _demo_people(runtime: Runtime) -> dict[str, str]:
    """New console accounts with their passwords (shown once); none when any account exists already, or when
    a real back end is configured (then people are added on purpose, with `ops-mcp admins add`)."""
    from ..console.people import create_account

    if not runtime.tenants.all_embedded:
        return {}
    store = runtime.store.console_store()
    try:
        if store.accounts():
            return {}
        return {name: create_account(store, name, role) for name, role in DEMO_PEOPLE}
    finally:
        store.close()


def console_lines(runtime: Runtime, base: str, created: dict[str, str]) -> str:
    config_path = runtime.settings.config_path
    config_flag = f" --config {config_path}" if config_path else ""
    add = f"{command()} admins add NAME --role admin|approver|auditor{config_flag}"
    if created:
        accounts = "\n".join(f"  {name:<9} password {password}   (role {dict(DEMO_PEOPLE)[name]})"
                              for name, password in created.items())
        how = (f"Sign in with these accounts, created for the sandbox; the passwords are shown only now (only "
               f"salted hashes are kept):\n{accounts}\nMore people (an auditor, say): {add}")
    else:
        how = f"Sign in with your console account. None yet, or a password lost? {add} (add --reset for a new password)"
    return f"""Operator console (access matrix, agents and tokens, approvals, audit, live view):
  {base}/admin
{how}
"""


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


def _token_lines(runtime: Runtime, agent: str, token: str | None, config_flag: str) -> tuple[str, str]:
    """What to say about the demo agent's token, and the ``export`` line the curl commands need."""
    from ..transports.agent_auth import TOKENS_FILE

    rotate = f"{command()} agents add {agent} --rotate{config_flag}"
    if token is not None:
        return (f"Demo agent: {agent}. Its token, shown only now (only a hash is kept, in "
                f"{runtime.state_dir / TOKENS_FILE}; later runs keep it):\n  {token}\n"
                f"A new one (the old one stops working): {rotate}",
                f"export {TOKEN_VARIABLE}={token}")
    kept = runtime.store.agent_tokens().tokens()[agent]
    return (f"Demo agent: {agent}. Its token ({kept.hint}…, issued {kept.created_at}) is kept from an earlier "
            "run; it was shown once, when it was issued.\n"
            f"Lost it? Issue a new one (the old one stops working): {rotate}",
            f"export {TOKEN_VARIABLE}='paste the {agent} token here'")


def banner(runtime: Runtime, agent: str, base: str, token: str | None) -> str:
    config_path = runtime.settings.config_path
    config_flag = f" --config {config_path}" if config_path else ""
    exe = command()
    desktop_command = str(Path(exe).resolve()) if "/" in exe else exe
    desktop = {"mcpServers": {f"ops-{agent}": {
        "command": desktop_command,
        "args": ["serve", "--transport", "stdio", "--agent", agent, *(["--config", str(config_path)]
                                                                      if config_path else [])]}}}
    others = ", ".join(a for a in runtime.policies.names() if a != agent)
    about_token, export = _token_lines(runtime, agent, token, config_flag)
    requests = "\n\n".join(f"  {line}" for line in [export, *session_less_requests(runtime, agent, f"{base}/mcp")])
    return f"""
ops-mcp is running on the embedded sandbox (Remote + RemoteOps; no real credentials involved).

  MCP (streamable HTTP):  {base}/mcp
  MCP (SSE, deprecated):  {base}/sse
  health / metrics:       {base}/healthz  {base}/readyz  {base}/metrics
  webhook receiver:       {base}/webhooks/remote  {base}/webhooks/remoteops  (sandbox registered automatically)
  another port:           {exe} run --port 9000{config_flag}   (or: PORT=9000 make run)

{about_token}

Try it in another terminal — MCP {PROTOCOL} requests stand alone (no session to open):
{requests}

(Handshake-era clients open a session instead: initialize, then send its Mcp-Session-Id header back with
notifications/initialized and every later request. MCP client libraries do all of this for you.)

Other agents ({others or 'none'}): {exe} agents add NAME{config_flag}

Claude Desktop (stdio, one agent per process) — claude_desktop_config.json:
{json.dumps(desktop, indent=2)}

Press Ctrl+C to stop.
"""
