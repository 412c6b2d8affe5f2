"""Working hours, working days and birthdays as pure date arithmetic, so every rule has a
unit test.

Nudges, birthdays and digests must never reach a member outside their working hours, nor on
a day they do not work (Monday to Friday unless they chose other days); they wait for the
next start. Times are wall-clock times in the member's timezone: "09:00" means
09:00 local on every day, on both sides of a daylight-saving change. A window may span
midnight ("22:00-06:00"); a window whose start equals its end is open all day.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order
WORK_DAYS = frozenset(range(5))  # Monday to Friday: a member who chose none
_DAY_NUMBERS = {str(day) for day in range(7)}
_HOURS = re.compile(r"^\s*(\d{1,2})[:.：](\d{2})\s*[-–—~至到]\s*(\d{1,2})[:.：](\d{2})\s*$")


@dataclass(frozen=True)
class WorkingHours:
    start: time
    end: time

    def contains(self, moment: time) -> bool:
        """Whether a local wall-clock time falls inside the window (end excluded)."""
        if self.start == self.end:
            return True
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def label(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


def parse_clock(text: str | None) -> time | None:
    """A stored "HH:MM" (Member.work_start / work_end); None or junk means "not set"."""
    if not text:
        return None
    try:
        return time.fromisoformat(text)
    except ValueError:
        return None


def parse_hours(text: str) -> WorkingHours | None:
    """A typed range such as "9:00-18:30" or "22:00–06:00"; None when it is not one."""
    match = _HOURS.match(text)
    if match is None:
        return None
    sh, sm, eh, em = (int(part) for part in match.groups())
    if sh > 23 or eh > 23 or sm > 59 or em > 59:
        return None
    return WorkingHours(time(sh, sm), time(eh, em))


def parse_days(text: str | None) -> frozenset[int]:
    """A stored `Member.work_days` ("0,1,2,3,4", Monday 0); not set, or nothing valid in
    it, is Monday to Friday, so a member never ends up with no working day at all."""
    parts = {part.strip() for part in (text or "").split(",")}
    days = frozenset(int(part) for part in parts if part in _DAY_NUMBERS)
    return days or WORK_DAYS


def days_text(days: frozenset[int]) -> str:
    """What `parse_days` reads back: "0,1,2,3,4"."""
    return ",".join(str(day) for day in sorted(days))


def next_delivery_time(
    due_at: datetime,
    *,
    tz: ZoneInfo,
    work_start: time,
    work_end: time,
    exact: bool,
    work_days: frozenset[int] | None = None,
) -> datetime:
    """When a reminder due at `due_at` may be delivered, in UTC.

    Exact-time follow-ups go out when set. Anything else due outside working hours waits for
    the next start of the window, computed as a local wall-clock time so a DST change moves
    the UTC instant, not the local hour. A start that falls in a spring-forward gap
    (02:30 that day does not exist) resolves to the same instant one hour later on the clock.
    With `work_days` (weekday numbers, Monday 0), a moment on another day waits for the start
    of the next working day: a Saturday digest goes out on Monday.
    """
    if due_at.tzinfo is None:
        raise ValueError("due_at must be timezone-aware")
    if exact:
        return due_at.astimezone(UTC)
    hours = WorkingHours(work_start, work_end)
    local = due_at.astimezone(tz)
    if hours.contains(local.time().replace(tzinfo=None)):
        moment = due_at.astimezone(UTC)
    else:
        day = local.date()
        if hours.start < hours.end and local.time().replace(tzinfo=None) >= hours.end:
            day += timedelta(days=1)
        moment = _at_local(day, hours.start, tz)
    day = moment.astimezone(tz).date()
    if not work_days or day.weekday() in work_days:
        return moment
    while day.weekday() not in work_days:
        day += timedelta(days=1)
    return _at_local(day, hours.start, tz)


def weekly_day_served(day: date, weekly_day: int, work_days: frozenset[int]) -> date | None:
    """The date of the weekly day (`weekly_day`, Monday 0) whose weekly message goes out on
    `day`: that day itself when the member works on it, else their first working day after
    it, so a member who does not work on the weekly day still gets it. None on other days."""
    weekly = day - timedelta(days=(day.weekday() - weekly_day) % 7)
    first = weekly
    while work_days and first.weekday() not in work_days:
        first += timedelta(days=1)
    return weekly if first == day else None


def _at_local(day: date, clock: time, tz: ZoneInfo) -> datetime:
    """Local wall time to UTC; in a DST gap the pre-transition offset applies (fold=0)."""
    return datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)


def local_moment(day: date, clock: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of a local date and time (the birthday check, a preset hour)."""
    return _at_local(day, clock, tz)


def birthday_in(year: int, month: int, day: int) -> date:
    """The day a birthday is celebrated in `year`: 29 February becomes 28 February."""
    if (month, day) == (2, 29) and not calendar.isleap(year):
        return date(year, 2, 28)
    return date(year, month, day)


def next_birthday(today: date, month: int, day: int) -> date:
    """The birthday on or after `today`."""
    this_year = birthday_in(today.year, month, day)
    return this_year if this_year >= today else birthday_in(today.year + 1, month, day)


def age_on(occurs: date, birth_year: int | None) -> int | None:
    """The age reached on that birthday, when the year of birth is known."""
    if birth_year is None or birth_year >= occurs.year:
        return None
    return occurs.year - birth_year
