"""Dates and times typed in chat ("明天下午3点", "next Tue 3pm") resolved to UTC instants.

Follow-ups, reminders and visit notes all need "when" from a phone keyboard in English or
Chinese. dateparser reads English well but misses most everyday Chinese phrases, so Chinese is
resolved by `storage.zh_dates` first and everything else goes to dateparser, always with
`languages=["en", "zh"]` (else an unknown input loads every locale: ~1.7 s, docs/stack-facts.md).

Rules, pinned by tests/storage/test_dates.py (echo the resolved date back to the user anyway):
- Input is read in the member's timezone; `When.at` is UTC. A phrase without a time
  ("明天", "next Tuesday", "in 2 weeks") gives `has_time=False` and `default_time` that day.
- "next Tuesday" (English) = the first Tuesday strictly after today (dateparser's rule);
  a bare "Tuesday" / 周二 is the nearest Tuesday in the preferred direction, never today;
  下周二 / 下星期二 = Tuesday of next Monday-to-Sunday week; 本周五 / 这周五 = this week's Friday.
- "next week" / 下周 = Monday of next week; "end of the month" / 月底 = last day of this month,
  "end of next month" / 下个月底 of the next; "start of next month" / 下月初 = its first day;
  "15th of next month", "next month on the 5th" / 下月5号 = that day of that month.
- A time alone ("3pm", 下午3点) is today, or tomorrow if already past when preferring the
  future (yesterday if still ahead when preferring the past).
- "in 2 hours" / 两小时后 / 半小时后 are exact instants (added in UTC, so right across DST);
  "in 2 weeks", 3天后, "3 days ago" are dates.
- Numeric dates "15/03" are day-first unless `date_order="MDY"`; ISO "2025-03-15 14:30" works.
- In a sentence (`search_when`), the complete expression wins over the pieces dateparser
  may take for a date: a number no month, unit or am/pm follows belongs to the text ("call
  client 3 at 16:44" is 16:44, "task Q01x0 in 1 minute" is a minute from now), and date
  words before a time go with it ("Q01x0 tomorrow 3pm").
- `prefer="past"` (something that happened) rejects the future with `parse.when.in_future`;
  `prefer="future"` (a follow-up) rejects the past with `parse.when.in_past`. Both allow
  `SLACK` of clock difference, and a date without a time is compared by date only, so "today"
  is a valid follow-up all day.
"""

from __future__ import annotations

import calendar
import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from dateparser.date import DateDataParser
from dateparser.search import search_dates

from storage.parsing import ParseError
from storage.zh_dates import PATTERN as ZH_PATTERN
from storage.zh_dates import ZhWhen, search_zh
from storage.zh_dates import resolve as zh_resolve

logger = logging.getLogger(__name__)

LANGUAGES = ["en", "zh"]
MAX_INPUT = 200
SLACK = timedelta(minutes=5)
# Lone words search_dates reads as dates inside ordinary sentences ("may follow up"); a lone
# number ("wants 50 units" -> 2050) is skipped as well.
_SEARCH_STOPWORDS = frozenset({"may", "march", "sat", "sun", "second", "now", "mon", "a", "an"})

Prefer = Literal["future", "past"]


@dataclass(frozen=True)
class When:
    at: datetime  # timezone-aware, UTC
    has_time: bool  # False: the user gave a date only and `at` is default_time that day


_CJK = re.compile(r"[\u4e00-\u9fff]")
_NEXT_WEEK = re.compile(r"next week", re.IGNORECASE)
_ORD = r"(?:st|nd|rd|th)?"
# "end of next month", "start of the month", "15th of next month", "next month on the 5th":
# dateparser reads "end of next month" as today's date next month, so these are read here.
_MONTH_PHRASE = re.compile(
    r"\b(?:(?:the )?(?P<pos>end|start|beginning) of (?:the |this |(?P<rel>next|last) )?month)"
    rf"|\b(?:(?:the )?(?P<d>\d{{1,2}}){_ORD} (?:of )?(?P<rel2>this|next) month)"
    rf"|\b(?:(?P<rel3>this|next) month(?:'s|,)? (?:on )?(?:the )?(?P<d2>\d{{1,2}}){_ORD})",
    re.IGNORECASE,
)
_IN_DURATION = re.compile(
    r"(?:in (?P<n1>\d{1,4}|an?|half an?) (?P<u1>hours?|hrs?|minutes?|mins?))"
    r"|(?:(?P<n2>\d{1,4}|an?) (?P<u2>hours?|hrs?|minutes?|mins?) (?P<dir>ago|from now|later))",
    re.IGNORECASE,
)
_MONTH_NAMES = (
    "jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    "|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
# What makes a bare number part of a date: "15 March", "3 days", "3 pm", "10 o'clock".
_NUMBER_PART_OF_DATE = re.compile(
    rf"(?:{_MONTH_NAMES}|(?:day|week|month|year|hour|hr|minute|min)s?|am|pm|[ap]\.m\.|o'?clock)\b",
    re.IGNORECASE,
)
# A leading number, or a code mixing letters and digits ("Q01x0", "M0d0": dateparser reads
# some as durations), that starts a phrase search_dates found.
_LEADING_STRAY = re.compile(
    r"\s*(?:(?P<number>\d+)|[A-Za-z]+\d[A-Za-z\d]*|\d+[A-Za-z]+\d[A-Za-z\d]*)(?=\s|$)\s*"
)
# Words that complete a time found next to them ("tomorrow" + "3pm"): search_dates sometimes
# leaves them out after a code such as "Q01x0", and the text would keep half the date.
_DATE_WORDS = re.compile(
    rf"(?:today|tonight|tomorrow|yesterday|next|this|coming|on|at|by|"
    rf"(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day)?|{_MONTH_NAMES})",
    re.IGNORECASE,
)
_NUMERIC_DATE = re.compile(
    r"(?P<a>\d{1,2})[/.](?P<b>\d{1,2})(?:[/.](?P<y>\d{4}|\d{2}))?"
    r"(?:\s+(?P<h>\d{1,2}):(?P<mi>\d{2}))?"
)


def _clean(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split())


def _nfkc_with_offsets(text: str) -> tuple[str, list[int]]:
    """NFKC per character, with the index in `text` of every character of the result."""
    parts: list[str] = []
    offsets: list[int] = []
    for index, char in enumerate(text):
        normal = unicodedata.normalize("NFKC", char)
        parts.append(normal)
        offsets.extend([index] * len(normal))
    return "".join(parts), offsets


def _local(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def _from_zh(found: ZhWhen, now: datetime, tz: ZoneInfo, default_time: time) -> When:
    if found.offset is not None:
        return When(at=now.astimezone(UTC) + found.offset, has_time=True)
    if found.at is None:
        return When(at=_local(found.day, default_time, tz), has_time=False)
    return When(at=_local(found.day, found.at, tz), has_time=True)


def _duration(m: re.Match[str], now: datetime) -> When:
    n, unit = (m["n1"], m["u1"]) if m["n1"] else (m["n2"], m["u2"])
    n = n.lower()
    amount = 0.5 if n.startswith("half") else 1.0 if n in ("a", "an") else float(n)
    delta = timedelta(hours=amount) if unit.lower().startswith("h") else timedelta(minutes=amount)
    sign = -1 if (m["dir"] or "").lower() == "ago" else 1
    return When(at=now.astimezone(UTC) + sign * delta, has_time=True)


def _numeric(
    m: re.Match[str], local_now: datetime, prefer: Prefer, date_order: str
) -> date | None:
    a, b = int(m["a"]), int(m["b"])
    day, month = (b, a) if date_order.upper().startswith("M") else (a, b)
    year = local_now.year if m["y"] is None else int(m["y"])
    year += 2000 if year < 100 else 0
    try:
        found = date(year, month, day)
    except ValueError:
        return None
    if m["y"] is None and (month, day) != (2, 29):
        if prefer == "future" and found < local_now.date():
            found = found.replace(year=year + 1)
        elif prefer == "past" and found > local_now.date():
            found = found.replace(year=year - 1)
    return found


def _month_day(m: re.Match[str], today: date) -> date | None:
    """The day a `_MONTH_PHRASE` names: a month's last or first day, or a day of it."""
    rel = (m["rel"] or m["rel2"] or m["rel3"] or "this").lower()
    index = today.year * 12 + today.month - 1 + {"next": 1, "last": -1}.get(rel, 0)
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    wanted = int(m["d"] or m["d2"] or 0)
    if m["pos"]:
        wanted = last if m["pos"].lower() == "end" else 1
    return date(year, month + 1, wanted) if 1 <= wanted <= last else None


def _settings(local_now: datetime, prefer: Prefer, date_order: str) -> dict[str, Any]:
    return {
        "RELATIVE_BASE": local_now,
        "PREFER_DATES_FROM": prefer,
        "RETURN_TIME_AS_PERIOD": True,
        "DATE_ORDER": date_order,
    }


def _resolve(
    text: str, *, now: datetime, tz: ZoneInfo, prefer: Prefer, default_time: time, date_order: str
) -> When | None:
    local_now = now.astimezone(tz).replace(tzinfo=None)
    if _CJK.search(text) and (m := ZH_PATTERN.fullmatch(text.replace(" ", ""))):
        # A phrase of the Chinese grammar naming no day (下月31号 in February) is not
        # handed to dateparser, which turns it into some other date.
        found = zh_resolve(m, local_now, prefer)
        return None if found is None else _from_zh(found, now, tz, default_time)
    if m := _IN_DURATION.fullmatch(text):
        return _duration(m, now)
    if _NEXT_WEEK.fullmatch(text):
        monday = local_now.date() + timedelta(days=7 - local_now.weekday())
        return When(at=_local(monday, default_time, tz), has_time=False)
    if m := _MONTH_PHRASE.fullmatch(text):
        day = _month_day(m, local_now.date())
        return None if day is None else When(at=_local(day, default_time, tz), has_time=False)
    if m := _NUMERIC_DATE.fullmatch(text):
        day = _numeric(m, local_now, prefer, date_order)
        if day is None:
            return None
        if m["h"] is None:
            return When(at=_local(day, default_time, tz), has_time=False)
        hour, minute = int(m["h"]), int(m["mi"])
        if hour > 23 or minute > 59:
            return None
        return When(at=_local(day, time(hour, minute), tz), has_time=True)
    parser = DateDataParser(languages=LANGUAGES, settings=_settings(local_now, prefer, date_order))
    data = parser.get_date_data(text)
    if data.date_obj is None:
        return None
    has_time = data.period in ("time", "part_of_day")
    at = data.date_obj.time() if has_time else default_time
    return When(at=_local(data.date_obj.date(), at, tz), has_time=has_time)


def _check(when: When, *, now: datetime, tz: ZoneInfo, prefer: Prefer) -> When | ParseError:
    if not now.replace(year=now.year - 20) <= when.at <= now.replace(year=now.year + 10):
        return ParseError("parse.when.out_of_range")
    today = now.astimezone(tz).date()
    day = when.at.astimezone(tz).date()
    if prefer == "future":
        if when.has_time and when.at < now - SLACK or not when.has_time and day < today:
            return ParseError("parse.when.in_past")
    elif when.has_time and when.at > now + SLACK or not when.has_time and day > today:
        return ParseError("parse.when.in_future")
    return when


def parse_when(
    text: str,
    *,
    now: datetime,
    tz: ZoneInfo,
    prefer: Prefer,
    default_time: time = time(9, 0),
    date_order: str = "DMY",
) -> When | ParseError:
    """The whole of `text` as one date or date and time; `now` must be timezone-aware."""
    if len(text) > MAX_INPUT:
        return ParseError("parse.when.too_long", {"max": str(MAX_INPUT)})
    cleaned = _clean(text)
    if not cleaned:
        return ParseError("parse.when.empty")
    when = _resolve(
        cleaned, now=now, tz=tz, prefer=prefer, default_time=default_time, date_order=date_order
    )
    if when is None:
        return ParseError("parse.when.invalid")
    return _check(when, now=now, tz=tz, prefer=prefer)


def _trimmed_length(phrase: str, when: When, *, now: datetime, **kw: Any) -> int:
    """Drop trailing words search_dates swallowed ("next Tue 3pm about") while the date holds."""
    ends = [m.end() for m in re.finditer(r"\S+", phrase)]
    while len(ends) > 1 and _resolve(_clean(phrase[: ends[-2]]), now=now, **kw) == when:
        ends.pop()
    return ends[-1] if ends else len(phrase)


def _stray_numbers(phrase: str) -> int:
    """How many leading characters of `phrase` belong to the text: codes, and numbers no
    month, unit or am/pm follows ("client 3 at 16:44" is not the 3rd, "room 12 in 2 hours")."""
    start = 0
    while m := _LEADING_STRAY.match(phrase, start):
        if m["number"] and _NUMBER_PART_OF_DATE.match(phrase, m.end()):
            break
        start = m.end()
    return start


def _with_date_words_before(text: str, start: int, end: int, **kw: Any) -> int:
    """Move `start` back over date words ("tomorrow", "next Tue", "at") that still resolve
    together with the phrase: the whole expression leaves the text, and it decides."""
    while m := re.search(r"(\S+)\s+$", text[:start]):
        word = m[1]
        if not _DATE_WORDS.fullmatch(word) or word.lower() in _SEARCH_STOPWORDS:
            break  # "I may call tomorrow 3pm": "may" is not May
        if _resolve(_clean(text[m.start(1) : end]), **kw) is None:
            break
        start = m.start(1)
    return start


def _joined(text: str, index: int) -> bool:
    """Whether text[index] and the character after it are both Latin letters or digits: a
    phrase cut there is a piece of a word or code ("A1t1"), not a date."""
    pair = text[index : index + 2] if index >= 0 else ""
    return len(pair) == 2 and pair.isascii() and pair.isalnum()


def _phrases(text: str, settings: dict[str, Any]) -> list[tuple[int, str]]:
    """Date phrases in `text` with their start: search_dates' ones, less stray leading numbers,
    and English durations ("in 1 minute") it misses after a code ("task Q01x0 in 1 minute")."""
    found = [(m.start(), m.group()) for m in _IN_DURATION.finditer(text)]
    cursor = 0
    for phrase, _ in search_dates(text, languages=LANGUAGES, settings=settings) or []:
        start = text.find(phrase, cursor)
        if start < 0:
            continue
        cursor = start + len(phrase)
        stray = _stray_numbers(phrase)
        bare = phrase[stray:].strip().lower()
        inside_a_word = _joined(text, start + stray - 1) or _joined(text, cursor - 1)
        if bare and bare not in _SEARCH_STOPWORDS and not bare.isdigit() and not inside_a_word:
            found.append((start + stray, phrase[stray:]))
    return sorted(found, key=lambda item: item[0])


def search_when(
    text: str,
    *,
    now: datetime,
    tz: ZoneInfo,
    prefer: Prefer = "future",
    default_time: time = time(9, 0),
    date_order: str = "DMY",
) -> tuple[tuple[int, int], When] | None:
    """The first date phrase inside a longer message ("/log met Li, 下周二下午3点再跟进").

    The span indexes `text` as given (full-width input is matched after NFKC). The result is
    not checked against `prefer`: the caller echoes it back. Messages over 4 KB are not searched.
    """
    if len(text) > 4096:
        return None
    text, offsets = _nfkc_with_offsets(text)
    local_now = now.astimezone(tz).replace(tzinfo=None)
    kw: dict[str, Any] = {"default_time": default_time, "date_order": date_order}
    candidates: list[tuple[tuple[int, int], When]] = []
    if found := search_zh(text, local_now, prefer):
        span, zh = found
        candidates.append((span, _from_zh(zh, now, tz, default_time)))
    for m in _MONTH_PHRASE.finditer(text):
        if day := _month_day(m, local_now.date()):
            candidates.append((m.span(), When(at=_local(day, default_time, tz), has_time=False)))
            break
    settings = _settings(local_now, prefer, date_order)
    for start, phrase in _phrases(text, settings):
        when = _resolve(_clean(phrase), now=now, tz=tz, prefer=prefer, **kw)
        if when is None:
            continue
        end = start + _trimmed_length(phrase, when, now=now, tz=tz, prefer=prefer, **kw)
        start = _with_date_words_before(text, start, end, now=now, tz=tz, prefer=prefer, **kw)
        when = _resolve(_clean(text[start:end]), now=now, tz=tz, prefer=prefer, **kw) or when
        candidates.append(((start, end), when))
        break
    if not candidates:
        return None
    # The earliest phrase; at the same start the longer ("end of next month", not "next month").
    (start, end), when = min(candidates, key=lambda c: (c[0][0], -c[0][1]))
    return (offsets[start], offsets[end - 1] + 1), when


def warm_up() -> None:
    """Load the English and Chinese locale data at start-up (0.1 s here), not on a user's turn."""
    now = datetime.now(UTC)
    for phrase in ("tomorrow 9am", "明天 15:00", "zzz"):
        parse_when(phrase, now=now, tz=ZoneInfo("UTC"), prefer="future")
    search_when("call back next tuesday", now=now, tz=ZoneInfo("UTC"))
