"""An executor cut off from PostgreSQL in the middle of a pipelined write keeps its session "active" and
its run's row locked for as long as TCP lasts (the server's idle and statement timeouts do not end it):
the reaper ends that lost process's sessions and takes the run over."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import psycopg
import pytest
import sqlalchemy as sa

from runtime.config import get_settings
from runtime.executor.lost_sessions import end_lost_sessions, lost_process_tags
from runtime.executor.reaper import reap_expired
from runtime.executor.recorder import Claim
from runtime.store import RunStatus, session_label, utcnow
from tests.ops.tcp_proxy import TcpProxy
from tests.runtime.durable.test_lease import queued_run, row, write
from tests.runtime.durable.test_recovery import wait_for

LOST_TAG = "0badc0de"
"""The process tag of the executor the test plays: its lease owner name and its session label carry it."""


@pytest.fixture
def cut_off_holder(configured: str) -> Iterator[tuple[str, TcpProxy]]:
    """A run claimed by `lost-worker~0badc0de.0001` (its lease expired at once), whose session (through a
    proxy) holds the run row FOR SHARE and was cut off inside a pipelined batch; yields the run id and proxy."""
    run_id = queued_run(configured)
    write(Claim(run_id, f"lost-worker~{LOST_TAG}.0001", 0.001, 3))  # its lease expires at once
    url = sa.make_url(get_settings().resolved_database_url)
    proxy = TcpProxy(url.port or 5432)
    holder = psycopg.connect(
        host="127.0.0.1", port=proxy.port, user=url.username, dbname=url.database,
        application_name=session_label(LOST_TAG),
    )  # fmt: skip
    holder.execute("SELECT 1 FROM run WHERE id = %s FOR SHARE", [run_id]).fetchall()
    holder.execute("CREATE TEMP TABLE scratch (n int, padding text)")
    rows = [(n, "x" * 2000) for n in range(20_000)]  # more than the proxy lets through before it hangs
    batch = threading.Thread(target=_ignore_errors, args=(holder, rows), daemon=True)
    batch.start()
    time.sleep(0.05)
    proxy.blackhole()
    try:
        yield run_id, proxy
    finally:
        proxy.heal()
        proxy.cut()
        batch.join(timeout=5)


def _ignore_errors(holder: psycopg.Connection, rows: list[tuple[int, str]]) -> None:
    with contextlib.suppress(psycopg.Error):  # its session is ended under it: what the test wants
        holder.cursor().executemany("INSERT INTO scratch VALUES (%s, %s)", rows)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_run_locked_by_a_cut_off_executor_is_taken_over(
    cut_off_holder: tuple[str, TcpProxy], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id, _ = cut_off_holder
    monkeypatch.setenv("TRELLIS_LEASE_S", "1")
    get_settings.cache_clear()
    time.sleep(1.5)  # past the server's idle and statement timeouts (half a lease): they do not end it
    assert reap_expired(get_settings(), utcnow()) == []  # its lock hides the run

    assert end_lost_sessions(get_settings(), utcnow()) >= 1
    wait_for(lambda: reap_expired(get_settings(), utcnow()) == [run_id])
    assert row(run_id).status in (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.SUCCEEDED)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_an_executor_with_a_live_lease_keeps_its_sessions(
    cut_off_holder: tuple[str, TcpProxy], configured: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id, _ = cut_off_holder
    monkeypatch.setenv("TRELLIS_LEASE_S", "1")
    get_settings.cache_clear()
    other = queued_run(configured)
    write(Claim(other, f"lost-worker~{LOST_TAG}.0002", 15, 3))  # the same process still heartbeats this one

    assert end_lost_sessions(get_settings(), utcnow() + timedelta(seconds=1)) == 0
    assert reap_expired(get_settings(), utcnow()) == []


def test_a_process_is_lost_only_when_all_its_leases_expired() -> None:
    now = utcnow()
    old, fresh = now - timedelta(seconds=10), now + timedelta(seconds=10)
    held = {"a~p1.01": old, "a~p1.02": fresh, "b~p2.01": old, "b~p2.02": old, "c~p3.01": fresh}

    assert lost_process_tags(held, now) == {"p2"}
