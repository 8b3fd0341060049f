"""The rows a run writes (its claim, node runs, final status), as writes the `RunWriter` applies in batches.

`apply_writes` turns one batch, the writes of every run in flight, into a few statements: one UPDATE
claiming every run, one multi-row INSERT of node runs (a node run started and finished within the
batch is inserted finished), one executemany UPDATE finishing node runs and one finishing runs.
Compiled once, these statements cost a fraction of one ORM session per write.

Fencing: every write of a claimed run carries the lease epoch its executor holds. The batch first
reads the epochs of its runs (`SELECT ... FOR SHARE` on PostgreSQL, so a concurrent claim waits for
this commit) and drops the writes of runs whose epoch moved on: another executor owns them now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from runtime.config import get_settings
from runtime.executor.checkpointer import prune_checkpoints
from runtime.store import NodeRun, NodeRunStatus, Run, RunStatus, limit_transaction, utcnow

RUNS: sa.Table = Run.__table__  # type: ignore[attr-defined]
NODE_RUNS: sa.Table = NodeRun.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ClaimedRun:
    """A run this executor marked `running`: what executing it needs."""

    id: str
    workspace_id: str
    workflow_id: str
    workflow_version_id: str
    trigger: str
    input: Any
    lease_epoch: int
    attempts: int
    """1 on the first claim; more when the run is resumed after its executor died or let it go."""
    replay_of: str | None = None
    replay: dict[str, Any] | None = None
    """For a replay: `{"from_node", "input"}`."""


@dataclass(frozen=True)
class Claim:
    """Take a run: a queued one, or a running one whose lease expired, becomes running under a new
    lease (epoch + 1, this owner, expiring in `lease_s`). The result is the `ClaimedRun`, or None if
    the run is not claimable (held by another executor, ended, out of attempts, deleted). A
    compare-and-set UPDATE: one claimer wins."""

    run_id: str
    owner: str
    lease_s: float
    max_attempts: int


@dataclass(frozen=True)
class NodeRunStarted:
    row: dict[str, Any]
    epoch: int


@dataclass(frozen=True)
class NodeRunEnded:
    node_run_id: str
    workspace_id: str
    values: dict[str, Any]
    """`status`, `finished_at`, `output`, `error`."""
    run_id: str
    epoch: int


@dataclass(frozen=True)
class RunEnded:
    """Store the run's final status, output and error; the result says whether it was stored (fenced)."""

    run_id: str
    values: dict[str, Any]
    epoch: int


@dataclass(frozen=True)
class Resumed:
    """Close the node runs a resumed run's previous executor left open: those of the nodes in `restored`
    (by node id: `status`, `finished_at`, `output`, `error`, `handles`) as given, every other one failed."""

    run_id: str
    restored: dict[str, dict[str, Any]]
    epoch: int


@dataclass(frozen=True)
class Released:
    """Hand a run back: queued again under a new epoch, its lease ended now (a stopping executor)."""

    run_id: str
    epoch: int


RunWrite = Claim | NodeRunStarted | NodeRunEnded | RunEnded | Released | Resumed
Fenced = NodeRunStarted | NodeRunEnded | RunEnded | Released | Resumed

_CLAIM_COLUMNS = (RUNS.c.id, RUNS.c.workspace_id, RUNS.c.workflow_id, RUNS.c.workflow_version_id, RUNS.c.trigger,
                  RUNS.c.input, RUNS.c.lease_epoch, RUNS.c.attempts, RUNS.c.replay_of, RUNS.c.replay)  # fmt: skip
WORKER_LOST = "The executor running this node stopped before it finished; the run resumed elsewhere."
_ABANDON_NODE_RUNS = (
    sa.update(NODE_RUNS)
    .where(NODE_RUNS.c.status == NodeRunStatus.RUNNING)
    .values(status=NodeRunStatus.FAILED, error={"message": WORKER_LOST, "retryable": True})
)
_SETTLE_RESTORED = (
    sa.update(NODE_RUNS)
    .where(NODE_RUNS.c.run_id == sa.bindparam("b_run_id"), NODE_RUNS.c.node_id == sa.bindparam("b_node_id"),
           NODE_RUNS.c.status == NodeRunStatus.RUNNING)
    .values(status=sa.bindparam("status"), finished_at=sa.bindparam("finished_at"), output=sa.bindparam("output"),
            error=sa.bindparam("error"), handles=sa.bindparam("handles"))
)  # fmt: skip
_RELEASE = (
    sa.update(RUNS)
    .where(RUNS.c.id == sa.bindparam("b_id"))
    .values(status=RunStatus.QUEUED, lease_owner=None, lease_epoch=RUNS.c.lease_epoch + 1,
            lease_expires_at=sa.bindparam("now"))
)  # fmt: skip
_END_NODE_RUN = (
    sa.update(NODE_RUNS)
    .where(NODE_RUNS.c.id == sa.bindparam("b_id"), NODE_RUNS.c.workspace_id == sa.bindparam("b_workspace_id"))
    .values(
        status=sa.bindparam("status"),
        finished_at=sa.bindparam("finished_at"),
        output=sa.bindparam("output"),
        error=sa.bindparam("error"),
        handles=sa.bindparam("handles"),
    )  # fmt: skip
)
_END_RUN = (
    sa.update(RUNS)
    .where(RUNS.c.id == sa.bindparam("b_id"))
    .values(
        status=sa.bindparam("status"),
        finished_at=sa.bindparam("finished_at"),
        output=sa.bindparam("output"),
        error=sa.bindparam("error"),
    )  # fmt: skip
)


def apply_writes(connection: sa.Connection, writes: list[RunWrite]) -> list[Any]:
    """Apply a batch of writes in one transaction; returns each write's result (claims: `ClaimedRun | None`;
    run ends, releases and resumes: whether they were stored; others None).

    Order within a batch does not matter to readers (it commits as a whole); across batches the
    writer keeps queue order, so a node run is inserted no later than it is finished.
    """
    limit_transaction(connection, get_settings().lease_s)
    claims = [write for write in writes if isinstance(write, Claim)]
    claimed = _claim(connection, claims) if claims else {}
    held = _held(connection, writes)
    resumed = [write for write in writes if isinstance(write, Resumed) and write.epoch == held.get(write.run_id)]
    if resumed:  # before this batch's inserts: the open node runs it closes are the previous executor's
        _settle_abandoned(connection, resumed)
    started: dict[str, dict[str, Any]] = {}
    ended: list[dict[str, Any]] = []
    for write in writes:
        if isinstance(write, NodeRunStarted) and write.epoch == held.get(write.row["run_id"]):
            started[write.row["id"]] = dict(write.row)
        elif isinstance(write, NodeRunEnded) and write.epoch == held.get(write.run_id):
            if write.node_run_id in started:  # started in this batch too: insert it finished
                started[write.node_run_id].update(write.values)
            else:
                ended.append({"b_id": write.node_run_id, "b_workspace_id": write.workspace_id, **write.values})
    if started:
        connection.execute(sa.insert(NODE_RUNS), list(started.values()))
    if ended:
        connection.execute(_END_NODE_RUN, ended)
    runs_ended = [write for write in writes if isinstance(write, RunEnded) and write.epoch == held.get(write.run_id)]
    if runs_ended:
        connection.execute(_END_RUN, [{"b_id": write.run_id, **write.values} for write in runs_ended])
        prune_checkpoints(connection, [write.run_id for write in runs_ended])
    released = [write for write in writes if isinstance(write, Released) and write.epoch == held.get(write.run_id)]
    if released:
        connection.execute(_RELEASE, [{"b_id": write.run_id, "now": utcnow()} for write in released])
    stored = {id(write) for write in (*runs_ended, *released, *resumed)}
    # A run claimed twice in one batch (its job taken twice) goes to the first claim only.
    return [
        claimed.pop(write.run_id, None) if isinstance(write, Claim)
        else id(write) in stored if isinstance(write, RunEnded | Released | Resumed) else None
        for write in writes
    ]  # fmt: skip


def _settle_abandoned(connection: sa.Connection, resumed: list[Resumed]) -> None:
    restored = [{"b_run_id": write.run_id, "b_node_id": node_id, **values}
                for write in resumed for node_id, values in write.restored.items()]  # fmt: skip
    if restored:
        connection.execute(_SETTLE_RESTORED, restored)
    run_ids = [write.run_id for write in resumed]  # the rest will never finish: those nodes run again
    connection.execute(_ABANDON_NODE_RUNS.where(NODE_RUNS.c.run_id.in_(run_ids)).values(finished_at=utcnow()))


def _held(connection: sa.Connection, writes: list[RunWrite]) -> dict[str, int]:
    """The current lease epoch of every run these writes touch, locked against claims until commit."""
    run_ids = {write.row["run_id"] if isinstance(write, NodeRunStarted) else write.run_id
               for write in writes if not isinstance(write, Claim)}  # fmt: skip
    if not run_ids:
        return {}
    query = sa.select(RUNS.c.id, RUNS.c.lease_epoch).where(RUNS.c.id.in_(run_ids)).with_for_update(read=True)
    return {row[0]: row[1] for row in connection.execute(query)}


def _claim(connection: sa.Connection, claims: list[Claim]) -> dict[str, ClaimedRun]:
    claimed: dict[str, ClaimedRun] = {}
    for (owner, lease_s, max_attempts), run_ids in _grouped(claims).items():
        now = utcnow()
        claimable = sa.or_(
            RUNS.c.status == RunStatus.QUEUED,
            sa.and_(RUNS.c.status == RunStatus.RUNNING,
                    sa.or_(RUNS.c.lease_expires_at.is_(None), RUNS.c.lease_expires_at < now)),
        )  # fmt: skip
        rows = connection.execute(
            sa.update(RUNS)
            .where(RUNS.c.id.in_(run_ids), claimable, RUNS.c.attempts < max_attempts)
            .values(
                status=RunStatus.RUNNING,
                started_at=sa.func.coalesce(RUNS.c.started_at, now),
                lease_owner=owner,
                lease_epoch=RUNS.c.lease_epoch + 1,
                lease_expires_at=now + timedelta(seconds=lease_s),
                attempts=RUNS.c.attempts + 1,
            )  # fmt: skip
            .returning(*_CLAIM_COLUMNS)
        )
        claimed.update({row[0]: ClaimedRun(*row) for row in rows})
    return claimed


def _grouped(claims: list[Claim]) -> dict[tuple[str, float, int], list[str]]:
    groups: dict[tuple[str, float, int], list[str]] = {}
    for claim in claims:
        groups.setdefault((claim.owner, claim.lease_s, claim.max_attempts), []).append(claim.run_id)
    return groups


def run_ended(run_id: str, epoch: int, status: RunStatus, output: Any, error: dict[str, Any] | None) -> RunEnded:
    """The write storing a run's final status, output and error, if the run is still held under `epoch`."""
    return RunEnded(run_id, {"status": status, "output": output, "error": error, "finished_at": utcnow()}, epoch)


def run_waiting(run_id: str, epoch: int) -> RunEnded:
    """The write pausing a run at its approvals (`waiting`, no output, no error, not finished), if the run
    is still held under `epoch`."""
    return RunEnded(run_id, {"status": RunStatus.WAITING, "output": None, "error": None, "finished_at": None}, epoch)
