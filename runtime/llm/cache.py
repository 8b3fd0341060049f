"""Optional Redis cache of model answers, keyed by a SHA-256 of the whole request."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from redis.exceptions import RedisError

from runtime.llm.chat_types import ChatRequest, Completion

log = logging.getLogger(__name__)

KEY_PREFIX = "trellis:llm:cache:"


def cache_key(base_url: str, api_key: str, request: ChatRequest) -> str:
    """The Redis key of this request's answer: server, model, messages and every sampling option."""
    material = {
        "base_url": base_url,
        # Answers are not shared across API keys; only a hash of the key enters the material.
        "api_key_sha256": hashlib.sha256(api_key.encode()).hexdigest(),
        "model": request.model,
        "messages": request.messages,
        "temperature": request.temperature,
        "max_tokens": request.max_tokens,
        "json_mode": request.json_mode,
        "tools": request.tools,
    }
    text = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return KEY_PREFIX + hashlib.sha256(text.encode()).hexdigest()


def worth_keeping(request: ChatRequest, completion: Completion) -> bool:
    """Whether to cache an answer: not one cut off (max_tokens), nor invalid JSON in JSON mode."""
    if completion.finish_reason == "length":
        return False
    if not request.json_mode:
        return True
    try:
        json.loads(completion.text)
    except json.JSONDecodeError:
        return False
    return True


async def read(redis: Any, key: str) -> Completion | None:
    """The cached answer, or None when there is none or Redis cannot be read (a cache is optional)."""
    try:
        raw = await redis.get(key)
    except RedisError as error:
        log.warning("LLM cache read failed, calling the model instead: %s", error)
        return None
    return Completion.from_json(raw) if raw else None


async def write(redis: Any, key: str, completion: Completion, ttl_s: int) -> None:
    """Keep `completion` for `ttl_s` seconds; a Redis failure only loses the cache entry."""
    try:
        await redis.set(key, completion.to_json(), ex=ttl_s)
    except RedisError as error:
        log.warning("LLM cache write failed: %s", error)
