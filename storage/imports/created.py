"""When another CRM created a record, read from its export's "Create Date" / "创建时间" column.

Exports write it every way: "2024-03-01 10:00:00", "2024-03-01T02:00:00Z", "2024/3/1 10:00",
"3/1/2024 10:00 AM" (day or month first: decided per column like a birthday column),
"2024年3月1日". A time without a zone is the importing member's local time. The result is
UTC; a value that cannot be read, or is not in the past, gives None: the row is imported all
the same, with the import's own time, and the review counts it as a warning.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

_YEAR_FIRST = re.compile(r"(\d{4})[/.\-年](\d{1,2})[/.\-月](\d{1,2})日?")
_YEAR_LAST = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})")
_CLOCK_12 = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([ap])\.?m\.?", re.IGNORECASE)
EARLIEST = 1900


def parse_created(
    value: str, *, day_first: bool | None, tz: ZoneInfo, today: date
) -> datetime | None:
    """The moment `value` names, in UTC; None when unreadable, undecided or after `today`."""
    text = value.strip()
    if m := _YEAR_FIRST.match(text):
        year, month, day = m[1], m[2], m[3]
    elif (m := _YEAR_LAST.match(text)) and day_first is not None:
        year = m[3]
        day, month = (m[1], m[2]) if day_first else (m[2], m[1])
    else:
        return None
    try:
        when = datetime.combine(date(int(year), int(month), int(day)), _clock(text[m.end() :]))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=tz)
    when = when.astimezone(UTC)
    if when.year < EARLIEST or when.date() > today:
        return None
    return when


def _clock(rest: str) -> time:
    """The time after the date: "", " 10:00", "T02:00:00Z", " 10:00:00+08:00", " 3:05 PM"."""
    rest = rest.strip().removeprefix("T").strip()
    if not rest:
        return time()
    if m := _CLOCK_12.fullmatch(rest):
        hour = int(m[1])
        if not 1 <= hour <= 12:
            raise ValueError(rest)
        hour = hour % 12 + (12 if m[4].lower() == "p" else 0)
        return time(hour, int(m[2]), int(m[3] or 0))
    return time.fromisoformat(rest.replace("Z", "+00:00").replace("z", "+00:00"))
