"""The ``ops-mcp`` command: one module per command group, each importing what it needs lazily so that
start-up stays lean."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from . import (
    admins,
    agents,
    approvals,
    audit,
    check,
    connect,
    init,
    manifest,
    migrate,
    policy,
    run,
    sandbox,
    serve,
    tools,
    webhooks,
)

Handler = Callable[[argparse.Namespace], int]

DESCRIPTION = (
    "ops-mcp: a governed MCP tool server for Remote (HR) and RemoteOps (field service). "
    "Agents see only what their policy allows; every call is recorded in a tamper-evident audit log."
)
EPILOG = (
    "First time? `ops-mcp init DIR` writes a starter config with two example agents; every command then "
    "takes --config DIR/ops-mcp.toml (or export OPS_MCP_CONFIG=DIR/ops-mcp.toml). "
    "`ops-mcp COMMAND --help` describes each command."
)
GROUPS = (
    init,
    serve,
    run,
    tools,
    check,
    migrate,
    agents,
    admins,
    policy,
    approvals,
    audit,
    webhooks,
    connect,
    sandbox,
    manifest,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ops-mcp", description=DESCRIPTION, epilog=EPILOG)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
