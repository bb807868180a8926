"""The embedded sandbox as configured by ``[sandbox]`` in ops-mcp.toml (used when no base_url is set)."""

from __future__ import annotations

from typing import Any

from ..config import SandboxConfig


def sandbox_settings(config: SandboxConfig | None = None) -> Any:
    from .app import SandboxSettings
    from .remote import RemoteSandboxSettings
    from .remoteops import RemoteOpsSandboxSettings

    config = config or SandboxConfig()
    return SandboxSettings(
        remote=RemoteSandboxSettings(
            rate_limit=config.remote_rate_limit,
            window_seconds=config.window_seconds,
            webhook_time_scale=config.webhook_time_scale,
        ),
        remoteops=RemoteOpsSandboxSettings(
            rate_limit=config.remoteops_rate_limit,
            window_seconds=config.window_seconds,
            webhook_time_scale=config.webhook_time_scale,
        ),
    )


def embedded_sandbox_app(config: SandboxConfig | None = None) -> Any:
    from .app import create_sandbox_app

    return create_sandbox_app(sandbox_settings(config))
