"""Redis is disposable (T1.8): FLUSHDB of the queue's database under load drops every queued job, and
the reconciler puts the runs the database still has queued back on the queue; all succeed, once each."""

from __future__ import annotations

import redis
import sqlalchemy as sa

from runtime.store import RunStatus, get_engine
from tests.chaos.conftest import Chaos
from tests.chaos.ledger import problems
from tests.runtime.executor.conftest import REDIS_URL
from tests.runtime.executor.test_rq import wait_until_finished

RECONCILE_WITHIN_S = 60


def queued_runs() -> int:
    with get_engine().connect() as connection:
        return int(connection.execute(sa.text("SELECT count(*) FROM run WHERE status = 'queued'")).scalar_one())


def test_redis_flushed_under_load_loses_no_run(chaos: Chaos) -> None:
    chaos.server.delay = lambda tag, node_id, before: 0.2
    chaos.start_worker(), chaos.start_worker()
    run_ids = chaos.start_runs(30)  # 8 run at once: the rest wait in the Redis queue
    assert chaos.server.wait_for(lambda calls: len(calls) >= 10, 60), "the workers made no calls"
    client = redis.Redis.from_url(REDIS_URL)
    waiting = queued_runs()
    client.flushdb()  # only the queue tests' own database
    client.close()
    statuses = wait_until_finished(run_ids, timeout_s=RECONCILE_WITHIN_S + 30)

    assert waiting > 0, "no run was waiting in the queue when it was flushed"
    assert set(statuses.values()) == {RunStatus.SUCCEEDED}
    found = problems(chaos.server, chaos.runs, [])
    assert not found, "\n".join(found)
