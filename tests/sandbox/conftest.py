"""Fixtures for the sandbox tests (local so the project-wide conftest stays the lead's)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from ops_mcp.sandbox.remoteops import RemoteOpsSandboxSettings, create_remoteops_app

from .helpers_remoteops import ro_client


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# -- RemoteOps fixtures ------------------------------------------------------------------------------


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
