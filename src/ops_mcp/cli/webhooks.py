"""``ops-mcp webhooks register | status``: register the receiver with each back end, and see what arrived."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .common import (
    add_config,
    config_of,
    load_runtime,
    load_settings_or_exit,
    open_state_or_exit,
    setup_logging,
)


def register(sub: Any) -> None:
    webhooks = sub.add_parser("webhooks", help="register the webhook receiver with the back ends")
    webhooks_sub = webhooks.add_subparsers(dest="webhooks_command", required=True)
    register_cmd = webhooks_sub.add_parser("register", help="register the receiver URL with each back end's API")
    register_cmd.add_argument("--url", help="public base URL of this server (default [server] public_url)")
    register_cmd.add_argument("--backend", action="append", help="only this back end (repeatable)")
    status = webhooks_sub.add_parser("status", help="registrations and recent rejected deliveries")
    for parser in (register_cmd, status):
        add_config(parser)
    webhooks.set_defaults(handler=cmd_webhooks)


def cmd_webhooks(args: argparse.Namespace) -> int:
    from ..events.store import EVENTS_FILE

    settings = load_settings_or_exit(config_of(args))
    state = open_state_or_exit(settings)
    secrets = state.webhook_secrets()
    if args.webhooks_command == "status":
        for backend, connections in sorted(secrets.entries().items()):
            for name, entry in sorted(connections.items()):
                print(f"{backend}/{name}: {entry.get('url')} (id {entry.get('id')}, registered "
                      f"{entry.get('registered_at')}, {len(entry.get('secrets', []))} signing secret(s))")
        path = settings.state_dir() / EVENTS_FILE
        if state.engine != "embedded" or path.exists():
            store = state.events()
            _print_rejections(store)
            store.close()
        return 0
    return _register(args, settings, secrets)


def _print_rejections(store: Any) -> None:
    """Totals per back end and kind, then the latest few; every stored text came from an unauthenticated
    sender, so it is neutralised before it reaches the terminal."""
    from ..text import neutralise

    totals = store.rejection_totals()
    if totals:
        print("rejected deliveries (all time):")
    for row in totals:
        print(f"  {row['backend']:<12} {row['kind']:<14} {row['count']:>9}  last {_when(row['last_at'])}: "
              f"{neutralise(row['last_reason'], 120)}")
    for row in store.rejections(20):
        event = f" [event {neutralise(row['event_id'], 80)}]" if row["event_id"] else ""
        print(f"rejected {row['backend']} delivery from {neutralise(row['remote_addr'] or '?', 64)} at "
              f"{_when(row['at'])}: {neutralise(row['reason'], 200)}{event}")


def _when(at: float) -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def _register(args: argparse.Namespace, settings: Any, secrets: Any) -> int:
    import anyio

    from ..events.registration import register_webhooks

    setup_logging()
    base = args.url or settings.server.public_url
    if not base:
        print("ops-mcp: pass --url https://your-host (or set [server] public_url): the back ends must reach it",
              file=sys.stderr)
        return 2
    runtime = load_runtime(config_of(args))
    if runtime.tenants.any_embedded:
        print("note: the embedded sandbox lives inside the server process; `ops-mcp run` registers it itself",
              file=sys.stderr)

    async def main() -> int:
        try:
            results = await register_webhooks(runtime.catalogue, runtime.tenants, runtime.upstream, base, secrets,
                                              backends=args.backend, embedded=False)
        finally:
            await runtime.aclose()
        for r in results:
            print(f"{r.backend}/{r.connection}: {'ok' if r.ok else 'FAILED'} — {r.url}: {r.detail}")
        return 0 if all(r.ok for r in results) else 1

    return anyio.run(main)
