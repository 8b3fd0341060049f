"""Start the workflow on a cron schedule, in a time zone of your choice.

The cron expression has 5 fields (`minute hour day month weekday`, e.g. `0 9 * * 1-5` for 9:00 on
weekdays) or 6 with seconds first. `trigger.body.scheduled_for` is the tick the run is for and
`trigger.body.fired_at` when it started. After a pause of the scheduler, missed ticks are either
skipped or made up for by a single run.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from runtime.cron import check_cron, check_timezone
from runtime.nodes.context import NodeContext
from runtime.nodes.spec import NodeParams, NodeType


class Params(NodeParams):
    cron: str = Field(
        "0 * * * *",
        description="When to run, as a cron expression: `0 9 * * 1-5` is 9:00 on weekdays; 6 fields add seconds first.",
    )
    timezone: str = Field("UTC", description="IANA time zone the cron expression is read in, e.g. `Europe/Berlin`.")
    missed: Literal["skip", "run_once"] = Field(
        "skip",
        description=(
            "After the scheduler was down: `skip` waits for the next tick; `run_once` starts one run for all "
            "the missed ticks, then continues."
        ),
    )

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        return check_cron(value)

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        return check_timezone(value)


async def run(params: Params, ctx: NodeContext) -> Any:
    """`{"scheduled_for", "fired_at", "missed"}` of the tick that started the run (ISO 8601, UTC)."""
    body = ctx.trigger.get("body")
    return body if isinstance(body, dict) else {"scheduled_for": None, "fired_at": None, "missed": False}


NODE = NodeType(
    type="schedule_trigger",
    version=1,
    title="Schedule",
    category="trigger",
    description=(__doc__ or "").strip(),
    params=Params,
    inputs=(),
    outputs=("out",),
    run=run,
    is_trigger=True,
)
