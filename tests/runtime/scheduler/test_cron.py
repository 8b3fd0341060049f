"""Cron ticks in a time zone: validation messages, DST changes and missed ticks, at fixed instants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from runtime.cron import MISFIRE_GRACE, CronSchedule, check_cron, check_timezone
from runtime.errors import WorkflowInvalid
from runtime.graph.validate import validate_document
from tests.runtime.executor.test_in_process import document


def ticks(schedule: CronSchedule, after: datetime, count: int) -> list[datetime]:
    found = []
    for _ in range(count):
        after = schedule.next_after(after)
        found.append(after)
    return found


def local(instants: list[datetime], zone: str) -> list[str]:
    return [instant.astimezone(ZoneInfo(zone)).strftime("%m-%d %H:%M:%S%z") for instant in instants]


def test_a_bad_cron_expression_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match=r"cron expression '61 \* \* \* \*' is not valid"):
        check_cron("61 * * * *")
    with pytest.raises(ValueError, match=r"'every monday' has 2 fields"):
        check_cron("every monday")
    assert check_cron("  0  9 * * 1-5 ") == "0 9 * * 1-5"


def test_an_unknown_time_zone_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match=r"time zone 'Mars/Olympus' is not an IANA time zone"):
        check_timezone("Mars/Olympus")
    assert check_timezone("Europe/Berlin") == "Europe/Berlin"


def test_the_validator_reports_bad_schedule_params_on_the_node() -> None:
    params = {"cron": "0 25 * * *", "timezone": "Nowhere"}
    raw = document([{"id": "tick", "type": "schedule_trigger", "params": params}])

    with pytest.raises(WorkflowInvalid) as caught:
        validate_document(raw)

    found = {(issue.node_id, issue.field, issue.value) for issue in caught.value.issues}
    assert found == {("tick", "params.cron", "0 25 * * *"), ("tick", "params.timezone", "Nowhere")}
    assert any("'0 25 * * *'" in issue.message for issue in caught.value.issues)


def test_six_fields_put_seconds_first() -> None:
    every_ten_seconds = CronSchedule("*/10 * * * * *", "UTC")

    found = ticks(every_ten_seconds, datetime(2026, 5, 1, 12, 0, 3, tzinfo=UTC), 3)

    assert [tick.second for tick in found] == [10, 20, 30]


def test_wall_clock_times_follow_the_zone_across_spring_forward() -> None:
    nine_am = CronSchedule("0 9 * * *", "Europe/Berlin")

    found = ticks(nine_am, datetime(2026, 3, 27, 12, tzinfo=UTC), 3)

    assert [tick.strftime("%d %H:%M") for tick in found] == ["28 08:00", "29 07:00", "30 07:00"]
    assert local(found, "Europe/Berlin") == ["03-28 09:00:00+0100", "03-29 09:00:00+0200", "03-30 09:00:00+0200"]


def test_a_time_skipped_by_spring_forward_fires_right_after_the_gap() -> None:
    half_past_two = CronSchedule("30 2 * * *", "Europe/Berlin")

    found = ticks(half_past_two, datetime(2026, 3, 28, 12, tzinfo=UTC), 2)

    assert local(found, "Europe/Berlin") == ["03-29 03:00:00+0200", "03-30 02:30:00+0200"]


def test_a_fixed_time_in_the_repeated_fall_back_hour_fires_once() -> None:
    half_past_one = CronSchedule("30 1 * * *", "America/New_York")

    found = ticks(half_past_one, datetime(2026, 10, 31, 12, tzinfo=UTC), 2)

    assert local(found, "America/New_York") == ["11-01 01:30:00-0400", "11-02 01:30:00-0500"]


def test_an_interval_keeps_real_time_through_the_repeated_hour() -> None:
    every_half_hour = CronSchedule("*/30 * * * *", "America/New_York")

    found = ticks(every_half_hour, datetime(2026, 11, 1, 4, 45, tzinfo=UTC), 5)

    assert all(later - earlier == timedelta(minutes=30) for earlier, later in zip(found, found[1:], strict=False))
    assert local(found, "America/New_York") == [
        "11-01 01:00:00-0400", "11-01 01:30:00-0400", "11-01 01:00:00-0500", "11-01 01:30:00-0500",
        "11-01 02:00:00-0500",
    ]  # fmt: skip


def test_due_lists_on_time_ticks_and_only_flags_missed_ones() -> None:
    every_minute = CronSchedule("* * * * *", "UTC")
    first = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)

    assert every_minute.due(first, first - timedelta(seconds=1)).on_time == []
    just_late = every_minute.due(first, first + MISFIRE_GRACE)
    assert (just_late.on_time, just_late.missed) == ([first], False)
    after_a_day = every_minute.due(first, first + timedelta(days=1, seconds=10))
    assert after_a_day.missed is True
    assert after_a_day.on_time == [first + timedelta(days=1)]
    assert after_a_day.following == first + timedelta(days=1, minutes=1)
