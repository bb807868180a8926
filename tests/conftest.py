"""Shared test configuration: async tests run on asyncio via anyio's pytest plugin."""

import pytest


@pytest.fixture
def anyio_backend():
    return "asyncio"
