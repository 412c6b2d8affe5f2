"""Pins what everyday English and Chinese phrases mean, against a fixed clock.

now = Wednesday 2026-01-14 10:30 in Asia/Shanghai. Expected values are local wall times.
"""

from __future__ import annotations

import time as _time
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from storage.dates import When, parse_when, search_when, warm_up
from storage.parsing import ParseError

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 1, 14, 10, 30, tzinfo=SHANGHAI)

# (phrase, expected local "YYYY-MM-DD HH:MM", has_time)
FUTURE = [
    ("下周二", "2026-01-20 09:00", False),
    ("下星期二", "2026-01-20 09:00", False),
    ("下周四", "2026-01-22 09:00", False),
    ("next Tuesday", "2026-01-20 09:00", False),
    ("next Thursday", "2026-01-15 09:00", False),
    ("next week", "2026-01-19 09:00", False),
    ("下周", "2026-01-19 09:00", False),
    ("月底", "2026-01-31 09:00", False),
    ("end of the month", "2026-01-31 09:00", False),
    ("本月底", "2026-01-31 09:00", False),
    ("这个月底", "2026-01-31 09:00", False),
    ("下个月底", "2026-02-28 09:00", False),
    ("下月底", "2026-02-28 09:00", False),
    ("下月末", "2026-02-28 09:00", False),
    ("下下个月底", "2026-03-31 09:00", False),
    ("下月初", "2026-02-01 09:00", False),
    ("下月5号", "2026-02-05 09:00", False),
    ("下个月15日", "2026-02-15 09:00", False),
    ("下个月五号", "2026-02-05 09:00", False),
    ("本月20号", "2026-01-20 09:00", False),
    ("下月5号下午3点", "2026-02-05 15:00", True),
    ("月底下午5点", "2026-01-31 17:00", True),
    ("end of next month", "2026-02-28 09:00", False),
    ("End of this month", "2026-01-31 09:00", False),
    ("end of month", "2026-01-31 09:00", False),
    ("the end of the month", "2026-01-31 09:00", False),
    ("start of next month", "2026-02-01 09:00", False),
    ("beginning of next month", "2026-02-01 09:00", False),
    ("15th of next month", "2026-02-15 09:00", False),
    ("the 5th of next month", "2026-02-05 09:00", False),
    ("next month on the 5th", "2026-02-05 09:00", False),
    ("20th of this month", "2026-01-20 09:00", False),
    ("今晚8点", "2026-01-14 20:00", True),
    ("晚上8点", "2026-01-14 20:00", True),
    ("下午3点", "2026-01-14 15:00", True),
    ("下午三点", "2026-01-14 15:00", True),
    ("下午三点半", "2026-01-14 15:30", True),
    ("15点", "2026-01-14 15:00", True),
    ("上午9点", "2026-01-15 09:00", True),
    ("明天上午10点", "2026-01-15 10:00", True),
    ("明天早上9点", "2026-01-15 09:00", True),
    ("明天下午3点", "2026-01-15 15:00", True),
    ("明天3点", "2026-01-15 15:00", True),
    ("明天 15:00", "2026-01-15 15:00", True),
    ("后天上午10点", "2026-01-16 10:00", True),
    ("明天中午", "2026-01-15 12:00", True),
    ("两周后", "2026-01-28 09:00", False),
    ("一小时后", "2026-01-14 11:30", True),
    ("3天后", "2026-01-17 09:00", False),
    ("半小时后", "2026-01-14 11:00", True),
    ("3月15日下午3点", "2026-03-15 15:00", True),
    ("3月5日", "2026-03-05 09:00", False),
    ("三月十五日", "2026-03-15 09:00", False),
    ("2026年3月15日", "2026-03-15 09:00", False),
    ("周五", "2026-01-16 09:00", False),
    ("本周五", "2026-01-16 09:00", False),
    ("这周五", "2026-01-16 09:00", False),
    ("周一", "2026-01-19 09:00", False),
    ("周三", "2026-01-21 09:00", False),
    ("星期三", "2026-01-21 09:00", False),
    ("Wednesday", "2026-01-21 09:00", False),
    ("周三下午3点", "2026-01-21 15:00", True),
    ("本周三", "2026-01-14 09:00", False),
    ("大后天", "2026-01-17 09:00", False),
    ("下周二上午十点", "2026-01-20 10:00", True),
    ("tonight 8pm", "2026-01-14 20:00", True),
    ("noon tomorrow", "2026-01-15 12:00", True),
    ("in 2 weeks", "2026-01-28 09:00", False),
    ("in 2 hours", "2026-01-14 12:30", True),
    ("next Tue 3pm", "2026-01-20 15:00", True),
    ("tomorrow 9am", "2026-01-15 09:00", True),
    ("8am", "2026-01-15 08:00", True),
    ("today", "2026-01-14 09:00", False),
    ("15/03", "2026-03-15 09:00", False),
    ("15/03 14:30", "2026-03-15 14:30", True),
    ("２０２６－０３－１５ 14:30", "2026-03-15 14:30", True),
    ("2026-03-15 14:30", "2026-03-15 14:30", True),
]
PAST = [
    ("yesterday 4pm", "2026-01-13 16:00", True),
    ("last Friday", "2026-01-09 09:00", False),
    ("3 days ago", "2026-01-11 09:00", False),
    ("2 hours ago", "2026-01-14 08:30", True),
    ("昨天下午4点", "2026-01-13 16:00", True),
    ("前天", "2026-01-12 09:00", False),
    ("上周五", "2026-01-09 09:00", False),
    ("周三", "2026-01-07 09:00", False),
    ("Wednesday", "2026-01-07 09:00", False),
    ("周一", "2026-01-12 09:00", False),
    ("3天前", "2026-01-11 09:00", False),
    ("下午3点", "2026-01-13 15:00", True),
    ("15/03", "2025-03-15 09:00", False),
    ("2025-03-15 14:30", "2025-03-15 14:30", True),
]


def _local(when: When | ParseError, tz: ZoneInfo = SHANGHAI) -> tuple[str, bool]:
    assert isinstance(when, When), when
    assert when.at.tzinfo == UTC
    return when.at.astimezone(tz).strftime("%Y-%m-%d %H:%M"), when.has_time


@pytest.mark.parametrize(("phrase", "expected", "has_time"), FUTURE)
def test_parse_when_future_phrase(phrase: str, expected: str, has_time: bool) -> None:
    assert _local(parse_when(phrase, now=NOW, tz=SHANGHAI, prefer="future")) == (
        expected,
        has_time,
    )


@pytest.mark.parametrize(("phrase", "expected", "has_time"), PAST)
def test_parse_when_past_phrase(phrase: str, expected: str, has_time: bool) -> None:
    assert _local(parse_when(phrase, now=NOW, tz=SHANGHAI, prefer="past")) == (expected, has_time)


def test_parse_when_mdy_flips_numeric_dates() -> None:
    result = parse_when("03/15", now=NOW, tz=SHANGHAI, prefer="future", date_order="MDY")
    assert _local(result) == ("2026-03-15 09:00", False)


def test_parse_when_impossible_day_first_date_is_invalid() -> None:
    assert parse_when("3/15", now=NOW, tz=SHANGHAI, prefer="future") == ParseError(
        "parse.when.invalid"
    )


def test_parse_when_default_time_applies_to_dates() -> None:
    result = parse_when("明天", now=NOW, tz=SHANGHAI, prefer="future", default_time=time(14, 0))
    assert _local(result) == ("2026-01-15 14:00", False)


def test_parse_when_utc_now_is_read_in_member_timezone() -> None:
    result = parse_when("明天上午10点", now=NOW.astimezone(UTC), tz=SHANGHAI, prefer="future")
    assert isinstance(result, When)
    assert result.at == datetime(2026, 1, 15, 2, 0, tzinfo=UTC)


def test_parse_when_tomorrow_across_dst_start_new_york() -> None:
    now = datetime(2026, 3, 7, 10, 0, tzinfo=NEW_YORK)  # Saturday, EST; DST starts Sunday 2:00
    result = parse_when("tomorrow 9am", now=now, tz=NEW_YORK, prefer="future")
    assert isinstance(result, When)
    assert result.at == datetime(2026, 3, 8, 13, 0, tzinfo=UTC)  # 9:00 EDT


def test_parse_when_in_hours_across_dst_start_is_elapsed_time() -> None:
    now = datetime(2026, 3, 8, 1, 30, tzinfo=NEW_YORK)  # 06:30 UTC, half an hour before DST
    for phrase in ("in 2 hours", "两小时后"):
        result = parse_when(phrase, now=now, tz=NEW_YORK, prefer="future")
        assert _local(result, NEW_YORK) == ("2026-03-08 04:30", True)


def test_parse_when_next_week_across_dst_end_new_york() -> None:
    now = datetime(2026, 10, 30, 12, 0, tzinfo=NEW_YORK)  # Friday, EDT; DST ends Sunday
    result = parse_when("next week", now=now, tz=NEW_YORK, prefer="future")
    assert isinstance(result, When)
    assert result.at == datetime(2026, 11, 2, 14, 0, tzinfo=UTC)  # Monday 9:00 EST


def test_parse_when_follow_up_in_past_is_rejected() -> None:
    for phrase in ("yesterday 4pm", "昨天", "上午9点前天"):
        result = parse_when(phrase, now=NOW, tz=SHANGHAI, prefer="future")
        assert isinstance(result, ParseError), phrase
    assert parse_when("昨天", now=NOW, tz=SHANGHAI, prefer="future") == ParseError(
        "parse.when.in_past"
    )


def test_parse_when_note_in_future_is_rejected() -> None:
    assert parse_when("明天", now=NOW, tz=SHANGHAI, prefer="past") == ParseError(
        "parse.when.in_future"
    )


def test_parse_when_allows_a_few_minutes_of_slack() -> None:
    result = parse_when("10:27", now=NOW, tz=SHANGHAI, prefer="past")
    assert isinstance(result, When)
    late = datetime(2026, 1, 14, 10, 32, tzinfo=SHANGHAI)
    assert isinstance(parse_when("今天上午10点30分", now=late, tz=SHANGHAI, prefer="future"), When)


@pytest.mark.parametrize("junk", ["", "   ", "asdfgh", "zzz qqq", "明天后天大大", "32/13", "🙂"])
def test_parse_when_junk_is_parse_error(junk: str) -> None:
    assert isinstance(parse_when(junk, now=NOW, tz=SHANGHAI, prefer="future"), ParseError)


def test_parse_when_far_future_is_out_of_range() -> None:
    assert parse_when("2099-01-01", now=NOW, tz=SHANGHAI, prefer="future") == ParseError(
        "parse.when.out_of_range"
    )


def test_parse_when_over_long_input_is_rejected_fast() -> None:
    started = _time.perf_counter()
    result = parse_when("明天 " * 2000, now=NOW, tz=SHANGHAI, prefer="future")
    assert result == ParseError("parse.when.too_long", {"max": "200"})
    assert _time.perf_counter() - started < 0.05


def test_parse_when_junk_is_fast_after_warm_up() -> None:
    warm_up()
    started = _time.perf_counter()
    parse_when("x" * 200, now=NOW, tz=SHANGHAI, prefer="future")
    assert _time.perf_counter() - started < 0.5


# (message, matched text, expected local time, has_time)
SEARCH = [
    ("拜访王总，下周二下午3点再跟进", "下周二下午3点", "2026-01-20 15:00", True),
    ("聊了报价，便宜一点就签，明天再联系", "明天", "2026-01-15 09:00", False),
    ("见了客户 明天 15:00 回电", "明天 15:00", "2026-01-15 15:00", True),
    ("客户说3天后给答复", "3天后", "2026-01-17 09:00", False),
    ("½价, 明天１５：００回电", "明天１５：００", "2026-01-15 15:00", True),
    (
        "called Bob, may follow up next Tue 3pm about pricing",
        "next Tue 3pm",
        "2026-01-20 15:00",
        True,
    ),
    (
        "met Alice, wants 50 units, follow up next tuesday at 3pm about the quote",
        "next tuesday at 3pm",
        "2026-01-20 15:00",
        True,
    ),
    ("Lunch with Sam, call him in 2 weeks", "in 2 weeks", "2026-01-28 09:00", False),
    ("send the quote tomorrow", "tomorrow", "2026-01-15 09:00", False),
    ("王总说下个月底签合同", "下个月底", "2026-02-28 09:00", False),
    ("报价已发，下月5号再跟进", "下月5号", "2026-02-05 09:00", False),
    (
        "sent the quote, follow up end of next month",
        "end of next month",
        "2026-02-28 09:00",
        False,
    ),
    ("they decide by the end of the month", "the end of the month", "2026-01-31 09:00", False),
    (
        "call back on the 15th of next month",
        "on the 15th of next month",
        "2026-02-15 09:00",
        False,
    ),
    # A code or a number in the text is not the date: the complete expression is.
    ("task Q01x0 in 1 minute", "in 1 minute", "2026-01-14 10:31", True),
    ("task Q01x0 tomorrow 3pm", "tomorrow 3pm", "2026-01-15 15:00", True),
    ("call client 3 at 16:44", "at 16:44", "2026-01-14 16:44", True),
    ("call client 3 tomorrow", "tomorrow", "2026-01-15 09:00", False),
    ("call room 12 in 2 hours", "in 2 hours", "2026-01-14 12:30", True),
    ("send 3 samples next tuesday", "next tuesday", "2026-01-20 09:00", False),
    ("I may call tomorrow 3pm", "tomorrow 3pm", "2026-01-15 15:00", True),
    ("call on 15 March 3pm", "on 15 March 3pm", "2026-03-15 15:00", True),
    ("meet at 3 pm", "at 3 pm", "2026-01-14 15:00", True),
    ("任务Q01x0 1分钟后", "1分钟后", "2026-01-14 10:31", True),
    ("给客户3打电话 明天上午9点", "明天上午9点", "2026-01-15 09:00", True),
    ("报价单Q3 下周二下午3点再跟进", "下周二下午3点", "2026-01-20 15:00", True),
]


@pytest.mark.parametrize(("message", "matched", "expected", "has_time"), SEARCH)
def test_search_when_finds_phrase_in_sentence(
    message: str, matched: str, expected: str, has_time: bool
) -> None:
    found = search_when(message, now=NOW, tz=SHANGHAI)
    assert found is not None
    (start, end), when = found
    assert message[start:end] == matched
    assert _local(when) == (expected, has_time)


@pytest.mark.parametrize("phrase", ["下月31号", "下个月30日", "the 31st of next month"])
def test_parse_when_day_the_month_lacks_is_invalid(phrase: str) -> None:
    """February 2026 has 28 days: 下月31号 is not moved to 3 March nor to the 28th."""
    result = parse_when(phrase, now=NOW, tz=SHANGHAI, prefer="future")
    assert result == ParseError("parse.when.invalid")


@pytest.mark.parametrize(
    "message",
    [
        "nothing to schedule here",
        "a weekend of the month away",
        "便宜一点吧",
        "wants 50 units",
        "x" * 5000,
    ],
)
def test_search_when_without_date_is_none(message: str) -> None:
    assert search_when(message, now=NOW, tz=SHANGHAI) is None
