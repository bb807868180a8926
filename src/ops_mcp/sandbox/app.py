"""The combined sandbox: Remote under `/remote`, RemoteOps under `/remoteops/v1`, on one ASGI app."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from ops_mcp.sandbox.remoteops import SANDBOX_CREDENTIALS as REMOTEOPS_CREDENTIALS
from ops_mcp.sandbox.remoteops import RemoteOpsSandboxSettings, create_remoteops_app

REMOTE_PREFIX = "/remote"
REMOTEOPS_PREFIX = "/remoteops/v1"


def _remote_package() -> Any | None:
    """The Remote emulator, imported lazily so this module works without it."""
    try:
        return importlib.import_module("ops_mcp.sandbox.remote")
    except ImportError:
        return None


def _default_remote_settings() -> Any:
    package = _remote_package()
    return package.RemoteSandboxSettings() if package is not None else None


@dataclass
class SandboxSettings:
    remote: Any = field(default_factory=_default_remote_settings)  # RemoteSandboxSettings
    remoteops: RemoteOpsSandboxSettings = field(default_factory=RemoteOpsSandboxSettings)


def create_sandbox_app(settings: SandboxSettings | None = None) -> Starlette:
    settings = settings or SandboxSettings()
    remoteops_app = create_remoteops_app(settings.remoteops)
    mounts: list[Mount | Route] = [Mount(REMOTEOPS_PREFIX, app=remoteops_app)]
    backends = {"remoteops": REMOTEOPS_PREFIX}
    remote_app = None
    package = _remote_package()
    if package is not None:
        remote_app = package.create_remote_app(settings.remote)
        mounts.append(Mount(REMOTE_PREFIX, app=remote_app))
        backends["remote"] = REMOTE_PREFIX

    async def index(request: Request) -> JSONResponse:
        return JSONResponse({"object": "sandbox", "backends": backends})

    app = Starlette(routes=[Route("/", index), *mounts])
    app.state.remoteops = remoteops_app
    app.state.remote = remote_app
    return app


def banner(base_url: str) -> str:
    """What `ops-mcp sandbox` prints: both base URLs and the tokens to use."""
    base = base_url.rstrip("/")
    lines = ["ops-mcp sandbox (no real back ends; data is seeded and resets on restart)", ""]
    package = _remote_package()
    if package is not None:
        lines += [f"Remote     {base}{REMOTE_PREFIX}/v1   (OAuth: {base}{REMOTE_PREFIX}/auth/oauth2/token)"]
        lines += [f"  {name:<30} {value}" for name, value in package.SANDBOX_CREDENTIALS.items()]
        lines.append("")
    lines += [f"RemoteOps  {base}{REMOTEOPS_PREFIX}   (Authorization: Bearer <key>)"]
    lines += [f"  {name:<30} {value}" for name, value in REMOTEOPS_CREDENTIALS.items()]
    lines += ["", f"Control: GET {base}{REMOTEOPS_PREFIX}/_sandbox/requests, PUT {base}{REMOTEOPS_PREFIX}/_sandbox/faults"]
    return "\n".join(lines)
