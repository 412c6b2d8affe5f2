"""Working hours and birthdays as pure date arithmetic, so every rule has a unit test.

Nudges, birthdays and digests must never reach a member outside their working hours; they
wait for the next start. Times are wall-clock times in the member's timezone: "09:00" means
09:00 local on every day, on both sides of a daylight-saving change. A window may span
midnight ("22:00-06:00"); a window whose start equals its end is open all day.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

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


def next_delivery_time(
    due_at: datetime, *, tz: ZoneInfo, work_start: time, work_end: time, exact: bool
) -> datetime:
    """When a reminder due at `due_at` may be delivered, in UTC.

    Exact-time follow-ups go out when set. Anything else due outside working hours waits for
    the next start of the window, computed as a local wall-clock time so a DST change moves
    the UTC instant, not the local hour. A start that falls in a spring-forward gap
    (02:30 that day does not exist) resolves to the same instant one hour later on the clock.
    """
    if due_at.tzinfo is None:
        raise ValueError("due_at must be timezone-aware")
    if exact:
        return due_at.astimezone(UTC)
    hours = WorkingHours(work_start, work_end)
    local = due_at.astimezone(tz)
    if hours.contains(local.time().replace(tzinfo=None)):
        return due_at.astimezone(UTC)
    day = local.date()
    if hours.start < hours.end and local.time().replace(tzinfo=None) >= hours.end:
        day += timedelta(days=1)
    return _at_local(day, hours.start, tz)


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
