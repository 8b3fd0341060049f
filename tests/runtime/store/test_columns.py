"""Column conventions: prefixed ids, aware UTC datetimes, JSON that round-trips on both backends."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import sqlalchemy as sa
from sqlmodel import Session

from runtime.store import (
    NodeRun,
    NodeRunStatus,
    Run,
    RunStatus,
    RunTrigger,
    Workspace,
    create_workflow,
    latest_version,
    new_id,
)
from tests.runtime.store.conftest import make_document


def test_new_id_is_prefixed_url_safe_and_unique() -> None:
    ids = {new_id("wf") for _ in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(r"wf_[A-Za-z0-9]{20}", i) for i in ids)


def test_datetimes_come_back_timezone_aware_in_utc(session: Session) -> None:
    paris = timezone(timedelta(hours=2))
    workspace = Workspace(name="A", created_at=datetime(2026, 5, 1, 12, 0, tzinfo=paris))
    session.add(workspace)
    session.commit()
    session.expire_all()

    assert session.get(Workspace, workspace.id).created_at == datetime(2026, 5, 1, 10, 0, tzinfo=UTC)  # type: ignore[union-attr]
    assert session.get(Workspace, workspace.id).created_at.tzinfo == UTC  # type: ignore[union-attr]


def test_run_json_columns_round_trip_and_none_is_sql_null(session: Session, workspace: Workspace) -> None:
    workflow = create_workflow(session, workspace.id, make_document())
    version = latest_version(session, workspace.id, workflow.id)
    run = Run(
        workspace_id=workspace.id,
        workflow_id=workflow.id,
        workflow_version_id=version.id,
        trigger=RunTrigger.WEBHOOK,
        input={"body": {"url": "https://example.com", "n": [1, 2.5, None, True]}},
    )
    session.add(run)
    session.flush()
    node_run = NodeRun(workspace_id=workspace.id, run_id=run.id, node_id="start", output=["ü", {"k": 1}])
    session.add(node_run)
    session.commit()
    session.expire_all()

    stored = session.get(Run, run.id)
    assert stored is not None
    assert (stored.status, stored.trigger) == (RunStatus.QUEUED, RunTrigger.WEBHOOK)
    assert stored.input == {"body": {"url": "https://example.com", "n": [1, 2.5, None, True]}}
    assert (stored.output, stored.error, stored.started_at) == (None, None, None)
    stored_node = session.get(NodeRun, node_run.id)
    assert stored_node is not None
    assert (stored_node.status, stored_node.attempt, stored_node.output) == (
        NodeRunStatus.RUNNING,
        1,
        ["ü", {"k": 1}],
    )
    null_outputs = sa.text("SELECT count(*) FROM run WHERE output IS NULL AND error IS NULL")
    assert session.connection().execute(null_outputs).scalar_one() == 1
