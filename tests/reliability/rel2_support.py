"""Helpers for the flaky-upstream tests (item 2): both emulators served by a real uvicorn on loopback.

Over a real socket the sandbox's faults behave as they would in production: a request the client gave up on
(timeout) keeps running on the server and takes effect later, and a dropped connection really breaks
mid-body. ops-mcp reaches the sandbox through its ordinary ``base_url`` + token configuration.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from ops_mcp.config import SandboxConfig, Settings
from ops_mcp.sandbox.embedded import embedded_sandbox_app
from ops_mcp.sandbox.remote.credentials import SANDBOX_CREDENTIALS as REMOTE_CREDENTIALS
from ops_mcp.sandbox.remoteops.credentials import SANDBOX_CREDENTIALS as REMOTEOPS_CREDENTIALS
from tests.support.loopback import serving


class InFlight:
    """ASGI wrapper counting the requests the sandbox is still working on (an injected timeout keeps running
    after the client gave up), so a test can wait until every one has finished instead of sleeping."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.state = app.state
        self._busy = 0
        self._changed = threading.Condition()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with self._changed:
            self._busy += 1
        try:
            await self.app(scope, receive, send)
        finally:
            with self._changed:
                self._busy -= 1
                self._changed.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self._busy == 0, timeout)


@dataclass
class SandboxServer:
    base: str
    app: InFlight

    def state(self, backend: str) -> Any:
        """The emulator's state (stores, request log, fault settings) of ``remote`` or ``remoteops``."""
        return getattr(self.app.state, backend).state.sandbox

    def set_faults(self, **changes: Any) -> None:
        for backend in ("remote", "remoteops"):
            state = self.state(backend)
            state.faults = state.faults.updated(changes)

    def clear_faults(self) -> None:
        self.set_faults(error_rate=0, drop_rate=0, truncate_rate=0, non_json_rate=0, timeout_rate=0)

    def fault_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for backend in ("remote", "remoteops"):
            for kind, n in self.state(backend).fault_counts().items():
                counts[kind] = counts.get(kind, 0) + n
        return counts

    def request_count(self) -> int:
        return sum(len(self.state(b).requests) for b in ("remote", "remoteops"))

    def fault_marks(self) -> dict[str, int]:
        """Where each back end's fault log stands now (for :meth:`faults_since`)."""
        return {b: len(self.state(b).fault_log) for b in ("remote", "remoteops")}

    def faults_since(self, marks: dict[str, int]) -> list[Any]:
        """Faults applied since ``marks``, both back ends (``FaultRecord``: kind, request digest, attempt)."""
        return [f for b, start in marks.items() for f in self.state(b).fault_log[start:]]

    async def settle(self, timeout: float = 120) -> None:
        """Faults off, then wait until requests the client gave up on (injected timeouts) have finished."""
        self.clear_faults()
        if not await anyio.to_thread.run_sync(self.app.wait_idle, timeout):
            raise RuntimeError("the sandbox still has requests in flight")


@contextmanager
def sandbox_server(**sandbox: Any) -> Iterator[SandboxServer]:
    """Both emulators (``[sandbox]`` keys as in ops-mcp.toml) on a free loopback port, in a thread."""
    app = InFlight(embedded_sandbox_app(SandboxConfig(**sandbox)))
    # Injected drops raise inside the app on purpose; uvicorn would log each one as a crash.
    with serving(app, quiet=True, lifespan="off", graceful_shutdown_s=1) as served:
        yield SandboxServer(served.url, app)


def settings_against(sandbox: SandboxServer, state_dir: Path, agents: dict[str, dict], *,
                     timeout: float, per_minute: int = 1_000_000) -> Settings:
    """ops-mcp configured as for real back ends: base URLs, tokens, a per-request timeout, and a pacing budget
    (``per_minute``) out of the way, as the sandbox's own rate limits are."""
    backends = {
        "remote": {"connections": {"acme": {
            "base_url": f"{sandbox.base}/remote", "token": REMOTE_CREDENTIALS["acme"], "label": "Acme GmbH",
            "timeout": timeout, "per_minute": per_minute}}},
        "remoteops": {"connections": {"northwind": {
            "base_url": f"{sandbox.base}/remoteops/v1", "token": REMOTEOPS_CREDENTIALS["northwind"],
            "label": "Northwind Elevators", "timeout": timeout, "per_minute": per_minute}}},
    }
    return Settings(storage={"dir": str(state_dir)}, backends=backends, agents=agents)
