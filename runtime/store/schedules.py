"""Schedules: one row per `schedule_trigger` node of a workflow, kept in step with its latest version,
and one `schedule_tick` row per tick that started a run (unique, so a tick can never start two).

Like the other store functions these flush but never commit; the caller owns the transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlmodel import Field, Session, SQLModel, select

from runtime.cron import CronSchedule
from runtime.nodes.schedule_trigger import NODE as SCHEDULE_NODE
from runtime.store.columns import id_field, ref_field, utcnow

POLICY_MAX_LENGTH = 16


# The cron schedule of one schedule_trigger node; `next_fire_at` is its earliest unfired tick.
class Schedule(SQLModel, table=True):
    __tablename__ = "schedule"
    __table_args__ = (sa.UniqueConstraint("workflow_id", "node_id"),)

    id: str = id_field("sch")
    workspace_id: str = ref_field("workspace.id")
    workflow_id: str = ref_field("workflow.id")
    node_id: str = Field(max_length=200)
    cron: str = Field(max_length=200)
    timezone: str = Field(max_length=64)
    missed: str = Field(max_length=POLICY_MAX_LENGTH)
    next_fire_at: datetime = Field(index=True)
    enabled: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


# A tick of a schedule that started a run: (schedule, scheduled_for) is unique.
class ScheduleTick(SQLModel, table=True):
    __tablename__ = "schedule_tick"
    __table_args__ = (sa.UniqueConstraint("schedule_id", "scheduled_for"),)

    id: str = id_field("tick")
    schedule_id: str = ref_field("schedule.id")
    scheduled_for: datetime
    run_id: str = ref_field("run.id")
    created_at: datetime = Field(default_factory=utcnow)


def sync_schedules(session: Session, workspace_id: str, workflow_id: str, document: dict[str, Any]) -> None:
    """Make the workflow's schedules match the schedule_trigger nodes of `document` (its new latest version).

    A new or changed node gets its next tick from now; an unchanged one keeps its place; a node
    that is gone, or whose params are invalid, has its schedule disabled.
    """
    wanted = _schedule_params(document)
    existing = {row.node_id: row for row in session.exec(select(Schedule).where(Schedule.workflow_id == workflow_id))}
    now = utcnow()
    for node_id, row in existing.items():
        if node_id not in wanted and row.enabled:
            row.enabled, row.updated_at = False, now
            session.add(row)
    for node_id, (cron, timezone, missed) in wanted.items():
        row = existing.get(node_id)
        if row is None:
            row = Schedule(workspace_id=workspace_id, workflow_id=workflow_id, node_id=node_id, cron=cron,
                           timezone=timezone, missed=missed, next_fire_at=now)  # fmt: skip
        elif row.enabled and (row.cron, row.timezone, row.missed) == (cron, timezone, missed):
            continue
        row.cron, row.timezone, row.missed, row.enabled, row.updated_at = cron, timezone, missed, True, now
        row.next_fire_at = CronSchedule(cron, timezone).next_after(now)
        session.add(row)
    session.flush()


def _schedule_params(document: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    """`{node_id: (cron, timezone, missed)}` for each schedule_trigger node whose params are valid."""
    found = {}
    for node in document.get("nodes") or []:
        if not isinstance(node, dict) or node.get("type") != SCHEDULE_NODE.type:
            continue
        try:
            params = SCHEDULE_NODE.params.model_validate(node.get("params") or {})
        except ValidationError:
            continue  # the editor reports it; an invalid schedule must not fire
        found[str(node.get("id"))] = (params.cron, params.timezone, params.missed)  # type: ignore[attr-defined]
    return found
