"""The combined sandbox: every shipped emulator on one ASGI app, each under the mount its back end's
manifest profile names (Remote under ``/remote``, RemoteOps under ``/remoteops/v1``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from ..catalogue import load_catalogue
from ..config import SandboxConfig
from .emulators import EMULATORS


def _default_settings() -> dict[str, Any]:
    config = SandboxConfig()
    return {name: emulator.settings(config) for name, emulator in EMULATORS.items()}


@dataclass
class SandboxSettings:
    """Per back end, the settings object of its emulator (e.g. ``RemoteSandboxSettings``)."""

    backends: dict[str, Any] = field(default_factory=_default_settings)

    @property
    def remote(self) -> Any:
        return self.backends["remote"]

    @property
    def remoteops(self) -> Any:
        return self.backends["remoteops"]


def mounts() -> dict[str, str]:
    """Back end → path prefix, from the manifest profiles of the back ends that ship an emulator."""
    found = {}
    for name, manifest in load_catalogue().items():
        if name in EMULATORS and manifest.backend.sandbox is not None:
            found[name] = manifest.backend.sandbox.mount
    return found


def create_sandbox_app(settings: SandboxSettings | None = None) -> Starlette:
    settings = settings or SandboxSettings()
    prefixes = mounts()
    apps = {name: EMULATORS[name].app(settings.backends[name]) for name in prefixes}

    async def index(request: Request) -> JSONResponse:
        return JSONResponse({"object": "sandbox", "backends": prefixes})

    routes: list[Mount | Route] = [Route("/", index)]
    routes += [Mount(prefixes[name], app=sub) for name, sub in apps.items()]
    app = Starlette(routes=routes)
    for name, sub in apps.items():
        setattr(app.state, name, sub)
    return app


def banner(base_url: str) -> str:
    """What `ops-mcp sandbox` prints: each emulator's base URL and the credentials to use."""
    base = base_url.rstrip("/")
    catalogue = load_catalogue()
    lines = ["ops-mcp sandbox (no real back ends; data is seeded and resets on restart)", ""]
    for name, prefix in mounts().items():
        lines.append(f"{catalogue[name].backend.title:<10} {base}{prefix}")
        lines += [f"  {key:<30} {value}" for key, value in EMULATORS[name].credentials().items()]
        lines.append("")
    lines.append("Control (each emulator): GET <base>/_sandbox/requests, PUT <base>/_sandbox/faults")
    return "\n".join(lines)
