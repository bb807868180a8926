"""Fixtures for the upstream client tests (local, so the project-wide conftest stays the lead's).

Every sandbox here runs on its own ``VirtualTime``, and so does every client made for it: rate-limit
windows, token lifetimes, backoffs and 429 waits take no real time, and the same every run.
"""

from __future__ import annotations

import dataclasses
import random

import pytest

from .virtual_time import VirtualTime


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def catalogue():
    from ops_mcp.catalogue import load_catalogue

    try:
        return load_catalogue()
    except FileNotFoundError:
        pytest.skip("tool_manifests/*.json not built yet (run `ops-mcp manifest build`)")


@pytest.fixture(scope="session")
def remote(catalogue):
    return catalogue["remote"]


@pytest.fixture(scope="session")
def remoteops(catalogue):
    return catalogue["remoteops"]


# -- the embedded sandbox, in process -------------------------------------------------------------
REMOTE_BASE = "http://sandbox/remote"
REMOTEOPS_BASE = "http://sandbox/remoteops/v1"


class Sandbox:
    """The emulators a test needs, mounted as the combined sandbox app mounts them, over ASGITransport.

    ``time`` is the emulators' clock; ``make_client`` gives it to the client as clock and sleep.
    """

    def __init__(self, remote_settings=None, remoteops_settings=None) -> None:
        import httpx
        from starlette.applications import Starlette
        from starlette.routing import Mount

        self.time = VirtualTime()
        routes = []
        self.remote_app = self.remoteops_app = None
        if remote_settings is not None:
            from ops_mcp.sandbox.remote import create_remote_app

            self.remote_app = create_remote_app(dataclasses.replace(remote_settings, clock=self.time))
            routes.append(Mount("/remote", app=self.remote_app))
        if remoteops_settings is not None:
            from ops_mcp.sandbox.remoteops import create_remoteops_app

            self.remoteops_app = create_remoteops_app(dataclasses.replace(remoteops_settings, clock=self.time))
            routes.append(Mount("/remoteops/v1", app=self.remoteops_app))
        self.app = Starlette(routes=routes)
        self.transport = httpx.ASGITransport(self.app)

    @property
    def remote(self):
        return self.remote_app.state.sandbox

    @property
    def remoteops(self):
        return self.remoteops_app.state.sandbox


def remote_sandbox(remote_settings=None) -> Sandbox:
    try:
        from ops_mcp.sandbox.remote import RemoteSandboxSettings
    except ImportError as exc:
        pytest.skip(f"the Remote sandbox is not importable yet: {exc}")
    return Sandbox(remote_settings=remote_settings or RemoteSandboxSettings())


def remoteops_sandbox(remoteops_settings=None) -> Sandbox:
    try:
        from ops_mcp.sandbox.remoteops import RemoteOpsSandboxSettings
    except ImportError as exc:
        pytest.skip(f"the RemoteOps sandbox is not importable yet: {exc}")
    # RemoteOps allows 60 requests a minute; tests that are not about rate limits lift it (and
    # remoteops_connection's per_minute) so pacing does not dominate their run time.
    return Sandbox(remoteops_settings=remoteops_settings or RemoteOpsSandboxSettings(rate_limit=6000))


def make_client(sandbox: Sandbox, catalogue, **kwargs):
    """A client of ``sandbox`` on the sandbox's virtual time, with a seeded rng."""
    from ops_mcp.upstream import RetryPolicy, UpstreamClient

    kwargs.setdefault("retry", RetryPolicy(base_delay_s=0.01, max_delay_s=0.05))
    kwargs.setdefault("clock", sandbox.time.time)
    kwargs.setdefault("sleep", sandbox.time.sleep)
    kwargs.setdefault("rng", random.Random(1))
    profiles = {name: manifest.backend for name, manifest in catalogue.items()}
    return UpstreamClient(profiles, transport=sandbox.transport, catalogue=catalogue, **kwargs)


def remote_connection(name: str = "acme", **kwargs):
    from ops_mcp.sandbox.remote import SANDBOX_CREDENTIALS
    from ops_mcp.upstream import Connection

    kwargs.setdefault("token", SANDBOX_CREDENTIALS[name])
    kwargs.setdefault("label", "Acme GmbH")
    return Connection(name=name, backend="remote", base_url=REMOTE_BASE, **kwargs)


def remoteops_connection(name: str = "northwind", **kwargs):
    from ops_mcp.sandbox.remoteops import SANDBOX_CREDENTIALS
    from ops_mcp.upstream import Connection

    kwargs.setdefault("token", SANDBOX_CREDENTIALS[name])
    kwargs.setdefault("per_minute", 6000)
    return Connection(name=name, backend="remoteops", base_url=REMOTEOPS_BASE, **kwargs)
