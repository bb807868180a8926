"""``ops-mcp admins add | list | remove``: the people who sign in to the operator console (``/admin``).

A password is printed on stdout exactly once; only its salted scrypt hash is stored, in the state store
(``console.sqlite3`` in the state dir, or PostgreSQL with ``storage.url``). Everything else goes to stderr.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .common import add_config, config_of, load_settings_or_exit, open_state_or_exit

ROLE_HELP = "admin: access, agents, tokens; approver: decides pending writes; auditor: reads the full audit"


def register(sub: Any) -> None:
    admins = sub.add_parser("admins", help="people who sign in to the operator console (/admin)")
    admins_sub = admins.add_subparsers(dest="admins_command", required=True)
    add = admins_sub.add_parser("add", help="create a console account; its password is shown once")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=("admin", "approver", "auditor"), help=ROLE_HELP)
    add.add_argument(
        "--reset", action="store_true", help="issue a new password (ends the account's sessions)"
    )
    listing = admins_sub.add_parser("list", help="console accounts and their roles")
    remove = admins_sub.add_parser("remove", help="remove a console account (ends its sessions)")
    remove.add_argument("name")
    for parser in (add, listing, remove):
        add_config(parser)
    admins.set_defaults(handler=cmd_admins)


def cmd_admins(args: argparse.Namespace) -> int:
    from ..console.people import create_account

    settings = load_settings_or_exit(config_of(args))
    state = open_state_or_exit(settings)
    store = state.console_store()
    try:
        if args.admins_command == "list":
            for account in store.accounts():
                print(f"{account.name:<24} {account.role}")
            return 0
        if args.admins_command == "remove":
            if not store.remove_account(args.name):
                print(f"ops-mcp: no console account {args.name!r}", file=sys.stderr)
                return 1
            print(f"removed the console account {args.name}", file=sys.stderr)
            return 0
        try:
            password = create_account(store, args.name, args.role, reset=args.reset)
        except ValueError as exc:
            print(f"ops-mcp: {exc}", file=sys.stderr)
            return 1
    finally:
        store.close()
        state.close()
    where = (settings.server.public_url or f"http://{settings.server.host}:{settings.server.port}").rstrip(
        "/"
    )
    print(
        f"Console account {args.name} ({args.role}). Sign in at {where}/admin/signin with this password, "
        f"shown only now (only a salted hash is kept in {state.where}):",
        file=sys.stderr,
    )
    print(password)
    return 0
