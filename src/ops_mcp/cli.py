"""The ``ops-mcp`` command. Sub-commands import what they need lazily to keep start-up lean."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

Handler = Callable[[argparse.Namespace], int]


def _cmd_manifest_build(args: argparse.Namespace) -> int:
    from .catalogue.cli import run_build

    return run_build(args.openapi_dir, args.overlay_dir, args.out_dir, check=args.check, only=args.backend)


def _cmd_sandbox(args: argparse.Namespace) -> int:
    from .sandbox.serve import serve_sandbox

    return serve_sandbox(args.host, args.port, args.config)


def _cmd_init(args: argparse.Namespace) -> int:
    from .starter import run_init

    return run_init(args.dir, force=args.force)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ops-mcp", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = sub.add_parser("init", help="write a commented starter config (sandbox back ends, two agents)")
    init.add_argument("dir", nargs="?", default=".", help="where ops-mcp.toml and its state dir go (default .)")
    init.add_argument("--force", action="store_true", help="replace an existing ops-mcp.toml (state is kept)")
    init.set_defaults(handler=_cmd_init)

    manifest = sub.add_parser("manifest", help="build or check the tool manifests")
    manifest_sub = manifest.add_subparsers(dest="manifest_command", required=True)
    build = manifest_sub.add_parser("build", help="derive manifests from OpenAPI documents + overlays")
    build.add_argument("--check", action="store_true", help="fail if the committed manifests differ")
    build.add_argument("--backend", choices=["remote", "remoteops"], help="only this back end")
    build.add_argument("--openapi-dir", help="folder of OpenAPI documents (default tool_manifests/openapi)")
    build.add_argument("--overlay-dir", help="folder of overlays (default tool_manifests/overlays)")
    build.add_argument("--out-dir", help="where manifests are written (default tool_manifests)")
    build.set_defaults(handler=_cmd_manifest_build)

    sandbox = sub.add_parser("sandbox", help="serve the embedded Remote + RemoteOps sandbox")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8900)
    sandbox.add_argument("--config", help="ops-mcp.toml (its [sandbox] table tunes limits and faults)")
    sandbox.set_defaults(handler=_cmd_sandbox)

    from .server.cli import register_commands  # server-side commands: serve, tools, audit, check, ...

    register_commands(sub)
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
