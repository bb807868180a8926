"""``ops-mcp init [DIR]``: a commented starter config (sandbox back ends, two agents) and its state dir."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    init = sub.add_parser("init", help="write a commented starter config (sandbox back ends, two agents)")
    init.add_argument("dir", nargs="?", default=".", help="where ops-mcp.toml and its state dir go (default .)")
    init.add_argument("--force", action="store_true", help="replace an existing ops-mcp.toml (state is kept)")
    init.set_defaults(handler=cmd_init)


def cmd_init(args: argparse.Namespace) -> int:
    from ..starter import run_init

    return run_init(args.dir, force=args.force)
