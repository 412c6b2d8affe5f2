"""How dates, money and phone numbers look in replies, in the member's language and timezone.

Values are stored normalised (UTC instants, E.164, Decimal plus ISO currency); these helpers
are the one place that turns them back into what a salesperson expects to read. Babel (CLDR)
supplies weekday and month names and currency symbols, so English shows "CN¥" for yuan (to
tell it from yen) while Chinese shows "¥" and "US$". Whole amounts drop the ".00".
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

import phonenumbers
from babel import Locale
from babel.core import get_global
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime, get_day_names, get_timezone_gmt, get_timezone_location
from babel.numbers import format_currency, format_decimal, get_currency_name, parse_pattern
from phonenumbers import NumberParseException, PhoneNumberFormat

from handlers.text_limits import utf16_len
from storage.parsing import Birthday, Money

# Parsed once, not on every call: a card formats a dozen dates and amounts, and after the
# bot has been idle, parsing a locale name or a number pattern again is cold code
# (docs/stack-facts.md, "A read after a pause").
_LOCALES = {"en": Locale.parse("en"), "zh": Locale.parse("zh_Hans_CN")}
_MONEY = {True: parse_pattern("¤#,##0"), False: parse_pattern("¤#,##0.00")}  # whole or not
_WHEN = {
    "en": ("EEE d MMM HH:mm", "EEE d MMM yyyy HH:mm"),
    "zh": ("M月d日 EEE HH:mm", "yyyy年M月d日 EEE HH:mm"),
}
_DATE = {"en": "EEE d MMM yyyy", "zh": "yyyy年M月d日 EEE"}
_BIRTHDAY = {"en": ("d MMMM", "d MMMM yyyy"), "zh": ("M月d日", "yyyy年M月d日")}


def _lang(lang: str) -> str:
    return lang if lang in _LOCALES else "en"


def format_when(dt_utc: datetime, *, tz: ZoneInfo, lang: str, now: datetime | None = None) -> str:
    """ "Tue 14 Jan 15:00" / "1月14日 周二 15:00"; the year is shown when it is not this year.

    `now` (default: the current time) decides "this year"; tests pass it.
    """
    lang = _lang(lang)
    local = dt_utc.astimezone(tz)
    this_year = (now or datetime.now(tz)).astimezone(tz).year
    short, with_year = _WHEN[lang]
    pattern = short if local.year == this_year else with_year
    return format_datetime(local, pattern, tzinfo=tz, locale=_LOCALES[lang])


def format_date(d: date, *, lang: str) -> str:
    """ "Wed 14 Jan 2026" / "2026年1月14日 周三"."""
    lang = _lang(lang)
    return babel_format_date(d, _DATE[lang], locale=_LOCALES[lang])


def format_birthday(b: Birthday, *, lang: str) -> str:
    """ "5 March" / "3月5日", with the year when it is known."""
    lang = _lang(lang)
    short, with_year = _BIRTHDAY[lang]
    day = date(b.year or 2000, b.month, b.day)  # 2000 is a leap year: 29 Feb without a year
    pattern = short if b.year is None else with_year
    return babel_format_date(day, pattern, locale=_LOCALES[lang])


def weekday_name(
    day: int, *, lang: str, width: Literal["abbreviated", "wide"] = "abbreviated"
) -> str:
    """Monday 0: "Mon" / "周一" ("Monday" / "星期一" with width="wide")."""
    return str(get_day_names(width, locale=_LOCALES[_lang(lang)])[day])


def format_money(m: Money, *, lang: str) -> str:
    """ "¥12,000.50" / "$50,000": CLDR symbol for the language, cents only when there are any."""
    lang = _lang(lang)
    pattern = _MONEY[m.amount == m.amount.to_integral_value()]
    return format_currency(
        m.amount, m.currency, format=pattern, locale=_LOCALES[lang], currency_digits=False
    )


def format_number(value: Decimal | int, *, lang: str) -> str:
    """12,000 / 2.5: thousands separated the reader's way (a quantity, an amount of no
    known currency)."""
    return format_decimal(value, locale=_LOCALES[_lang(lang)])


def region_name(code: str, *, lang: str) -> str:
    """ "China" / "中国" for "CN": a member reads a country, not an ISO code."""
    return str(_LOCALES[_lang(lang)].territories.get(code.upper(), code))


def zone_name(zone: str, *, lang: str) -> str:
    """ "China (Shanghai) Time" / "中国（上海）时间" for "Asia/Shanghai"; a zone of no country
    (UTC, Etc/GMT-8) by its offset, "GMT+08:00"."""
    locale = _LOCALES[_lang(lang)]
    try:
        ZoneInfo(zone)
    except (ValueError, KeyError):
        return zone
    territory = get_global("zone_territories").get(zone, "")
    if len(territory) != 2 or territory == "ZZ":  # "001": the world, not a country
        return str(get_timezone_gmt(datetime.now(ZoneInfo(zone)), locale=locale))
    return str(get_timezone_location(zone, locale=locale))


def currency_name(code: str, *, lang: str) -> str:
    """ "Chinese Yuan" / "人民币" for "CNY", as a chart title names the currency."""
    return str(get_currency_name(code, locale=_LOCALES[_lang(lang)]))


def format_phone(e164: str, *, region: str | None) -> str:
    """National format for numbers of the member's region, international for the rest (and
    for all with `region=None`: "+86 415 253 0000" says which country it was read for)."""
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return e164
    home = region is not None and phonenumbers.region_code_for_number(number) == region.upper()
    style = PhoneNumberFormat.NATIONAL if home else PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(number, style)


ECHO_LIMIT = 200


def clip(text: str, limit: int = ECHO_LIMIT) -> str:
    """User input echoed back, or one item of a card or list, cut to `limit` of Telegram's
    characters (UTF-16 units, "…" included): a 4096-character search quoted in a reply would
    push the reply over Telegram's message limit, and one long note would crowd out the rest."""
    if utf16_len(text) <= limit:
        return text
    used = 0
    for index, char in enumerate(text):
        used += utf16_len(char)
        if used > limit - 1:
            return text[:index] + "…"
    return text
