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
