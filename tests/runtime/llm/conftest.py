"""Fixtures for the LLM client tests: the scripted OpenAI-protocol server and the test Redis."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import redis

from tests.openai_server import OpenAIServer

REDIS_URL_ENV = "TRELLIS_TEST_REDIS_URL"


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    """A fresh scripted OpenAI-protocol server on 127.0.0.1, stopped after the test."""
    with OpenAIServer() as server:
        yield server


@pytest.fixture
def redis_url() -> Iterator[str]:
    """URL of the test Redis database (db 15 by default); the LLM cache keys a test adds are deleted after it."""
    url = os.environ.get(REDIS_URL_ENV, "redis://127.0.0.1:6379/15")
    client = redis.Redis.from_url(url, socket_connect_timeout=5)
    try:
        before = set(client.scan_iter(match="trellis:llm:cache:*"))
    except redis.RedisError as error:
        pytest.fail(f"Redis is unreachable at {url} (set {REDIS_URL_ENV}): {error}", pytrace=False)
    yield url
    added = set(client.scan_iter(match="trellis:llm:cache:*")) - before
    if added:
        client.delete(*added)
    client.close()
