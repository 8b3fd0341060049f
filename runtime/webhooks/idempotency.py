"""Retries are safe: the first delivery with an `Idempotency-Key` (or Standard Webhooks `webhook-id`)
within 10 minutes starts the run, every later one with that key gets that run's answer.

Two guards: Redis `SET NX EX 600` (when configured) lets exactly one of many concurrent deliveries
through cheaply, and the unique (webhook, key) row holds the line without Redis and across processes.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Mapping
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, delete, select

from runtime.redis_client import shared_redis
from runtime.store import session_scope, utcnow
from runtime.store.webhooks import KEY_MAX_LENGTH, WebhookDelivery
from runtime.webhooks.blocking import in_thread
from runtime.webhooks.errors import HookError

WINDOW_S = 600
FIRST_RUN_WAIT_S = 10.0
POLL_S = 0.05
PRUNE_EVERY_S = 60.0
_next_prune = 0.0


def delivery_key(headers: Mapping[str, str]) -> str | None:
    """The delivery's idempotency key: `Idempotency-Key`, else `webhook-id`; None when it has neither."""
    key = headers.get("idempotency-key") or headers.get("webhook-id")
    if key is not None and len(key) > KEY_MAX_LENGTH:
        raise HookError(400, "invalid_idempotency_key", f"An idempotency key has at most {KEY_MAX_LENGTH} characters.")
    return key


def body_digest(raw: bytes) -> str:
    """The SHA-256 of a body: a key reused with a different body is refused (422)."""
    return hashlib.sha256(raw).hexdigest()


def _gate_key(webhook_id: str, key: str) -> str:
    return f"trellis:hook:{webhook_id}:delivery:{hashlib.sha256(key.encode()).hexdigest()}"


def claim_delivery(engine: sa.Engine, redis_url: str | None, webhook_id: str, key: str, body_hash: str) -> str | None:
    """Store this delivery as the first with `key`; its id, or None when another delivery has the key."""
    gate = _gate_key(webhook_id, key)
    if redis_url and not shared_redis(redis_url).set(gate, body_hash, nx=True, ex=WINDOW_S):
        return None
    try:
        return _insert_delivery(engine, webhook_id, key, body_hash)
    except BaseException:
        # The database failed us: open the gate again, or every retry would wait for a run that never comes.
        if redis_url:
            shared_redis(redis_url).delete(gate)
        raise


def _insert_delivery(engine: sa.Engine, webhook_id: str, key: str, body_hash: str) -> str | None:
    """The new delivery row's id; None when a delivery with this key, younger than the window, exists."""
    _prune_now_and_then(engine)
    for _attempt in range(2):
        try:
            with session_scope(engine) as session:
                delivery = WebhookDelivery(webhook_id=webhook_id, key=key, body_hash=body_hash)
                session.add(delivery)
            return delivery.id
        except IntegrityError:
            if not _drop_expired(engine, webhook_id, key):
                return None
    return None


def record_run(engine: sa.Engine, delivery_id: str, run_id: str) -> None:
    """Note the run the first delivery started: later deliveries answer with it."""
    with session_scope(engine) as session:
        session.execute(sa.update(WebhookDelivery).where(WebhookDelivery.id == delivery_id).values(run_id=run_id))


def release_delivery(engine: sa.Engine, redis_url: str | None, webhook_id: str, key: str, delivery_id: str) -> None:
    """Forget a delivery whose run could not be started, so a retry may start it."""
    with session_scope(engine) as session:
        session.execute(delete(WebhookDelivery).where(WebhookDelivery.id == delivery_id))
    if redis_url:
        shared_redis(redis_url).delete(_gate_key(webhook_id, key))


def _find(engine: sa.Engine, webhook_id: str, key: str) -> WebhookDelivery | None:
    cutoff = utcnow() - timedelta(seconds=WINDOW_S)
    query = select(WebhookDelivery).where(
        WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.key == key, WebhookDelivery.created_at >= cutoff
    )
    with Session(engine) as session:
        return session.exec(query).first()


async def first_run_id(
    engine: sa.Engine, webhook_id: str, key: str, body_hash: str, wait_s: float = FIRST_RUN_WAIT_S
) -> str:
    """The run of the first delivery with `key`, once it is stored: 422 if that delivery had another
    body, 409 (retry in 1 s) if it is still starting its run after `wait_s`."""
    deadline = time.monotonic() + wait_s
    while True:
        delivery = await in_thread(_find, engine, webhook_id, key)
        if delivery is not None and delivery.body_hash != body_hash:
            message = "This idempotency key was used with a different body within the last 10 minutes."
            raise HookError(422, "idempotency_key_reused", message)
        if delivery is not None and delivery.run_id is not None:
            return delivery.run_id
        if time.monotonic() >= deadline:
            message = "A delivery with this idempotency key is still being accepted; retry shortly."
            raise HookError(409, "in_flight", message, retry_after=1)
        await asyncio.sleep(POLL_S)


def _drop_expired(engine: sa.Engine, webhook_id: str, key: str) -> bool:
    """Delete the key's delivery if it is older than the window; whether one was deleted."""
    cutoff = utcnow() - timedelta(seconds=WINDOW_S)
    with session_scope(engine) as session:
        expired = delete(WebhookDelivery).where(
            WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.key == key, WebhookDelivery.created_at < cutoff
        )
        return bool(session.execute(expired).rowcount)


def _prune_now_and_then(engine: sa.Engine) -> None:
    """Delete deliveries older than the window, at most once a minute per process."""
    global _next_prune
    now = time.monotonic()
    if now < _next_prune:
        return
    _next_prune = now + PRUNE_EVERY_S
    cutoff = utcnow() - timedelta(seconds=WINDOW_S)
    with session_scope(engine) as session:
        session.execute(delete(WebhookDelivery).where(WebhookDelivery.created_at < cutoff))
