"""``ops-mcp manifest build [--check]``: regenerate manifests and their JSON Schema, or prove no drift."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..catalogue.build import BuildError, build_file, dump_manifest, manifest_json_schema
from ..catalogue.loader import BACKENDS, manifest_dir


def register(sub: Any) -> None:
    manifest = sub.add_parser("manifest", help="build or check the tool manifests")
    manifest_sub = manifest.add_subparsers(dest="manifest_command", required=True)
    build = manifest_sub.add_parser("build", help="derive manifests from OpenAPI documents + overlays")
    build.add_argument("--check", action="store_true", help="fail if the committed manifests differ")
    build.add_argument("--backend", choices=list(BACKENDS), help="only this back end")
    build.add_argument("--openapi-dir", help="folder of OpenAPI documents (default tool_manifests/openapi)")
    build.add_argument("--overlay-dir", help="folder of overlays (default tool_manifests/overlays)")
    build.add_argument("--out-dir", help="where manifests are written (default tool_manifests)")
    build.set_defaults(handler=cmd_build)


def cmd_build(args: argparse.Namespace) -> int:
    return run_build(args.openapi_dir, args.overlay_dir, args.out_dir, check=args.check, only=args.backend)


def expected_files(openapi_dir: Path, overlay_dir: Path, backends: Iterable[str] = BACKENDS) -> dict[str, str]:
    """File name → content that the build produces."""
    files = {"manifest.schema.json": manifest_json_schema()}
    for backend in backends:
        manifest = build_file(openapi_dir / f"{backend}.json", overlay_dir / f"{backend}.json")
        files[f"{backend}.json"] = dump_manifest(manifest)
    return files


def run_build(openapi_dir: str | None, overlay_dir: str | None, out_dir: str | None, *, check: bool,
              only: str | None = None) -> int:
    root = manifest_dir()
    openapi = Path(openapi_dir) if openapi_dir else root / "openapi"
    overlays = Path(overlay_dir) if overlay_dir else root / "overlays"
    out = Path(out_dir) if out_dir else root
    try:
        files = expected_files(openapi, overlays, (only,) if only else BACKENDS)
    except (BuildError, OSError, ValueError) as exc:
        print(f"manifest build failed: {exc}", file=sys.stderr)
        return 2
    drift = []
    for name, content in files.items():
        target = out / name
        current = target.read_text() if target.exists() else None
        if current == content:
            continue
        if check:
            drift.append(name)
        else:
            target.write_text(content)
            print(f"wrote {target}")
    if drift:
        print(f"manifests drifted from their sources: {', '.join(drift)}; run `ops-mcp manifest build`",
              file=sys.stderr)
        return 1
    if check:
        print("manifests match their OpenAPI documents and overlays: no drift")
    return 0
