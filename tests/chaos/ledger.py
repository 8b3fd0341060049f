"""What the counting server saw, checked against what the database says ran: no node that finished
was called again, an interrupted node at most once more per interruption, one key per node."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import sqlalchemy as sa

from runtime.store import get_engine
from tests.chaos.counting_server import Call, CountingServer
from tests.chaos.workflow import CHAIN


def succeeded_node_runs(run_ids: list[str]) -> dict[tuple[str, str], list[datetime]]:
    """`finished_at` of every succeeded node run, by (run id, node id)."""
    query = sa.text("SELECT run_id, node_id, finished_at FROM node_run WHERE status = 'succeeded' AND run_id IN :ids")
    finished: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    with get_engine().connect() as connection:
        for run_id, node_id, finished_at in connection.execute(query.bindparams(sa.bindparam("ids", expanding=True)),
                                                               {"ids": run_ids}):  # fmt: skip
            finished[(run_id, node_id)].append(finished_at)
    return finished


def interruptions(calls: list[Call], finished_at: datetime | None, kills: list[datetime]) -> int:
    """How many kills found this node called but not yet finished (it was in flight then)."""
    return sum(1 for kill in kills if calls and calls[0].at < kill and (finished_at is None or finished_at > kill))


def problems(server: CountingServer, runs: dict[str, str], kills: list[datetime]) -> list[str]:
    """Every way the calls break the rules (empty when none does), per run tag and node:

    - exactly one succeeded node run;
    - every call carried `Idempotency-Key: {run_id}:{node_id}`;
    - no call arrived after the node's run had finished (a finished node re-executed);
    - at most 1 + (kills that found it in flight) calls: once, plus a retry per interruption.
    """
    finished = succeeded_node_runs(list(runs.values()))
    found = []
    for tag, run_id in runs.items():
        for node_id in CHAIN:
            calls = server.calls_to(tag, node_id)
            ends = finished.get((run_id, node_id), [])
            where = f"run {tag} ({run_id}) node {node_id}"
            if len(ends) != 1:
                found.append(f"{where}: {len(ends)} succeeded node runs")
            keys = {call.key for call in calls}
            if keys != {f"{run_id}:{node_id}"}:
                found.append(f"{where}: idempotency keys {sorted(map(str, keys))}")
            end = min(ends) if ends else None
            if end is not None and any(call.at > end for call in calls):
                found.append(f"{where}: called again after it finished at {end:%H:%M:%S.%f}")
            allowed = 1 + interruptions(calls, end, kills)
            if len(calls) > allowed:
                found.append(f"{where}: {len(calls)} calls, at most {allowed} allowed")
    return found
