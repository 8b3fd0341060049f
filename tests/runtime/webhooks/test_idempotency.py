"""Idempotent deliveries on SQLite and PostgreSQL, with and without the Redis gate."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from runtime.store import (
    Run,
    RunTrigger,
    Webhook,
    WebhookDelivery,
    create_workflow,
    ensure_local_workspace,
    latest_version,
    make_engine,
    utcnow,
)
from runtime.webhooks import idempotency
from runtime.webhooks.errors import HookError
from tests.runtime.store.conftest import make_document


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def hook_and_run(engine: sa.Engine) -> tuple[str, str]:
    """A workflow with a webhook node, and one stored run of it: (webhook id, run id)."""
    with Session(engine, expire_on_commit=False) as session:
        workspace_id = ensure_local_workspace(session).id
        nodes = [{"id": "hook", "type": "webhook_trigger", "type_version": 1, "params": {}}]
        workflow = create_workflow(session, workspace_id, make_document(nodes=nodes))
        version = latest_version(session, workspace_id, workflow.id)
        run = Run(workspace_id=workspace_id, workflow_id=workflow.id, workflow_version_id=version.id,
                  trigger=RunTrigger.WEBHOOK)  # fmt: skip
        session.add(run)
        session.commit()
        webhook_id = session.exec(select(Webhook.id)).one()
    return webhook_id, run.id


def test_the_first_delivery_claims_the_key_and_later_ones_get_its_run(
    engine: sa.Engine, hook_and_run: tuple[str, str]
) -> None:
    webhook_id, run_id = hook_and_run
    digest = idempotency.body_digest(b"{}")

    first = idempotency.claim_delivery(engine, None, webhook_id, "key-1", digest)
    assert first is not None
    assert idempotency.claim_delivery(engine, None, webhook_id, "key-1", digest) is None
    assert idempotency.claim_delivery(engine, None, webhook_id, "key-2", digest) is not None

    # Still starting its run: a retry is told to come back (409), a different body is refused (422).
    with pytest.raises(HookError) as in_flight:
        asyncio.run(idempotency.first_run_id(engine, webhook_id, "key-1", digest, wait_s=0.2))
    assert (in_flight.value.status, in_flight.value.retry_after) == (409, 1)
    idempotency.record_run(engine, first, run_id)
    assert asyncio.run(idempotency.first_run_id(engine, webhook_id, "key-1", digest)) == run_id
    with pytest.raises(HookError) as reused:
        asyncio.run(idempotency.first_run_id(engine, webhook_id, "key-1", idempotency.body_digest(b"[]")))
    assert (reused.value.status, reused.value.code) == (422, "idempotency_key_reused")


def test_a_released_or_expired_key_can_be_claimed_again(engine: sa.Engine, hook_and_run: tuple[str, str]) -> None:
    webhook_id, _ = hook_and_run
    first = idempotency.claim_delivery(engine, None, webhook_id, "key", "d")
    assert first is not None
    idempotency.release_delivery(engine, None, webhook_id, "key", first)
    second = idempotency.claim_delivery(engine, None, webhook_id, "key", "d")
    assert second is not None

    eleven_minutes_ago = utcnow() - timedelta(minutes=11)
    with engine.begin() as connection:
        connection.execute(sa.update(WebhookDelivery).values(created_at=eleven_minutes_ago))
    assert idempotency.claim_delivery(engine, None, webhook_id, "key", "d") not in (None, second)


def test_the_redis_gate_lets_one_of_many_through(
    engine: sa.Engine, hook_and_run: tuple[str, str], redis_url: str
) -> None:
    webhook_id, _ = hook_and_run
    key = f"key-{uuid.uuid4().hex}"
    claims = [idempotency.claim_delivery(engine, redis_url, webhook_id, key, "d") for _ in range(5)]
    assert len([claim for claim in claims if claim is not None]) == 1
    idempotency.release_delivery(engine, redis_url, webhook_id, key, next(c for c in claims if c))
    assert idempotency.claim_delivery(engine, redis_url, webhook_id, key, "d") is not None


def test_the_key_comes_from_idempotency_key_or_webhook_id() -> None:
    assert idempotency.delivery_key({"idempotency-key": "a", "webhook-id": "b"}) == "a"
    assert idempotency.delivery_key({"webhook-id": "b"}) == "b"
    assert idempotency.delivery_key({}) is None
    with pytest.raises(HookError) as caught:
        idempotency.delivery_key({"idempotency-key": "x" * 256})
    assert caught.value.status == 400
