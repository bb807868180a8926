"""The emulators ops-mcp ships, by back-end name: how to build each one and its sandbox credentials.

Where each emulator is mounted on the in-process sandbox host comes from its back end's manifest profile
(``backend.sandbox.mount``), so the sandbox app and the runtime read one table. Emulators are imported
only when the embedded sandbox is actually used.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from ..config import SandboxConfig


@dataclass(frozen=True)
class Emulator:
    """A back end's emulator package: ``create_app``, its settings class and its sandbox credentials."""

    package: str
    create_app: str  # name of the app factory in ``package``
    settings_class: str  # name of the settings class in ``package``
    rate_limit_field: str  # the SandboxConfig field that sets its rate limit

    def module(self) -> Any:
        return importlib.import_module(self.package)

    def settings(self, config: SandboxConfig) -> Any:
        cls = getattr(self.module(), self.settings_class)
        return cls(rate_limit=getattr(config, self.rate_limit_field), window_seconds=config.window_seconds,
                   webhook_time_scale=config.webhook_time_scale)

    def app(self, settings: Any) -> Any:
        return getattr(self.module(), self.create_app)(settings)

    def credentials(self) -> dict[str, str]:
        """Tenant name → sandbox token (or client id/secret entries)."""
        return dict(importlib.import_module(f"{self.package}.credentials").SANDBOX_CREDENTIALS)

    def labels(self) -> dict[str, str]:
        """Tenant name → the human name shown in audit sentences and confirmations."""
        module = importlib.import_module(f"{self.package}.credentials")
        return dict(getattr(module, "SANDBOX_TENANT_LABELS", {}))


EMULATORS: dict[str, Emulator] = {
    "remote": Emulator("ops_mcp.sandbox.remote", "create_remote_app", "RemoteSandboxSettings", "remote_rate_limit"),
    "remoteops": Emulator("ops_mcp.sandbox.remoteops", "create_remoteops_app", "RemoteOpsSandboxSettings",
                          "remoteops_rate_limit"),
}


def sandbox_credentials(backend: str, tenant: str, default_tenant: str) -> tuple[str, str]:
    """(token, label) for a connection on the embedded sandbox: by tenant name, else the default tenant."""
    emulator = EMULATORS[backend]
    credentials = emulator.credentials()
    name = tenant if tenant in credentials else default_tenant
    return credentials[name], emulator.labels().get(name, name)
