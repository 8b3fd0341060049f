"""A worker whose database hangs for 20 s (every byte held by a proxy, as when PostgreSQL is
SIGSTOPped) loses nothing: its runs move to the other worker once their leases expire, it writes
nothing stale when the database comes back, and it takes runs again afterwards."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import redis
import sqlalchemy as sa
from rq.job import Job

from runtime.store import RunStatus
from tests.chaos.conftest import Chaos
from tests.chaos.ledger import problems
from tests.ops.conftest import through
from tests.ops.tcp_proxy import TcpProxy
from tests.runtime.executor.conftest import REDIS_URL
from tests.runtime.executor.test_rq import wait_until_finished

OUTAGE_S = 20


def test_a_worker_whose_database_hangs_loses_no_run_and_works_again_after(chaos: Chaos) -> None:
    database_url = chaos.env["TRELLIS_DATABASE_URL"]
    proxy = TcpProxy(sa.make_url(database_url).port or 5432)
    chaos.server.delay = lambda tag, node_id, before: 0.3
    try:
        cut_off = chaos.start_worker(TRELLIS_DATABASE_URL=through(proxy, database_url))
        chaos.start_worker()
        chaos.start_runs(16)
        assert chaos.server.wait_for(lambda calls: len(calls) >= 10, 60), "the workers made no calls"
        proxy.blackhole()
        outage = datetime.now(UTC)
        chaos.start_runs(8)
        time.sleep(OUTAGE_S)
        proxy.heal()
        during = wait_until_finished(list(chaos.runs.values()), timeout_s=60)
        after = chaos.start_runs(8)
        wait_until_finished(after, timeout_s=60)
    finally:
        proxy.heal()
        proxy.cut()
    connection = redis.Redis.from_url(REDIS_URL)
    taken_after = {Job.fetch(run_id, connection=connection).worker_name for run_id in after}
    connection.close()

    assert set(during.values()) == {RunStatus.SUCCEEDED}
    # The outage interrupts the cut-off worker's nodes as a kill would: at most one more call each
    assert problems(chaos.server, chaos.runs, kills=[outage]) == []
    assert chaos.workers[cut_off].poll() is None, f"the worker died in the outage:\n{chaos.worker_log(cut_off)}"
    assert cut_off in taken_after, f"the worker took no run after the outage: {taken_after}"
