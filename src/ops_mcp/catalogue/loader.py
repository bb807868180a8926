"""Find and load the committed manifests (cheap: JSON + pydantic, no OpenAPI parsing)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from .models import Manifest

BACKENDS = ("remote", "remoteops")


def manifest_dir() -> Path:
    """``$OPS_MCP_MANIFEST_DIR``, else the source checkout's ``tool_manifests/``, else the installed copy."""
    override = os.environ.get("OPS_MCP_MANIFEST_DIR")
    if override:
        return Path(override)
    here = Path(__file__).resolve()
    checkout = here.parents[3] / "tool_manifests"
    if checkout.is_dir():
        return checkout
    return here.parents[1] / "_manifests"


def load_manifest(backend: str, directory: Path | None = None) -> Manifest:
    path = (directory or manifest_dir()) / f"{backend}.json"
    return Manifest.model_validate(json.loads(path.read_text()))


@cache
def load_catalogue(directory: Path | None = None) -> dict[str, Manifest]:
    """The shipped back ends' manifests, keyed by back-end name (cached for the process)."""
    return {name: load_manifest(name, directory) for name in BACKENDS}


def catalogue_with(extra: Iterable[Path]) -> dict[str, Manifest]:
    """The shipped manifests plus more back ends from manifest files (``[catalogue] manifests``).

    A back end is a manifest (and, to run without credentials, an emulator): nothing else. Its name must be
    new: an extra manifest cannot replace or shadow a shipped back end.
    """
    catalogue = dict(load_catalogue())
    for path in extra:
        manifest = Manifest.model_validate(json.loads(Path(path).read_text()))
        name = manifest.backend.name
        if name in catalogue:
            raise ValueError(f"{path}: back end {name!r} is already in the catalogue")
        catalogue[name] = manifest
    return catalogue
