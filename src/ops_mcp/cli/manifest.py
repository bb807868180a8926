"""``ops-mcp manifest build [--check]``: regenerate manifests and their JSON Schema, or prove no drift."""

from __future__ import annotations

import sys
from pathlib import Path

from ..catalogue.build import BuildError, build_file, dump_manifest, manifest_json_schema
from ..catalogue.loader import BACKENDS, manifest_dir


def expected_files(openapi_dir: Path, overlay_dir: Path, backends=BACKENDS) -> dict[str, str]:
    """File name → content that the build produces."""
    files = {"manifest.schema.json": manifest_json_schema()}
    for backend in backends:
        manifest = build_file(openapi_dir / f"{backend}.json", overlay_dir / f"{backend}.json")
        files[f"{backend}.json"] = dump_manifest(manifest)
    return files


def run_build(openapi_dir, overlay_dir, out_dir, *, check: bool, only: str | None = None) -> int:
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
