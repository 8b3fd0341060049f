"""Fixtures for the egress tests: the asyncio backend for anyio, and a loopback canary server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.runtime.egress.servers import HttpServer


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def canary() -> AsyncIterator[HttpServer]:
    async with HttpServer() as server:
        yield server
