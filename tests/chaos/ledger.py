"""What the counting server saw, checked against what the database says ran: no node that finished
was called again, an interrupted node at most once more per interruption (a kill, an outage), one
idempotency key per node, one succeeded node run per node."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from runtime.store import get_engine
from tests.chaos.counting_server import Call, CountingServer
from tests.chaos.workflow import CHAIN


@dataclass(frozen=True)
class NodeRunRow:
    """One stored node run, as the checks need it."""

    status: str
    attempt: int
    finished_at: datetime | None
    error: dict[str, Any] | None

    def __str__(self) -> str:
        ended = f"{self.finished_at:%H:%M:%S.%f}" if self.finished_at else "open"
        reason = f" ({self.error.get('message')})" if self.error else ""
        return f"{self.status} attempt {self.attempt} ended {ended}{reason}"


def node_runs(run_ids: list[str]) -> dict[tuple[str, str], list[NodeRunRow]]:
    """Every stored node run of these runs, by (run id, node id), oldest first."""
    query = sa.text(
        "SELECT run_id, node_id, status, attempt, finished_at, error FROM node_run WHERE run_id IN :ids "
        "ORDER BY started_at"
    ).bindparams(sa.bindparam("ids", expanding=True))
    rows: dict[tuple[str, str], list[NodeRunRow]] = defaultdict(list)
    with get_engine().connect() as connection:
        for run_id, node_id, status, attempt, finished_at, error in connection.execute(query, {"ids": run_ids}):
            rows[(run_id, node_id)].append(NodeRunRow(str(status), attempt, finished_at, error))
    return rows


def succeeded_node_runs(run_ids: list[str]) -> dict[tuple[str, str], list[datetime]]:
    """`finished_at` of every succeeded node run, by (run id, node id)."""
    return {key: [row.finished_at for row in rows if row.status == "succeeded" and row.finished_at]
            for key, rows in node_runs(run_ids).items()}  # fmt: skip


Window = tuple[datetime, datetime]
"""When a worker could lose its nodes in flight: (kill, kill) for a kill, (start, end) for an outage."""


def interruptions(calls: list[Call], finished_at: datetime | None, windows: list[Window]) -> int:
    """How many disruptions found this node called (before the window closed) but not yet finished."""
    if not calls:
        return 0
    return sum(1 for start, end in windows if calls[0].at < end and (finished_at is None or finished_at > start))


def problems(server: CountingServer, runs: dict[str, str], windows: list[Window]) -> list[str]:
    """Every way the calls break the rules (empty when none does), per run tag and node:

    - exactly one succeeded node run;
    - every call carried `Idempotency-Key: {run_id}:{node_id}`;
    - no call arrived after the node's run had finished (a finished node re-executed);
    - at most 1 + (disruptions that found it in flight) calls: once, plus a retry per interruption.
    """
    stored = node_runs(list(runs.values()))
    found = []
    for tag, run_id in runs.items():
        for node_id in CHAIN:
            where = f"run {tag} ({run_id}) node {node_id}"
            calls, rows = server.calls_to(tag, node_id), stored.get((run_id, node_id), [])
            found += [f"{where}: {problem}" for problem in node_problems(f"{run_id}:{node_id}", calls, rows, windows)]
    return found


def node_problems(key: str, calls: list[Call], rows: list[NodeRunRow], windows: list[Window]) -> list[str]:
    """The rules `problems` checks, for one node of one run (`key` is its expected idempotency key)."""
    found = []
    ends = [row.finished_at for row in rows if row.status == "succeeded" and row.finished_at]
    stored = "; ".join(map(str, rows))
    if len(ends) != 1:
        found.append(f"{len(ends)} succeeded node runs; stored: {stored}")
    if {call.key for call in calls} != {key}:
        found.append(f"idempotency keys {sorted({str(call.key) for call in calls})}")
    end = min(ends) if ends else None
    if end is not None and any(call.at > end for call in calls):
        kill = min((start for start, _ in windows if start > end), default=None)
        before = f", {(kill - end).total_seconds() * 1000:.0f} ms before a disruption" if kill else ""
        times = ", ".join(f"{call.at:%H:%M:%S.%f}" for call in calls)
        found.append(f"called again after it finished at {end:%H:%M:%S.%f}{before}; calls {times}; stored: {stored}")
    allowed = 1 + interruptions(calls, end, windows)
    if len(calls) > allowed:
        times = ", ".join(f"{call.at:%H:%M:%S.%f}" for call in calls)
        found.append(f"{len(calls)} calls ({times}), at most {allowed} allowed; stored: {stored}")
    return found
