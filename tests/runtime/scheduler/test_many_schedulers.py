"""Three `trellis scheduler` processes on one PostgreSQL database: every tick starts exactly one run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from runtime.store import Run, Schedule, ensure_database, ensure_local_workspace, make_engine, session_scope
from runtime.workflows import import_workflow
from tests.runtime.executor.test_in_process import document

TRELLIS = str(Path(sys.executable).with_name("trellis"))
SCHEDULERS = 3
WATCH_S = 6


def every_second(name: str) -> dict[str, object]:
    raw = document([
        {"id": "tick", "type": "schedule_trigger", "params": {"cron": "* * * * * *"}},
        {"id": "result", "type": "output", "params": {"value": "{{ nodes.tick.output.scheduled_for }}"}},
    ])  # fmt: skip
    return {**raw, "name": name}


def test_concurrent_schedulers_start_each_tick_exactly_once(make_pg_database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # Given two workflows that fire every second, on a fresh PostgreSQL database
    database_url = make_pg_database()
    ensure_database(database_url)
    engine = make_engine(database_url)
    with session_scope(engine) as session:
        workspace_id = ensure_local_workspace(session).id
        workflow_ids = [import_workflow(session, workspace_id, every_second(f"wf{n}")).id for n in range(2)]
    env = {**os.environ, "TRELLIS_DATABASE_URL": database_url, "TRELLIS_DATA_DIR": str(tmp_path / "data")}
    env.pop("TRELLIS_REDIS_URL", None)

    # When three schedulers poll it at once for a few seconds
    logs = [tmp_path / f"scheduler{n}.log" for n in range(SCHEDULERS)]
    processes = [
        subprocess.Popen([TRELLIS, "scheduler", "--interval", "0.2"], env=env, stdout=log.open("w"),
                         stderr=subprocess.STDOUT, start_new_session=True)
        for log in logs
    ]  # fmt: skip
    try:
        wait_until_started(logs)
        time.sleep(WATCH_S)
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        exit_codes = [process.wait(timeout=30) for process in processes]
    assert exit_codes == [0] * SCHEDULERS, "\n".join(log.read_text() for log in logs)

    # Then every tick from the first to the last has one run, none has two, and none was skipped
    with Session(engine) as session:
        for workflow_id in workflow_ids:
            runs = session.exec(select(Run).where(Run.workflow_id == workflow_id)).all()
            fired = Counter(datetime.fromisoformat(run.input["body"]["scheduled_for"]) for run in runs)
            assert [tick for tick, count in fired.items() if count > 1] == []
            first, last = min(fired), max(fired)
            expected = int((last - first).total_seconds()) + 1
            assert sorted(fired) == [first + timedelta(seconds=n) for n in range(expected)]
            assert len(fired) >= WATCH_S - 4
            schedule = session.exec(select(Schedule).where(Schedule.workflow_id == workflow_id)).one()
            assert schedule.next_fire_at == last + timedelta(seconds=1)
    engine.dispose()


def wait_until_started(logs: list[Path]) -> None:
    """Block until every scheduler says it is polling (importing the engine takes a few seconds)."""
    deadline = time.monotonic() + 60
    while not all("scheduler started" in log.read_text() for log in logs):
        if time.monotonic() > deadline:
            pytest.fail("the schedulers did not start:\n" + "\n".join(log.read_text() for log in logs))
        time.sleep(0.1)
