"""Any text gives a value or a ParseError, never an exception (STYLE.md: every parser)."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from storage.dates import When, parse_when, search_when
from storage.parsing import (
    Birthday,
    Money,
    ParseError,
    clean_text,
    extract_amounts,
    extract_emails,
    extract_phones,
    parse_amount,
    parse_birthday,
    parse_email,
    parse_phone,
    parse_phones,
    parse_probability,
    parse_quantity,
    parse_text,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 1, 14, 10, 30, tzinfo=SHANGHAI)

# Mixes the characters the parsers care about with arbitrary unicode.
_ALPHABET = st.sampled_from(
    list("0123456789０１２３４５６７８９ +-.,/:;@＠¥￥$€%kKmM年月日号点半周下上明后天午晚")
    + list("一二两三四五六七八九十百千万亿元成")
)
TEXTS = st.one_of(st.text(max_size=60), st.text(_ALPHABET, max_size=30))
FAST = settings(max_examples=200, deadline=None)

# Bidi_Control in the Unicode character database: marks, embeddings, overrides, isolates.
BIDI_CONTROLS = frozenset(
    [
        "\u061c",
        "\u200e",
        "\u200f",
        *map(chr, range(0x202A, 0x202F)),
        *map(chr, range(0x2066, 0x206A)),
    ]
)
_INVISIBLE = st.sampled_from(
    sorted(
        BIDI_CONTROLS | {chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) == "Cc"}
    )
)
# Ordinary text with control and bidirectional characters mixed in, as pasted or imported.
HOSTILE = st.text(st.one_of(_INVISIBLE, st.characters(), _ALPHABET), max_size=60)


def _unsafe(char: str) -> bool:
    """What no stored text may hold: controls (but tab and line breaks), bidi controls."""
    return char in BIDI_CONTROLS or (unicodedata.category(char) == "Cc" and char not in "\t\n\r")


@FAST
@given(TEXTS)
def test_parse_text_never_raises(text: str) -> None:
    assert isinstance(parse_text(text, field="tag", required=False), str | ParseError)


@FAST
@given(HOSTILE)
def test_clean_text_drops_exactly_the_unsafe_characters(text: str) -> None:
    cleaned = clean_text(text)
    assert cleaned == "".join(c for c in text if not _unsafe(c))
    assert clean_text(cleaned) == cleaned


@FAST
@given(HOSTILE, st.booleans())
def test_parse_text_never_lets_control_or_bidi_characters_through(
    text: str, required: bool
) -> None:
    parsed = parse_text(text, field="summary", required=required)
    assert isinstance(parsed, str | ParseError)
    if isinstance(parsed, str):
        assert not any(_unsafe(c) or c in "\t\n\r" for c in parsed)
        assert parsed or not required  # emptied by the cleaning: a required field asks again


@FAST
@given(HOSTILE)
def test_phone_and_email_parsers_never_raise_on_control_characters(text: str) -> None:
    assert isinstance(parse_phones(text, region="CN"), list | ParseError)
    email = parse_email(text)
    assert isinstance(email, str | ParseError)
    if isinstance(email, str):
        assert not any(_unsafe(c) for c in email)


@FAST
@given(TEXTS)
def test_phone_parsers_never_raise(text: str) -> None:
    assert isinstance(parse_phone(text, region="CN"), str | ParseError)
    assert isinstance(parse_phones(text, region="US"), list | ParseError)
    for (start, end), e164 in extract_phones(text, region="CN"):
        assert 0 <= start < end <= len(text)
        assert e164.startswith("+")


@FAST
@given(TEXTS)
def test_email_parsers_never_raise(text: str) -> None:
    assert isinstance(parse_email(text), str | ParseError)
    for (start, end), _ in extract_emails(text):
        assert 0 <= start < end <= len(text)


@FAST
@given(TEXTS)
def test_amount_parsers_never_raise(text: str) -> None:
    result = parse_amount(text, default_currency="CNY")
    assert isinstance(result, Money | ParseError)
    if isinstance(result, Money):
        assert Decimal(0) < result.amount <= Decimal(10) ** 12
    for (start, end), money in extract_amounts(text, default_currency="CNY"):
        assert 0 <= start < end <= len(text)
        assert money.amount > 0


@FAST
@given(TEXTS)
def test_number_parsers_never_raise(text: str) -> None:
    probability = parse_probability(text)
    assert isinstance(probability, ParseError) or 0 <= probability <= 100
    assert isinstance(parse_quantity(text), Decimal | ParseError)


@FAST
@given(TEXTS)
def test_parse_birthday_never_raises(text: str) -> None:
    assert isinstance(parse_birthday(text, today=date(2026, 1, 14)), Birthday | ParseError)


@FAST
@given(TEXTS, st.sampled_from(["future", "past"]))
def test_date_parsers_never_raise(text: str, prefer: str) -> None:
    assert prefer in ("future", "past")
    result = parse_when(text, now=NOW, tz=SHANGHAI, prefer=prefer)
    assert isinstance(result, When | ParseError)
    found = search_when(text, now=NOW, tz=SHANGHAI, prefer=prefer)
    if found is not None:
        (start, end), _ = found
        assert 0 <= start < end <= len(text)


@FAST
@given(
    st.from_regex(r"[A-Z][0-9]{1,3}[a-z][0-9]", fullmatch=True),
    st.integers(min_value=0, max_value=999),
    st.sampled_from(["in 2 hours", "tomorrow 3pm", "at 16:44", "next tuesday", "明天下午3点"]),
)
def test_search_when_takes_the_date_not_a_code_or_number(
    code: str, number: int, phrase: str
) -> None:
    """ "task Q01x0 client 3 <date>": the code and the number stay in the text."""
    text = f"task {code} client {number} {phrase}"
    found = search_when(text, now=NOW, tz=SHANGHAI)
    assert found is not None
    (start, end), _ = found
    assert text[start:end] == phrase
