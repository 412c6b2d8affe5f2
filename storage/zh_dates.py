"""Chinese date and time phrases that dateparser 1.5 cannot read, resolved directly.

dateparser returns None for most of what Chinese salespeople actually type (明天下午3点,
下周二, 今晚8点, 两周后, 3月15日下午3点: upstream issues #232 and #808, listed in
docs/stack-facts.md). Rewriting them into English for dateparser would still leave its weekday
rules in charge, so this module recognises them with one regular grammar and resolves them
itself against the member's local "now". `storage.dates` tries this first and falls back to
dateparser for everything else.

Numerals: `cn2an` was measured against the phrase list and not used. `cn2an.transform` reads
点 as a decimal point (三点一刻 -> "3.1刻", 十点零五分 -> "10.05分"), raises a UserWarning on
二十三点四十五分 (an error under our warnings policy) and leaves 两 unconverted (两点, 两周).
The numbers in dates and amounts are small, so `zh_to_number` below covers them in a few lines.

Rules (see `storage.dates` for the full list):
- 本周五 / 这周五 = Friday of the current Monday-to-Sunday week; 下周二 / 下星期二 = Tuesday of
  next week; 上周五 = Friday of last week; a bare 周五 is the nearest Friday in the preferred
  direction, never today (as dateparser reads "Friday": 周五跟进 on a Friday is next Friday).
- 下周 alone = Monday of next week; 月底 / 本月底 = last day of the current month, 下个月底 /
  下月底 of the next; 月初 / 下月初 = the first day; 下月5号 / 下个月15日 / 本月20号 = that day
  of that month (a day the month lacks, 下月31号 in a 30-day month, is not guessed).
- Periods: 早上/上午 keep the hour, 下午/傍晚/晚上/今晚 add 12, 中午 1-2 点 = 13-14 点; a period
  alone means 上午 9:00, 中午 12:00, 下午 15:00, 傍晚 18:00, 晚上 20:00.
- A bare hour 1-6 (明天3点) is read as afternoon: nobody books a 3 a.m. visit; 凌晨3点 is 3:00.
- N天后 / N周后 / N个月后 give a date; N小时后 / N分钟后 / 半小时后 give an exact time.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4}
_DIGITS |= {"五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_SMALL_UNITS = {"十": 10, "百": 100, "千": 1000}
_BIG_UNITS = {"万": 10_000, "亿": 100_000_000}

ZH_NUMERAL_CHARS = "零〇一二两三四五六七八九十百千万亿"


def zh_to_number(text: str) -> Decimal | None:
    """Read an integer written in Chinese numerals or ASCII digits (五万, 两千五, 十五, 3万).

    A trailing digit after a unit means one unit lower (两千五 = 2500, 三万五 = 35000), as
    people say it. Returns None for anything else.
    """
    if not text:
        return None
    total = Decimal(0)  # finished 亿 groups
    wan = Decimal(0)  # the finished 万 group below the current 亿
    section = Decimal(0)  # the part below the current 万/亿
    digit: Decimal | None = None
    last_unit = 0
    for ch in text:
        if ch.isascii() and ch.isdigit():
            digit = (digit or Decimal(0)) * 10 + int(ch)
        elif ch in "零〇" and digit is None:
            last_unit = 1  # 一百零五: what follows is not scaled
        elif ch in _DIGITS:
            digit = Decimal(_DIGITS[ch]) if digit is None else digit * 10 + _DIGITS[ch]
        elif ch in _SMALL_UNITS:
            last_unit = _SMALL_UNITS[ch]
            section += (Decimal(1) if digit is None else digit) * last_unit
            digit = None
        elif ch in _BIG_UNITS:
            group = section + (digit or 0)
            if ch == "万":
                if group == 0:
                    return None
                wan, last_unit = group * 10_000, 10_000
            else:  # 亿 scales all before it: 一万亿 = 10^12
                if group == 0 and wan == 0 and total == 0:
                    return None
                total, wan, last_unit = (total + wan + group) * 100_000_000, Decimal(0), 10**8
            section, digit = Decimal(0), None
        else:
            return None
    if digit is not None:
        # 两千五, 3万5: a lone digit after a unit is one order lower.
        trailing_scale = last_unit // 10 if last_unit >= 10 and digit < 10 else 1
        section += digit * trailing_scale
    return total + wan + section


_NUM = r"[0-9零〇一二两三四五六七八九十]{1,4}"
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_WEEKDAYS |= {str(i + 1): i for i in range(7)}
_REL_DAYS = {"大前天": -3, "前天": -2, "昨天": -1, "昨日": -1, "昨晚": -1, "今天": 0, "今日": 0}
_REL_DAYS |= {"今晚": 0, "明天": 1, "明日": 1, "明晚": 1, "后天": 2, "大后天": 3}
_PERIOD_DEFAULT_HOUR = {"凌晨": 3, "早上": 9, "早晨": 9, "上午": 9, "中午": 12, "下午": 15}
_PERIOD_DEFAULT_HOUR |= {"傍晚": 18, "晚上": 20, "夜里": 22, "今晚": 20, "明晚": 20, "昨晚": 20}
_MONTH_OFFSETS = {"": 0, "本": 0, "这": 0, "这个": 0, "下": 1, "下个": 1, "下下": 2, "下下个": 2}
_MONTH_OFFSETS |= {"上": -1, "上个": -1}
_EVENING = {"下午", "傍晚", "晚上", "夜里", "今晚", "明晚", "昨晚"}

_DAY = (
    r"(?P<rel>大前天|前天|昨天|昨日|昨晚|今天|今日|今晚|明天|明日|明晚|大后天|后天)"
    r"|(?P<wk>本|这|这个|下下|下个|下|上个|上)?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天1-7])"
    r"|(?P<nextweek>下个?(?:周|星期|礼拜))"
    # 月底, 下个月底, 下月初: a month's end or start; 下月5号, 本月20日: a day of a near month
    r"|(?P<mrel>本|这个?|下下个?|下个?|上个?)?月(?P<mpos>[底末初])"
    rf"|(?P<mrel2>本|这个?|下下个?|下个?|上个?)月(?P<md>{_NUM})[日号]"
    rf"|(?:(?P<y>\d{{4}})年)?(?P<m>{_NUM})月(?P<d>{_NUM})[日号]?"
)
_TIME = (
    r"(?P<period>凌晨|早上|早晨|上午|中午|下午|傍晚|晚上|夜里)?"
    rf"(?:(?P<h>{_NUM})(?:[点时](?:(?P<mi>{_NUM})分?|(?P<half>半)|(?P<q>[一三])刻)?"
    r"|:(?P<cm>[0-5]\d)))?"
)
_REL = (
    rf"(?P<n>{_NUM}|半)个?(?P<unit>天|日|周|星期|礼拜|月|小时|钟头|分钟)"
    r"(?P<dir>之后|以后|后|之前|以前|前)"
)
PATTERN = re.compile(rf"(?:{_REL})|(?:(?:{_DAY})\s*(?:的\s*)?)?{_TIME}")


@dataclass(frozen=True)
class ZhWhen:
    """A resolved phrase: a local date, plus a time when the phrase named one."""

    day: date
    at: time | None = None
    offset: timedelta | None = None  # "N小时后": a duration from now, added in UTC by the caller


def _num(text: str) -> int:
    value = zh_to_number(text)
    return -1 if value is None else int(value)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def _relative(m: re.Match[str], now: datetime) -> ZhWhen | None:
    sign = -1 if "前" in m["dir"] else 1
    unit = m["unit"]
    if m["n"] == "半":
        if unit not in ("小时", "钟头"):
            return None
        return ZhWhen(day=now.date(), offset=sign * timedelta(minutes=30))
    n = _num(m["n"])
    if n < 0:
        return None
    if unit in ("小时", "钟头", "分钟"):
        minutes = n * 60 if unit != "分钟" else n
        return ZhWhen(day=now.date(), offset=sign * timedelta(minutes=minutes))
    if unit == "月":
        return ZhWhen(day=_add_months(now.date(), sign * n))
    days = n * 7 if unit in ("周", "星期", "礼拜") else n
    return ZhWhen(day=now.date() + timedelta(days=sign * days))


def _day(m: re.Match[str], today: date, prefer: Literal["future", "past"]) -> date | None:
    monday = today - timedelta(days=today.weekday())
    if m["rel"]:
        return today + timedelta(days=_REL_DAYS[m["rel"]])
    if m["wd"]:
        weekday = _WEEKDAYS[m["wd"]]
        prefix = m["wk"]
        if prefix is None:
            # Never today, as dateparser reads "Tuesday": 周二跟进 typed on a Tuesday means
            # next Tuesday (today is 今天 or 本周二).
            delta = (weekday - today.weekday()) % 7 or 7
            if prefer == "past":
                delta = -((today.weekday() - weekday) % 7 or 7)
            return today + timedelta(days=delta)
        weeks = {"下下": 2, "下个": 1, "下": 1, "上个": -1, "上": -1}.get(prefix, 0)
        return monday + timedelta(weeks=weeks, days=weekday)
    if m["nextweek"]:
        return monday + timedelta(weeks=1)
    if m["mpos"] or m["md"]:
        first = _add_months(today.replace(day=1), _MONTH_OFFSETS[m["mrel"] or m["mrel2"] or ""])
        if m["mpos"] == "初":
            return first
        last = calendar.monthrange(first.year, first.month)[1]
        wanted = last if m["mpos"] else _num(m["md"])
        return first.replace(day=wanted) if 1 <= wanted <= last else None
    month, day_of_month = _num(m["m"]), _num(m["d"])
    year = int(m["y"]) if m["y"] else today.year
    try:
        found = date(year, month, day_of_month)
    except ValueError:
        return None
    if not m["y"]:
        if prefer == "future" and found < today:
            found = found.replace(year=year + 1) if (month, day_of_month) != (2, 29) else found
        elif prefer == "past" and found > today:
            found = found.replace(year=year - 1) if (month, day_of_month) != (2, 29) else found
    return found


def _time(m: re.Match[str]) -> tuple[int, int] | None:
    """(hour, minute) named by the phrase; hour 24 means midnight at the end of the day."""
    period = m["period"] or (m["rel"] if m["rel"] in _EVENING else None)
    if m["h"] is None:
        return None if period is None else (_PERIOD_DEFAULT_HOUR[period], 0)
    hour = _num(m["h"])
    minute = 0
    if m["cm"]:
        minute = int(m["cm"])
    elif m["mi"]:
        minute = _num(m["mi"])
    elif m["half"]:
        minute = 30
    elif m["q"]:
        minute = 15 if m["q"] == "一" else 45
    if not (0 <= hour <= 24 and 0 <= minute <= 59):
        return None
    if period in _EVENING and hour < 12 or period == "中午" and hour in (1, 2):
        hour += 12
    elif period in _EVENING and hour == 12 or period == "凌晨" and hour == 12:
        hour = 24 if period in _EVENING else 0
    elif period is None and 1 <= hour <= 6 and not m["cm"]:
        hour += 12
    return hour, minute


def resolve(m: re.Match[str], now: datetime, prefer: Literal["future", "past"]) -> ZhWhen | None:
    """Resolve one `PATTERN` match against a naive local `now`; None when it names nothing."""
    if m["unit"]:
        return _relative(m, now)
    has_day = any(m[g] for g in ("rel", "wd", "nextweek", "mpos", "md", "m"))
    hm = _time(m)
    if not has_day and hm is None:
        return None
    day = _day(m, now.date(), prefer) if has_day else now.date()
    if day is None:
        return None
    if hm is None:
        return ZhWhen(day=day)
    hour, minute = hm
    if hour == 24:
        day, hour = day + timedelta(days=1), 0
    if not has_day:
        candidate = datetime.combine(day, time(hour, minute))
        if prefer == "future" and candidate < now:
            day += timedelta(days=1)
        elif prefer == "past" and candidate > now:
            day -= timedelta(days=1)
    return ZhWhen(day=day, at=time(hour, minute))


def search_zh(
    text: str, now: datetime, prefer: Literal["future", "past"]
) -> tuple[tuple[int, int], ZhWhen] | None:
    """The first Chinese phrase inside a longer message, with its span."""
    for m in PATTERN.finditer(text):
        if m.end() == m.start():
            continue
        # 一点 / 两点 alone usually means "a little" (便宜一点): a bare hour must be in digits.
        context = m["unit"] or m["period"] or m["rel"] or m["wd"] or m["m"] or m["md"]
        if m["h"] and not context and not m["h"].isascii():
            continue
        found = resolve(m, now, prefer)
        if found is not None:
            start, end = m.span()
            while end > start and text[end - 1].isspace():
                end -= 1
            return (start, end), found
    return None
