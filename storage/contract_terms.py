"""How long a contract runs, typed as a duration instead of an end date: "1年", "两年",
"12 months", "18个月", "2 years", "90 days", "90天". Pure, for the chat entry and imports alike.

A term of whole months ends the day before the same day that many months on (a year from
1 January ends on 31 December); a term of days ends on its last day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from storage.parsing import ParseError

MAX_MONTHS = 12 * 30
_ZH_DIGITS = {
    "一": 1,
    "两": 2,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_UNITS = {
    "year": 12,
    "years": 12,
    "yr": 12,
    "yrs": 12,
    "y": 12,
    "年": 12,
    "month": 1,
    "months": 1,
    "mo": 1,
    "mos": 1,
    "个月": 1,
    "月": 1,
    "day": 0,
    "days": 0,
    "d": 0,
    "天": 0,
}
_TERM = re.compile(
    r"(?P<count>[0-9]{1,4}|[一二两三四五六七八九十]{1,3})\s*"
    r"(?P<unit>years?|yrs?|y|months?|mos?|days?|d|年|个月|月|天)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Term:
    months: int = 0
    days: int = 0


def parse_term(text: str) -> Term | None | ParseError:
    """A duration, None when `text` is not one (it may be a date), or a ParseError for a
    duration of nothing or beyond 30 years."""
    match = _TERM.fullmatch(text.strip().removesuffix("期").strip())
    if match is None:
        return None
    count = _count(match["count"])
    per = _UNITS[match["unit"].lower()]
    months, days = (count * per, 0) if per else (0, count)
    if count < 1 or months > MAX_MONTHS or days > MAX_MONTHS * 31:
        return ParseError("parse.term.out_of_range")
    return Term(months=months, days=days)


def _count(text: str) -> int:
    if text.isascii():
        return int(text)
    if "十" not in text:
        return _ZH_DIGITS.get(text, 0) if len(text) == 1 else 0
    tens, _, ones = text.partition("十")
    return (_ZH_DIGITS.get(tens, 0) if tens else 1) * 10 + (_ZH_DIGITS.get(ones, 0) if ones else 0)


def term_end(start: date, term: Term) -> date:
    """The last day of a term that begins on `start`."""
    if term.days:
        return start + timedelta(days=term.days - 1)
    year, month = divmod(start.year * 12 + start.month - 1 + term.months, 12)
    return _clamped(year, month + 1, start.day) - timedelta(days=1)


def _clamped(year: int, month: int, day: int) -> date:
    """The day after the term: `day` of that month; when the month is shorter, the day after
    its last, so a month from 31 January ends on the last day of February."""
    for candidate in range(day, 27, -1):
        try:
            found = date(year, month, candidate)
        except ValueError:
            continue
        return found if candidate == day else found + timedelta(days=1)
    return date(year, month, day)
