"""The embedded sandbox as configured by ``[sandbox]`` in ops-mcp.toml (used when no base_url is set)."""

from __future__ import annotations

from typing import Any

from ..config import SandboxConfig
from .emulators import EMULATORS


def sandbox_settings(config: SandboxConfig | None = None) -> Any:
    from .app import SandboxSettings

    config = config or SandboxConfig()
    return SandboxSettings({name: emulator.settings(config) for name, emulator in EMULATORS.items()})


def embedded_sandbox_app(config: SandboxConfig | None = None) -> Any:
    from .app import create_sandbox_app

    return create_sandbox_app(sandbox_settings(config))


def prepare_sandbox(app: Any) -> None:
    """Seed every emulator of an embedded sandbox app now rather than at its first request (warm-up)."""
    for name in EMULATORS:
        emulator_app = getattr(getattr(app, "state", None), name, None)
        state = getattr(getattr(emulator_app, "state", None), "sandbox", None)
        prepare = getattr(state, "prepare", None)
        if prepare is not None:
            prepare()
