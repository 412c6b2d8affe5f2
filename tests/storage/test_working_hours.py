"""Quiet hours and birthday dates: pure functions, so every edge is a plain assertion."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from storage.working_hours import (
    WORK_DAYS,
    WorkingHours,
    age_on,
    birthday_in,
    days_text,
    next_birthday,
    next_delivery_time,
    parse_days,
    parse_hours,
    weekly_day_served,
)

NY = ZoneInfo("America/New_York")
SH = ZoneInfo("Asia/Shanghai")


def deliver(local: datetime, start: time, end: time, *, exact: bool = False) -> datetime:
    at = next_delivery_time(
        local.astimezone(UTC),
        tz=local.tzinfo,
        work_start=start,
        work_end=end,
        exact=exact,  # type: ignore[arg-type]
    )
    return at.astimezone(local.tzinfo)


def test_next_delivery_inside_hours_is_unchanged() -> None:
    due = datetime(2031, 1, 15, 14, 0, tzinfo=SH)
    assert deliver(due, time(9), time(19)) == due


def test_next_delivery_before_start_waits_for_start_same_day() -> None:
    due = datetime(2031, 1, 15, 6, 30, tzinfo=SH)
    assert deliver(due, time(9), time(19)) == datetime(2031, 1, 15, 9, 0, tzinfo=SH)


def test_next_delivery_at_or_after_end_waits_for_next_day() -> None:
    assert deliver(datetime(2031, 1, 15, 19, 0, tzinfo=SH), time(9), time(19)) == datetime(
        2031, 1, 16, 9, 0, tzinfo=SH
    )
    assert deliver(datetime(2031, 1, 15, 23, 59, tzinfo=SH), time(9), time(19)) == datetime(
        2031, 1, 16, 9, 0, tzinfo=SH
    )


def test_next_delivery_exact_time_ignores_hours() -> None:
    due = datetime(2031, 1, 15, 23, 0, tzinfo=SH)
    assert deliver(due, time(9), time(19), exact=True) == due


def test_next_delivery_across_spring_forward_keeps_local_start() -> None:
    """New York, 9 March 2031 is the March change: 09:00 EDT is 13:00 UTC, not 14:00."""
    due = datetime(2031, 3, 8, 22, 0, tzinfo=NY)  # Saturday evening, still EST
    at = next_delivery_time(
        due.astimezone(UTC), tz=NY, work_start=time(9), work_end=time(18), exact=False
    )
    assert at == datetime(2031, 3, 9, 13, 0, tzinfo=UTC)
    assert at.astimezone(NY).hour == 9


def test_next_delivery_across_fall_back_keeps_local_start() -> None:
    due = datetime(2031, 11, 1, 22, 0, tzinfo=NY)  # Saturday evening, EDT; Sunday is EST
    at = next_delivery_time(
        due.astimezone(UTC), tz=NY, work_start=time(9), work_end=time(18), exact=False
    )
    assert at == datetime(2031, 11, 2, 14, 0, tzinfo=UTC)


def test_next_delivery_start_in_dst_gap_goes_out_right_after_the_jump() -> None:
    due = datetime(2031, 3, 9, 1, 0, tzinfo=NY)
    at = next_delivery_time(
        due.astimezone(UTC), tz=NY, work_start=time(2, 30), work_end=time(18), exact=False
    )
    assert at == datetime(2031, 3, 9, 7, 30, tzinfo=UTC)  # 03:30 EDT
    assert at > due


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (datetime(2031, 1, 15, 23, 0, tzinfo=SH), datetime(2031, 1, 15, 23, 0, tzinfo=SH)),
        (datetime(2031, 1, 16, 5, 59, tzinfo=SH), datetime(2031, 1, 16, 5, 59, tzinfo=SH)),
        (datetime(2031, 1, 16, 6, 0, tzinfo=SH), datetime(2031, 1, 16, 22, 0, tzinfo=SH)),
        (datetime(2031, 1, 16, 12, 0, tzinfo=SH), datetime(2031, 1, 16, 22, 0, tzinfo=SH)),
    ],
)
def test_next_delivery_window_spanning_midnight(local: datetime, expected: datetime) -> None:
    assert deliver(local, time(22), time(6)) == expected


def test_next_delivery_equal_start_and_end_is_always_open() -> None:
    due = datetime(2031, 1, 16, 3, 0, tzinfo=SH)
    assert deliver(due, time(0), time(0)) == due


def test_next_delivery_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_delivery_time(
            datetime(2031, 1, 1, 9, 0),  # noqa: DTZ001 (the naive time under test)
            tz=SH,
            work_start=time(9),
            work_end=time(18),
            exact=False,
        )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9:00-18:30", WorkingHours(time(9), time(18, 30))),
        ("08:00 – 18:00", WorkingHours(time(8), time(18))),
        ("22:00-06:00", WorkingHours(time(22), time(6))),
        ("9:00至18:00", WorkingHours(time(9), time(18))),
        ("25:00-18:00", None),
        ("nine to five", None),
        ("", None),
    ],
)
def test_parse_hours_reads_ranges_or_says_none(text: str, expected: WorkingHours | None) -> None:
    assert parse_hours(text) == expected


def test_birthday_feb_29_is_on_feb_28_in_other_years() -> None:
    assert birthday_in(2031, 2, 29) == date(2031, 2, 28)
    assert birthday_in(2032, 2, 29) == date(2032, 2, 29)


def test_next_birthday_passed_this_year_is_next_year() -> None:
    assert next_birthday(date(2031, 6, 2), 6, 1) == date(2032, 6, 1)
    assert next_birthday(date(2031, 6, 1), 6, 1) == date(2031, 6, 1)
    assert next_birthday(date(2031, 12, 30), 1, 2) == date(2032, 1, 2)


def test_age_is_known_only_with_a_year() -> None:
    assert age_on(date(2031, 3, 5), 1990) == 41
    assert age_on(date(2031, 3, 5), None) is None


# --- working days -------------------------------------------------------------------------------

MON, SAT = 0, 5


def on_days(local: datetime, days: frozenset[int], start: time = time(9)) -> datetime:
    at = next_delivery_time(
        local.astimezone(UTC), tz=SH, work_start=start, work_end=time(19), exact=False,
        work_days=days,
    )  # fmt: skip
    return at.astimezone(SH)


def test_a_saturday_moment_waits_for_monday_start() -> None:
    saturday = datetime(2031, 1, 18, 8, 30, tzinfo=SH)  # a Saturday, before the start
    assert on_days(saturday, WORK_DAYS) == datetime(2031, 1, 20, 9, 0, tzinfo=SH)
    assert on_days(saturday.replace(hour=11), WORK_DAYS) == datetime(2031, 1, 20, 9, tzinfo=SH)


def test_friday_after_hours_waits_for_monday_not_saturday() -> None:
    friday = datetime(2031, 1, 17, 20, 0, tzinfo=SH)
    assert on_days(friday, WORK_DAYS) == datetime(2031, 1, 20, 9, 0, tzinfo=SH)


def test_a_working_day_keeps_the_working_hours_rule() -> None:
    wednesday = datetime(2031, 1, 15, 14, 0, tzinfo=SH)
    assert on_days(wednesday, WORK_DAYS) == wednesday
    saturday_worker = frozenset({1, 2, 3, 4, SAT})
    saturday = datetime(2031, 1, 18, 8, 0, tzinfo=SH)
    assert on_days(saturday, saturday_worker) == datetime(2031, 1, 18, 9, 0, tzinfo=SH)
    monday = datetime(2031, 1, 20, 10, 0, tzinfo=SH)  # not one of theirs: Tuesday
    assert on_days(monday, saturday_worker) == datetime(2031, 1, 21, 9, 0, tzinfo=SH)


def test_without_working_days_only_hours_count() -> None:
    saturday = datetime(2031, 1, 18, 11, 0, tzinfo=SH)
    assert on_days(saturday, frozenset()) == saturday


@pytest.mark.parametrize(
    ("stored", "days"),
    [
        (None, WORK_DAYS),
        ("", WORK_DAYS),
        ("0,1,2,3,4,5", frozenset(range(6))),
        ("6", frozenset({6})),
        ("12,x, 3", frozenset({3})),
        ("9,-1", WORK_DAYS),
    ],
)
def test_parse_days_reads_stored_days_and_defaults_to_weekdays(
    stored: str | None, days: frozenset[int]
) -> None:
    assert parse_days(stored) == days


def test_days_text_round_trips() -> None:
    assert days_text(frozenset({5, 0, 2})) == "0,2,5"
    assert parse_days(days_text(frozenset({5, 0, 2}))) == frozenset({0, 2, 5})


def test_weekly_day_is_served_on_it_or_on_the_next_working_day() -> None:
    monday, tuesday = date(2031, 1, 20), date(2031, 1, 21)
    assert weekly_day_served(monday, MON, WORK_DAYS) == monday
    assert weekly_day_served(tuesday, MON, WORK_DAYS) is None
    tuesday_to_saturday = frozenset({1, 2, 3, 4, 5})
    assert weekly_day_served(monday, MON, tuesday_to_saturday) is None
    assert weekly_day_served(tuesday, MON, tuesday_to_saturday) == monday
    assert weekly_day_served(date(2031, 1, 22), MON, tuesday_to_saturday) is None
    sunday = date(2031, 1, 19)  # weekly day Saturday, a Monday-Friday member: Monday
    assert weekly_day_served(monday, SAT, WORK_DAYS) == date(2031, 1, 18)
    assert weekly_day_served(sunday, SAT, WORK_DAYS) is None
