"""Cron expressions in a time zone: validation, the next tick, and which ticks are due after a pause.

Expressions have 5 fields (`minute hour day month weekday`) or 6 with seconds first
(`second minute hour day month weekday`), as in n8n and Quartz. Ticks are computed on the wall
clock of the schedule's IANA time zone and returned as UTC instants. Around DST changes they follow
Vixie cron: a time skipped by spring-forward fires at the first instant after the gap, and a
fixed-hour time that the fall-back hour repeats fires once, not twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from croniter import CroniterError, croniter

FIELD_COUNTS = (5, 6)
MISFIRE_GRACE = timedelta(seconds=30)
"""A tick at most this late still counts as on time; older ones are missed and follow the policy."""


def check_cron(expression: str) -> str:
    """The expression with its fields single-spaced; ValueError naming it when it is not valid cron."""
    fields = expression.split()
    if len(fields) not in FIELD_COUNTS:
        raise ValueError(
            f"cron expression {expression!r} has {len(fields)} fields; use 5 (minute hour day month weekday) "
            "or 6 with seconds first"
        )
    normalised = " ".join(fields)
    try:
        croniter(normalised, second_at_beginning=True)
    except (CroniterError, ValueError) as error:
        raise ValueError(f"cron expression {expression!r} is not valid: {error}") from None
    return normalised


def check_timezone(name: str) -> str:
    """The IANA time zone name as given; ValueError naming it when it is unknown."""
    if name not in available_timezones():
        raise ValueError(f"time zone {name!r} is not an IANA time zone name such as 'Europe/Berlin' or 'UTC'")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"time zone {name!r} could not be loaded") from None
    return name


@dataclass(frozen=True)
class DueTicks:
    """The ticks due at one moment: those on time, whether earlier ones were missed, the next one."""

    on_time: list[datetime]
    missed: bool
    following: datetime


@dataclass(frozen=True)
class CronSchedule:
    """A valid cron expression on the wall clock of one time zone."""

    expression: str
    timezone: str

    def next_after(self, instant: datetime) -> datetime:
        """The first tick strictly after `instant` (aware), as an aware UTC datetime."""
        zone = ZoneInfo(self.timezone)
        ticks = croniter(self.expression, instant.astimezone(zone), second_at_beginning=True)
        while True:
            tick = ticks.get_next(datetime).astimezone(UTC)
            if not (self._fixed_hour and _is_repeated_wall_time(tick, zone)):
                return tick

    def due(self, first_unfired: datetime, now: datetime) -> DueTicks:
        """What is due at `now` for a schedule whose earliest unfired tick is `first_unfired`.

        Ticks more than `MISFIRE_GRACE` older than `now` are missed (the caller applies the node's
        policy to them); they are not listed, so a long outage costs no work.
        """
        cutoff = now - MISFIRE_GRACE
        missed = first_unfired < cutoff
        tick = self.next_after(cutoff - timedelta(microseconds=1)) if missed else first_unfired
        on_time: list[datetime] = []
        while tick <= now:
            on_time.append(tick)
            tick = self.next_after(tick)
        return DueTicks(on_time=on_time, missed=missed, following=tick)

    @property
    def _fixed_hour(self) -> bool:
        fields = self.expression.split()
        hour = fields[2] if len(fields) == 6 else fields[1]
        return not hour.startswith("*")


def _is_repeated_wall_time(tick: datetime, zone: ZoneInfo) -> bool:
    """Whether `tick` is the second pass of a wall-clock time that falling back repeats."""
    local = tick.astimezone(zone)
    return local.fold == 1 and local.replace(fold=0).utcoffset() != local.utcoffset()
