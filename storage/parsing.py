"""Normalisers for what salespeople type on phones, shared by chat entry and spreadsheet import.

Every parser is a pure function that never raises: it returns the value or a `ParseError`
whose `key` is a catalog message (handlers/locales/*/parsing.po) that says what is wrong and
shows an accepted example, so a chat step can ask again and keep the draft. Input is NFKC
normalised first, so full-width digits, ＠ and ￥ typed on Chinese keyboards work, and
cleaned (`clean_text`) of control characters and bidirectional overrides.

Decisions:
- Emails: domain lowercased (email-validator's normal form), local part kept as typed.
- Amounts: "," groups thousands and "." is the decimal point ("¥12,000.50"); the European
  "€1.234,56" is accepted only in that unambiguous shape (dot groups, comma, two decimals).
  k/K = thousand, m/M = million, 千/万/亿 and Chinese numerals work as said ("五万", "十二万五千",
  "两千五" = 2500, "3万5千" and "3万5" = 35000, "1.2万"); zero, negative and more than 10^12
  are rejected.
- Birthdays: "03-05" is month-day (ISO order); slashes are not accepted without a year.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from types import MappingProxyType

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import Leniency, NumberParseException, PhoneNumberFormat, ValidationResult

from storage.zh_dates import ZH_NUMERAL_CHARS, zh_to_number


@dataclass(frozen=True)
class ParseError:
    key: str  # catalog key, e.g. "parse.phone.invalid"
    params: Mapping[str, str] = field(default_factory=dict)  # placeholders for the catalog text


@dataclass(frozen=True)
class Money:
    amount: Decimal  # quantized to 0.01
    currency: str  # ISO 4217


@dataclass(frozen=True)
class Birthday:
    month: int
    day: int
    year: int | None


# Free text (a note, needs, a reason) may be as long as one Telegram message: a salesperson
# who typed a long visit report on a phone must not be asked to retype it shorter.
MAX_LONG_TEXT = 4096
MAX_LENGTHS: Mapping[str, int] = MappingProxyType(
    {
        "name": 100,
        "company": 150,
        "position": 100,
        "industry": 100,
        "region": 100,
        "title": 150,
        "tag": 30,
        "summary": MAX_LONG_TEXT,
        "needs": MAX_LONG_TEXT,
        "notes": MAX_LONG_TEXT,
        "product": 150,
        "reason": MAX_LONG_TEXT,
    }
)
MAX_AMOUNT = Decimal(10) ** 12
MAX_QUANTITY = Decimal(10) ** 9
_CENT = Decimal("0.01")


# Control characters (Unicode category Cc) but the line breaks and tab of multi-line text, and
# the Bidi_Control characters: marks, embeddings, overrides and isolates.
_UNSAFE = dict.fromkeys(
    [
        *(c for c in (*range(0x20), *range(0x7F, 0xA0)) if chr(c) not in "\t\n\r"),
        0x061C,
        0x200E,
        0x200F,
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
    ]
)


def clean_text(text: str) -> str:
    """`text` without control characters (a BEL, an ESC sequence) or bidirectional controls.

    Names typed, pasted or imported carried them into the database and out into exports:
    invisible, they make two equal-looking names differ, and an override (U+202E) shows a
    name reversed wherever it is displayed. Tabs and line breaks stay for multi-line text;
    single-line fields collapse them with the rest of the whitespace (`parse_text`).
    """
    return text.translate(_UNSAFE)


def _nfkc(text: str) -> str:
    return clean_text(unicodedata.normalize("NFKC", text)).strip()


def parse_text(text: str | None, *, field: str, required: bool = True) -> str | ParseError:
    """Free text, cleaned, with whitespace collapsed; "" for an optional field left empty."""
    cleaned = " ".join(clean_text(text or "").split())
    if not cleaned:
        return ParseError("parse.text.empty") if required else ""
    limit = MAX_LENGTHS[field]
    if len(cleaned) > limit:
        return ParseError("parse.text.too_long", {"max": str(limit), "length": str(len(cleaned))})
    return cleaned


# A letter of any script: Latin, CJK ideographs and kana (category Lo), Cyrillic, ...
_LETTER = re.compile(r"[^\W\d_]")


def parse_name(text: str | None) -> str | ParseError:
    """A person's name: free text with at least one letter or CJK character.

    "😀", "123" or "!!!" typed at the name question named nobody and became a customer no
    one could find again by name.
    """
    name = parse_text(text, field="name")
    if isinstance(name, str) and not _LETTER.search(name):
        return ParseError("parse.name.no_letter")
    return name


MAX_TAGS = 20
_TAG_SPLIT = re.compile(r"[,，;；、#\s]+")


def parse_tags(text: str) -> list[str] | ParseError:
    """Tags typed as "vip, 华东 #wholesale": split on commas, semicolons, 、, # and spaces,
    each at most MAX_LENGTHS["tag"] characters; duplicates dropped, the first MAX_TAGS kept."""
    words = [w.strip().lstrip("#") for w in _TAG_SPLIT.split(clean_text(text)) if w.strip("# ")]
    if not words:
        return ParseError("parse.text.empty")
    limit = MAX_LENGTHS["tag"]
    if too_long := next((w for w in words if len(w) > limit), None):
        return ParseError("parse.text.too_long", {"max": str(limit), "length": str(len(too_long))})
    return list(dict.fromkeys(words))[:MAX_TAGS]


# --- record ids ---------------------------------------------------------------------------

# Primary keys are INTEGER on PostgreSQL: a larger number names no record, and sending it in a
# query fails with "integer out of range" instead of finding nothing.
MAX_RECORD_ID = 2**31 - 1
_RECORD_ID = re.compile(r"#?([0-9]{1,10})")


def parse_record_id(text: str) -> int | None:
    """A record id as typed ("42" or "#42"), or None: not ASCII digits, or beyond any key."""
    match = _RECORD_ID.fullmatch(text.strip())
    if match is None or int(match[1]) > MAX_RECORD_ID:
        return None
    return int(match[1])


# --- phones -------------------------------------------------------------------------------

_PHONE_REASONS = {
    NumberParseException.TOO_SHORT_NSN: "parse.phone.too_short",
    NumberParseException.TOO_SHORT_AFTER_IDD: "parse.phone.too_short",
    NumberParseException.TOO_LONG: "parse.phone.too_long",
    NumberParseException.INVALID_COUNTRY_CODE: "parse.phone.invalid_country",
}
_POSSIBLE_REASONS = {
    ValidationResult.TOO_SHORT: "parse.phone.too_short",
    ValidationResult.TOO_LONG: "parse.phone.too_long",
    ValidationResult.INVALID_COUNTRY_CODE: "parse.phone.invalid_country",
}


def parse_phone(text: str, *, region: str) -> str | ParseError:
    """One phone number in E.164; `region` (ISO 3166 "CN", "US") reads national numbers."""
    cleaned = re.sub(r"^tel:\s*", "", _nfkc(text), flags=re.IGNORECASE)
    if not cleaned:
        return ParseError("parse.phone.empty")
    if len(cleaned) > 40 or not re.search(r"\d", cleaned):
        return ParseError("parse.phone.not_a_number")
    try:
        number = phonenumbers.parse(cleaned, region.upper())
    except NumberParseException as exc:
        return ParseError(_PHONE_REASONS.get(exc.error_type, "parse.phone.not_a_number"))
    if not phonenumbers.is_valid_number(number):
        reason = phonenumbers.is_possible_number_with_reason(number)
        key = _POSSIBLE_REASONS.get(reason, "parse.phone.invalid")
        return ParseError(key, {"region": region.upper()})
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def parse_phones(text: str, *, region: str) -> list[str] | ParseError:
    """Several numbers separated by , ; / 、 or new lines; duplicates dropped, order kept."""
    pieces = [p for p in re.split(r"[,;/、\n]+", _nfkc(text)) if p.strip()]
    if not pieces:
        return ParseError("parse.phone.empty")
    found: list[str] = []
    for piece in pieces:
        phone = parse_phone(piece, region=region)
        if isinstance(phone, ParseError):
            return ParseError(phone.key, {**phone.params, "value": piece.strip()[:40]})
        if phone not in found:
            found.append(phone)
    return found


def read_as_foreign(text: str, *, region: str) -> list[str]:
    """The numbers in `text` (as for `parse_phones`) that are valid in `region` only because
    they were typed the way another country writes them, in E.164 as they were read.

    "(415) 253-0000" with region CN is a valid Dandong landline, +86 415 253 0000, but a
    Chinese number is dialled at home with the trunk prefix 0 (0415 ...): typed without it and
    without "+", it is far more likely a US number, so the reading is shown before it is saved.
    """
    prefix = phonenumbers.PhoneMetadata.metadata_for_region(region.upper())
    trunk = prefix.national_prefix if prefix is not None else None
    found: list[str] = []
    for piece in re.split(r"[,;/、\n]+", _nfkc(text)):
        cleaned = re.sub(r"^tel:\s*", "", piece.strip(), flags=re.IGNORECASE)
        if not trunk or not cleaned or cleaned.startswith(("+", "00")):
            continue
        e164 = parse_phone(cleaned, region=region)
        if isinstance(e164, ParseError):
            continue
        number = phonenumbers.parse(e164, None)
        national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
        national = re.sub(r"\D", "", national)
        typed = re.sub(r"\D", "", cleaned)
        if national.startswith(trunk) and not typed.startswith(trunk) and e164 not in found:
            found.append(e164)
    return found


def extract_phones(text: str, *, region: str) -> list[tuple[tuple[int, int], str]]:
    """Valid phone numbers inside a message, with their spans in `text`."""
    return [
        ((m.start, m.end), phonenumbers.format_number(m.number, PhoneNumberFormat.E164))
        for m in phonenumbers.PhoneNumberMatcher(text, region.upper())
    ]


def extract_invalid_phones(text: str, *, region: str) -> list[tuple[tuple[int, int], str]]:
    """What a message gives as a phone number (9 digits or more) that is not a valid number of
    `region`, as typed: "02 9374 4000" (Sydney) without "+61" in a team whose region is CN.
    `extract_phones` leaves it out; the one-message entry says so instead of dropping it."""
    found: list[tuple[tuple[int, int], str]] = []
    for m in phonenumbers.PhoneNumberMatcher(text, region.upper(), leniency=Leniency.POSSIBLE):
        if len(re.sub(r"\D", "", m.raw_string)) >= 9 and not phonenumbers.is_valid_number(
            m.number
        ):
            found.append(((m.start, m.end), m.raw_string))
    return found


# --- emails -------------------------------------------------------------------------------


def parse_email(text: str) -> str | ParseError:
    cleaned = re.sub(r"^mailto:", "", _nfkc(text), flags=re.IGNORECASE)
    if not cleaned:
        return ParseError("parse.email.empty")
    if len(cleaned) > 254:
        return ParseError("parse.email.invalid")
    try:
        info = validate_email(cleaned, check_deliverability=False)
    except EmailNotValidError:
        return ParseError("parse.email.invalid")
    return info.normalized


_EMAIL_CANDIDATE = re.compile(r"[^\s@＠<>()\[\],;:\"'，；：]+[@＠][^\s@＠<>()\[\],;:\"'，；：]+")


def extract_emails(text: str) -> list[tuple[tuple[int, int], str]]:
    found: list[tuple[tuple[int, int], str]] = []
    for m in _EMAIL_CANDIDATE.finditer(text):
        start, end = m.start(), m.end()
        while end > start and text[end - 1] in ".。":
            end -= 1
        email = parse_email(text[start:end])
        if isinstance(email, str):
            found.append(((start, end), email))
    return found


# --- amounts and numbers ------------------------------------------------------------------

_CURRENCY_WORDS = {
    "¥": "CNY", "RMB": "CNY", "CNY": "CNY", "元": "CNY", "块": "CNY", "人民币": "CNY",
    "$": "USD", "US$": "USD", "USD": "USD", "美元": "USD", "美金": "USD",
    "€": "EUR", "EUR": "EUR", "欧元": "EUR", "£": "GBP", "GBP": "GBP", "英镑": "GBP",
    "HK$": "HKD", "HKD": "HKD", "港币": "HKD", "港元": "HKD",
}  # fmt: skip
_MULTIPLIERS = {"k": 1000, "千": 1000, "m": 10**6, "百万": 10**6, "万": 10**4, "亿": 10**8}
_CUR = "|".join(re.escape(c) for c in sorted(_CURRENCY_WORDS, key=len, reverse=True))
_NUMBER = (
    r"(?P<eu>\d{1,3}(?:\.\d{3})+,\d{2})"
    # "3万5千", "3万5", "1亿2千万": digits with Chinese units, as typed on a phone
    rf"|(?P<mixed>\d+[十百千万亿](?:[0-9{ZH_NUMERAL_CHARS}])+)"
    r"|(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    rf"|(?P<zh>[{ZH_NUMERAL_CHARS}]+)"
)
_AMOUNT = re.compile(
    rf"(?P<pre>{_CUR})?\s*(?:{_NUMBER})\s*(?P<mul>[kKmM](?![A-Za-z])|千|百万|万|亿)?"
    rf"\s*(?P<post>{_CUR})?(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_AMOUNT_CUE = re.compile(
    r"(?:budget|price|quote|worth|value|deal|预算|报价|金额|价格|合同额)\s*(?:of|is|:|是|为|约)?\s*$",
    re.IGNORECASE,
)


_LARGE_UNIT = re.compile("[千万亿]")


def _amount_value(m: re.Match[str]) -> Decimal | None:
    if m["eu"]:
        raw: Decimal | None = Decimal(m["eu"].replace(".", "").replace(",", "."))
    elif m["num"]:
        raw = Decimal(m["num"].replace(",", ""))
    else:
        raw = zh_to_number(m["mixed"] or m["zh"])
    if raw is None:
        return None
    if m["mul"]:
        raw *= _MULTIPLIERS[m["mul"].lower()]
    return raw


def _money(m: re.Match[str], default_currency: str) -> Money | ParseError:
    pre, post = m["pre"], m["post"]
    codes = {_CURRENCY_WORDS[c.upper() if c.isascii() else c] for c in (pre, post) if c}
    if len(codes) > 1:
        return ParseError("parse.amount.invalid")
    value = _amount_value(m)
    if value is None:
        return ParseError("parse.amount.invalid")
    if value <= 0:
        return ParseError("parse.amount.not_positive")
    if value > MAX_AMOUNT:
        return ParseError("parse.amount.too_large", {"max": f"{MAX_AMOUNT:,.0f}"})
    currency = codes.pop() if codes else default_currency.upper()
    return Money(value.quantize(_CENT, rounding=ROUND_HALF_UP), currency)


def parse_amount(text: str, *, default_currency: str) -> Money | ParseError:
    cleaned = _nfkc(text)
    if not cleaned:
        return ParseError("parse.amount.empty")
    if cleaned.startswith("-") or cleaned.startswith("负"):
        return ParseError("parse.amount.not_positive")
    m = _AMOUNT.fullmatch(cleaned) if len(cleaned) <= 40 else None
    if m is None:
        return ParseError("parse.amount.invalid")
    return _money(m, default_currency)


def extract_amounts(text: str, *, default_currency: str) -> list[tuple[tuple[int, int], Money]]:
    """Money in a quick-entry message: needs a currency, a k/千/万 multiplier or a cue word.

    "wants 50 units" is a quantity, not money; "budget 50k", "预算5万", "五万", "3万5千",
    "$3,500" are money.
    """
    found: list[tuple[tuple[int, int], Money]] = []
    for m in _AMOUNT.finditer(text):
        number = m["num"] or m["eu"] or m["mixed"] or m["zh"]
        if not m.group().strip() or not number:
            continue
        start = m.start()
        while text[start].isspace():
            start += 1
        if start > 0 and (text[start - 1].isalnum() and text[start - 1].isascii()):
            continue
        cued = bool(_AMOUNT_CUE.search(text[max(0, start - 20) : start]))
        scaled = m["mul"] or _LARGE_UNIT.search(m["mixed"] or m["zh"] or "")
        if not (m["pre"] or m["post"] or scaled or cued):
            continue
        money = _money(m, default_currency)
        if isinstance(money, Money):
            end = m.end()
            while end > start and text[end - 1].isspace():
                end -= 1
            found.append(((start, end), money))
    return found


def _plain_number(text: str) -> Decimal | None:
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        try:
            return Decimal(text)
        except InvalidOperation:
            return None
    return zh_to_number(text) if len(text) <= 12 else None


def parse_probability(text: str) -> int | ParseError:
    """Win probability in percent: "60", "60%", "百分之六十", "六成"."""
    cleaned = _nfkc(text).replace(" ", "")
    if not cleaned:
        return ParseError("parse.probability.empty")
    if m := re.fullmatch(r"(.+)成", cleaned):
        value = _plain_number(m[1])
        value = None if value is None or value > 10 else value * 10
    else:
        value = _plain_number(re.sub(r"^百分之|%$", "", cleaned))
    if value is None or value != value.to_integral_value():
        return ParseError("parse.probability.invalid")
    if not 0 <= value <= 100:
        return ParseError("parse.probability.out_of_range")
    return int(value)


def parse_quantity(text: str) -> Decimal | ParseError:
    """A count or amount of goods: "50", "50 units", "2.5 tons", "五十台"."""
    cleaned = _nfkc(text)
    m = re.fullmatch(
        r"([0-9.]+|[零〇一二两三四五六七八九十百千万]+)\s*([A-Za-z]+|[^\x00-\x7f]{1,2})?", cleaned
    )
    value = _plain_number(m[1]) if m and len(cleaned) <= 40 else None
    if value is None:
        return ParseError("parse.quantity.invalid")
    if value <= 0:
        return ParseError("parse.quantity.not_positive")
    if value > MAX_QUANTITY:
        return ParseError("parse.quantity.too_large", {"max": f"{MAX_QUANTITY:,.0f}"})
    return value


# --- birthdays ----------------------------------------------------------------------------

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS |= {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
_MONTHS["sept"] = 9
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_N = rf"[0-9{ZH_NUMERAL_CHARS}]{{1,4}}"
_BIRTHDAY_FORMATS = (
    re.compile(r"(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})"),
    re.compile(r"(?P<m>\d{1,2})-(?P<d>\d{1,2})"),
    re.compile(rf"(?:(?P<y>\d{{4}})年)?(?P<m>{_N})月(?P<d>{_N})[日号]?"),
    re.compile(rf"(?P<mn>{_MONTH_RE})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<y>\d{{4}}))?"),
    re.compile(rf"(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mn>{_MONTH_RE})\.?(?:,?\s+(?P<y>\d{{4}}))?"),
)  # fmt: skip


def parse_birthday(text: str, *, today: date) -> Birthday | ParseError:
    """A birthday with or without the year; 29 Feb is fine without a year or in a leap year."""
    cleaned = _nfkc(text).lower()
    if not cleaned:
        return ParseError("parse.birthday.empty")
    m = next((m for f in _BIRTHDAY_FORMATS if (m := f.fullmatch(cleaned))), None)
    if m is None or len(cleaned) > 40:
        return ParseError("parse.birthday.invalid")
    parts = m.groupdict()
    month_num = _MONTHS[parts["mn"]] if parts.get("mn") else zh_to_number(parts["m"])
    day_num = zh_to_number(parts["d"])
    year = int(parts["y"]) if parts.get("y") else None
    if month_num is None or day_num is None:
        return ParseError("parse.birthday.invalid")
    try:
        born = date(year or 2000, int(month_num), int(day_num))  # 2000 is a leap year
    except ValueError:
        return ParseError("parse.birthday.invalid")
    if year is not None:
        if born > today:
            return ParseError("parse.birthday.in_future")
        if today.year - year > 120:
            return ParseError("parse.birthday.too_old")
    return Birthday(month=born.month, day=born.day, year=year)
