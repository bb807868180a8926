"""Fixtures for the sandbox tests (local so the project-wide conftest stays the lead's)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_SRC = Path(__file__).resolve().parents[2] / "src"
if str(_SRC) not in sys.path:  # the package may not be installed in the venv yet
    sys.path.insert(0, str(_SRC))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# -- RemoteOps fixtures ------------------------------------------------------------------------------
from collections.abc import AsyncIterator  # noqa: E402

import httpx  # noqa: E402
from helpers_remoteops import ro_client  # noqa: E402

from ops_mcp.sandbox.remoteops import RemoteOpsSandboxSettings, create_remoteops_app  # noqa: E402


@pytest.fixture
def ro_settings() -> RemoteOpsSandboxSettings:
    return RemoteOpsSandboxSettings(rate_limit=10_000, webhook_time_scale=0.0001)


@pytest.fixture
def ro_app(ro_settings: RemoteOpsSandboxSettings):  # type: ignore[no-untyped-def]
    return create_remoteops_app(ro_settings)


@pytest.fixture
async def nw(ro_app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    async with ro_client(ro_app) as client:
        yield client


@pytest.fixture
async def cc(ro_app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    async with ro_client(ro_app, "contoso") as client:
        yield client
