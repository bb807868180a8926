"""``ops-mcp sandbox``: serve the embedded emulators of the back ends on one loopback port."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    sandbox = sub.add_parser("sandbox", help="serve the embedded Remote + RemoteOps sandbox")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8900)
    sandbox.add_argument("--config", help="ops-mcp.toml (its [sandbox] table tunes limits and faults)")
    sandbox.set_defaults(handler=cmd_sandbox)


def cmd_sandbox(args: argparse.Namespace) -> int:
    from ..sandbox.serve import serve_sandbox

    return serve_sandbox(args.host, args.port, args.config)
