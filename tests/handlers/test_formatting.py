from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from handlers.formatting import (
    ECHO_LIMIT,
    clip,
    currency_name,
    format_birthday,
    format_date,
    format_money,
    format_phone,
    format_when,
    region_name,
    zone_name,
)
from storage.parsing import Birthday, Money

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 1, 14, 2, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("lang", "expected"), [("en", "Wed 14 Jan 15:00"), ("zh", "1月14日 周三 15:00")]
)
def test_format_when_this_year(lang: str, expected: str) -> None:
    at = datetime(2026, 1, 14, 7, 0, tzinfo=UTC)
    assert format_when(at, tz=SHANGHAI, lang=lang, now=NOW) == expected


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("en", "Wed 13 Jan 2027 15:00"), ("zh", "2027年1月13日 周三 15:00")],
)
def test_format_when_other_year_shows_year(lang: str, expected: str) -> None:
    at = datetime(2027, 1, 13, 7, 0, tzinfo=UTC)
    assert format_when(at, tz=SHANGHAI, lang=lang, now=NOW) == expected


def test_format_when_uses_member_timezone_for_day_and_year() -> None:
    at = datetime(2025, 12, 31, 17, 0, tzinfo=UTC)  # already 1 Jan 2026 in Shanghai
    assert format_when(at, tz=SHANGHAI, lang="en", now=NOW) == "Thu 1 Jan 01:00"


def test_format_when_unknown_language_falls_back_to_english() -> None:
    at = datetime(2026, 1, 14, 7, 0, tzinfo=UTC)
    assert format_when(at, tz=SHANGHAI, lang="fr", now=NOW) == "Wed 14 Jan 15:00"


@pytest.mark.parametrize(
    ("lang", "expected"), [("en", "Wed 14 Jan 2026"), ("zh", "2026年1月14日 周三")]
)
def test_format_date(lang: str, expected: str) -> None:
    assert format_date(date(2026, 1, 14), lang=lang) == expected


@pytest.mark.parametrize(
    ("birthday", "lang", "expected"),
    [
        (Birthday(3, 5, None), "en", "5 March"),
        (Birthday(3, 5, 1988), "en", "5 March 1988"),
        (Birthday(3, 5, None), "zh", "3月5日"),
        (Birthday(3, 5, 1988), "zh", "1988年3月5日"),
        (Birthday(2, 29, None), "en", "29 February"),
    ],
)
def test_format_birthday(birthday: Birthday, lang: str, expected: str) -> None:
    assert format_birthday(birthday, lang=lang) == expected


@pytest.mark.parametrize(
    ("money", "lang", "expected"),
    [
        (Money(Decimal("12000.50"), "CNY"), "zh", "¥12,000.50"),
        (Money(Decimal("50000.00"), "USD"), "en", "$50,000"),
        (Money(Decimal("12000.50"), "CNY"), "en", "CN¥12,000.50"),
        (Money(Decimal("50000.00"), "USD"), "zh", "US$50,000"),
    ],
)
def test_format_money(money: Money, lang: str, expected: str) -> None:
    assert format_money(money, lang=lang) == expected


@pytest.mark.parametrize(
    ("e164", "region", "expected"),
    [
        ("+8613800138000", "CN", "138 0013 8000"),
        ("+8613800138000", "US", "+86 138 0013 8000"),
        ("+16502530000", "us", "(650) 253-0000"),
        ("not a phone", "CN", "not a phone"),
    ],
)
def test_format_phone(e164: str, region: str, expected: str) -> None:
    assert format_phone(e164, region=region) == expected


def test_clip_keeps_short_echoes_and_cuts_long_ones_to_the_limit() -> None:
    assert clip("Zhang Wei") == "Zhang Wei"
    assert clip("x" * ECHO_LIMIT) == "x" * ECHO_LIMIT
    long = clip("0" * 4096)
    assert (len(long), long[-1]) == (ECHO_LIMIT, "…")


def test_clip_counts_telegram_units() -> None:
    assert clip("😀" * 10, 9) == "😀" * 4 + "…"
    assert clip("😀" * 10, 20) == "😀" * 10


@pytest.mark.parametrize(
    ("code", "lang", "expected"),
    [("CN", "en", "China"), ("cn", "zh", "中国"), ("US", "zh", "美国"), ("XX", "zh", "XX")],
)
def test_region_name_is_the_country_in_the_readers_language(
    code: str, lang: str, expected: str
) -> None:
    assert region_name(code, lang=lang) == expected


@pytest.mark.parametrize(
    ("zone", "lang", "expected"),
    [
        ("Asia/Shanghai", "en", "China (Shanghai) Time"),
        ("Asia/Shanghai", "zh", "中国（上海）时间"),
        ("America/New_York", "zh", "美国（纽约）时间"),
        ("UTC", "zh", "GMT+00:00"),
        ("Etc/GMT-8", "zh", "GMT+08:00"),
        ("Mars/Olympus", "zh", "Mars/Olympus"),
    ],
)
def test_zone_name_is_region_and_city_or_the_offset(zone: str, lang: str, expected: str) -> None:
    assert zone_name(zone, lang=lang) == expected


@pytest.mark.parametrize(("lang", "expected"), [("en", "Chinese Yuan"), ("zh", "人民币")])
def test_currency_name_in_the_readers_language(lang: str, expected: str) -> None:
    assert currency_name("CNY", lang=lang) == expected
