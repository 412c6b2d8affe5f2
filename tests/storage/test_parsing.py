from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from storage.parsing import (
    MAX_LENGTHS,
    MAX_RECORD_ID,
    Birthday,
    Money,
    ParseError,
    extract_amounts,
    extract_emails,
    extract_phones,
    parse_amount,
    parse_birthday,
    parse_email,
    parse_name,
    parse_phone,
    parse_phones,
    parse_probability,
    parse_quantity,
    parse_record_id,
    parse_text,
    read_as_foreign,
)

TODAY = date(2026, 1, 14)


def test_parse_text_collapses_whitespace() -> None:
    assert parse_text("  Li \n  Wei ", field="name") == "Li Wei"


def test_parse_text_empty_required_is_error() -> None:
    assert parse_text("   ", field="name") == ParseError("parse.text.empty")
    assert parse_text(None, field="name") == ParseError("parse.text.empty")


def test_parse_text_empty_optional_is_empty_string() -> None:
    assert parse_text(None, field="notes", required=False) == ""


def test_parse_text_over_limit_is_error() -> None:
    result = parse_text("x" * 31, field="tag")
    assert result == ParseError("parse.text.too_long", {"max": "30", "length": "31"})
    assert parse_text("x" * 30, field="tag") == "x" * 30


@pytest.mark.parametrize(
    "text", ["张伟", "Zhang Wei", "O'Brien", "李 3", "Ёлка", "さくら", "A1 ✨"]
)
def test_parse_name_accepts_any_script(text: str) -> None:
    assert parse_name(text) == text


@pytest.mark.parametrize("text", ["😀", "123", "!!!", "😀 123 !!", "＿＿", "1.5"])
def test_parse_name_without_a_letter_is_refused(text: str) -> None:
    assert parse_name(text) == ParseError("parse.name.no_letter")


def test_parse_name_empty_and_too_long_keep_their_reasons() -> None:
    assert parse_name("  ") == ParseError("parse.text.empty")
    assert parse_name("x" * 101) == ParseError(
        "parse.text.too_long", {"max": "100", "length": "101"}
    )


def test_max_lengths_documented_fields() -> None:
    assert MAX_LENGTHS["name"] == 100
    assert MAX_LENGTHS["summary"] == MAX_LENGTHS["needs"] == MAX_LENGTHS["reason"] == 4096


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("138 0013 8000", "CN", "+8613800138000"),
        ("138-0013-8000", "CN", "+8613800138000"),
        ("+86 138 0013 8000", "US", "+8613800138000"),
        ("(650) 253-0000", "US", "+16502530000"),
        ("１３８００１３８０００", "CN", "+8613800138000"),
        ("tel:+1-650-253-0000", "CN", "+16502530000"),
        ("010 6552 9988", "CN", "+861065529988"),
    ],
)
def test_parse_phone_accepts(text: str, region: str, expected: str) -> None:
    assert parse_phone(text, region=region) == expected


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("", "parse.phone.empty"),
        ("call me", "parse.phone.not_a_number"),
        ("12", "parse.phone.too_short"),
        ("+86 12", "parse.phone.too_short"),
        ("138 0013", "parse.phone.invalid"),
        ("138 0013 8000 1234 5678", "parse.phone.too_long"),
        ("+999 1234 5678", "parse.phone.invalid_country"),
    ],
)
def test_parse_phone_rejects_with_reason(text: str, key: str) -> None:
    result = parse_phone(text, region="CN")
    assert isinstance(result, ParseError)
    assert result.key == key


def test_parse_phone_us_number_invalid_for_cn() -> None:
    assert parse_phone("(650) 253-0000", region="CN") == ParseError(
        "parse.phone.invalid", {"region": "CN"}
    )


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("(415) 253-0000", "CN", ["+864152530000"]),
        ("4152530000", "CN", ["+864152530000"]),
        ("138 0013 8000, 415 253 0000", "CN", ["+864152530000"]),
        ("0415 253 0000", "CN", []),  # dialled at home with the trunk prefix: Chinese
        ("(0415) 253 0000", "CN", []),
        ("138 0013 8000", "CN", []),  # mobiles have no trunk prefix
        ("+86 415 253 0000", "CN", []),  # "+" says which country
        ("0086 415 253 0000", "CN", []),
        ("(415) 253-0000", "US", []),  # the American way in America
        ("7911 123456", "GB", ["+447911123456"]),
        ("02 9374 4000", "CN", []),  # not valid in China at all: refused by parse_phones
        ("call me", "CN", []),
    ],
)
def test_read_as_foreign_flags_numbers_typed_the_way_another_country_writes_them(
    text: str, region: str, expected: list[str]
) -> None:
    assert read_as_foreign(text, region=region) == expected


def test_parse_phones_splits_and_dedupes() -> None:
    text = "138 0013 8000, +1 650 253 0000、13800138000\n139 0013 9000"
    assert parse_phones(text, region="CN") == ["+8613800138000", "+16502530000", "+8613900139000"]


def test_parse_phones_reports_bad_piece() -> None:
    result = parse_phones("138 0013 8000; 123", region="CN")
    assert isinstance(result, ParseError)
    assert result.params["value"] == "123"


def test_extract_phones_spans() -> None:
    text = "Met Li, mobile 138 0013 8000, office +1 650 253 0000."
    found = extract_phones(text, region="CN")
    assert [e164 for _, e164 in found] == ["+8613800138000", "+16502530000"]
    (start, end), _ = found[0]
    assert text[start:end] == "138 0013 8000"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Li.Wei@Example.COM", "Li.Wei@example.com"),
        ("li＠example.com", "li@example.com"),
        ("mailto:li@example.com ", "li@example.com"),
    ],
)
def test_parse_email_normalises(text: str, expected: str) -> None:
    assert parse_email(text) == expected


@pytest.mark.parametrize(
    "text", ["li@", "li.example.com", "li@@example.com", "li wei@example.com"]
)
def test_parse_email_rejects(text: str) -> None:
    assert parse_email(text) == ParseError("parse.email.invalid")


def test_extract_emails_spans() -> None:
    text = "邮箱：li@example.com，备用 wang@corp.cn."
    found = extract_emails(text)
    assert [email for _, email in found] == ["li@example.com", "wang@corp.cn"]
    assert [text[s:e] for (s, e), _ in found] == ["li@example.com", "wang@corp.cn"]


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("50000", "50000.00", "CNY"),
        ("50k", "50000.00", "CNY"),
        ("50K", "50000.00", "CNY"),
        ("1.5m", "1500000.00", "CNY"),
        ("¥12,000.50", "12000.50", "CNY"),
        ("￥12000", "12000.00", "CNY"),
        ("$3,500", "3500.00", "USD"),
        ("5万", "50000.00", "CNY"),
        ("1.2万元", "12000.00", "CNY"),
        ("3千", "3000.00", "CNY"),
        ("1亿", "100000000.00", "CNY"),
        ("RMB 5000", "5000.00", "CNY"),
        ("5000 USD", "5000.00", "USD"),
        ("€1.234,56", "1234.56", "EUR"),
        ("五万", "50000.00", "CNY"),
        ("两千五百元", "2500.00", "CNY"),
        ("十二万五千", "125000.00", "CNY"),
        ("两千五", "2500.00", "CNY"),
        ("三万五", "35000.00", "CNY"),
        ("3万5千", "35000.00", "CNY"),
        ("3万5", "35000.00", "CNY"),
        ("1.2万", "12000.00", "CNY"),
        ("1亿2千万", "120000000.00", "CNY"),
        ("一万亿", "1000000000000.00", "CNY"),
        ("一百零五万", "1050000.00", "CNY"),
        ("五十万美元", "500000.00", "USD"),
        ("3万5千元", "35000.00", "CNY"),
        ("12.345", "12.35", "CNY"),
    ],
)
def test_parse_amount_accepts(text: str, amount: str, currency: str) -> None:
    assert parse_amount(text, default_currency="CNY") == Money(Decimal(amount), currency)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("", "parse.amount.empty"),
        ("-500", "parse.amount.not_positive"),
        ("0", "parse.amount.not_positive"),
        ("2000000000000", "parse.amount.too_large"),
        ("lots", "parse.amount.invalid"),
        ("$5 EUR", "parse.amount.invalid"),
        ("1,23", "parse.amount.invalid"),
    ],
)
def test_parse_amount_rejects(text: str, key: str) -> None:
    result = parse_amount(text, default_currency="CNY")
    assert isinstance(result, ParseError)
    assert result.key == key


def test_parse_amount_default_currency() -> None:
    assert parse_amount("50k", default_currency="usd") == Money(Decimal("50000.00"), "USD")


def test_extract_amounts_needs_money_cue() -> None:
    text = "wants 50 units, budget 50k, 预算5万, quote $3,500"
    found = extract_amounts(text, default_currency="CNY")
    assert [text[s:e] for (s, e), _ in found] == ["50k", "5万", "$3,500"]
    assert [m.amount for _, m in found] == [Decimal("50000"), Decimal("50000"), Decimal("3500")]


def test_extract_amounts_cue_word_makes_plain_number_money() -> None:
    found = extract_amounts("budget 80000 for Q2", default_currency="CNY")
    assert [m for _, m in found] == [Money(Decimal("80000.00"), "CNY")]


def test_extract_amounts_ignores_units_and_phones() -> None:
    assert extract_amounts("wants 50 units, call 138 0013 8000", default_currency="CNY") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [("60", 60), ("60%", 60), ("６０％", 60), ("六成", 60), ("百分之六十", 60), ("0", 0)],
)
def test_parse_probability_accepts(text: str, expected: int) -> None:
    assert parse_probability(text) == expected


@pytest.mark.parametrize(
    ("text", "key"),
    [("150", "parse.probability.out_of_range"), ("maybe", "parse.probability.invalid")],
)
def test_parse_probability_rejects(text: str, key: str) -> None:
    assert parse_probability(text) == ParseError(key)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("50", "50"), ("50 units", "50"), ("五十", "50"), ("五十台", "50"), ("2.5 tons", "2.5")],
)
def test_parse_quantity_accepts(text: str, expected: str) -> None:
    assert parse_quantity(text) == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "key"),
    [("0", "parse.quantity.not_positive"), ("a few", "parse.quantity.invalid")],
)
def test_parse_quantity_rejects(text: str, key: str) -> None:
    assert parse_quantity(text) == ParseError(key)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3月5日", Birthday(3, 5, None)),
        ("三月五号", Birthday(3, 5, None)),
        ("March 5", Birthday(3, 5, None)),
        ("march 5th", Birthday(3, 5, None)),
        ("5 March", Birthday(3, 5, None)),
        ("Mar 5, 1988", Birthday(3, 5, 1988)),
        ("1988-03-05", Birthday(3, 5, 1988)),
        ("1988/3/5", Birthday(3, 5, 1988)),
        ("1988年3月5日", Birthday(3, 5, 1988)),
        ("03-05", Birthday(3, 5, None)),
        ("2月29日", Birthday(2, 29, None)),
        ("2000-02-29", Birthday(2, 29, 2000)),
    ],
)
def test_parse_birthday_accepts(text: str, expected: Birthday) -> None:
    assert parse_birthday(text, today=TODAY) == expected


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("1999-02-29", "parse.birthday.invalid"),
        ("13月5日", "parse.birthday.invalid"),
        ("2027-01-01", "parse.birthday.in_future"),
        ("1890-01-01", "parse.birthday.too_old"),
        ("soon", "parse.birthday.invalid"),
        ("", "parse.birthday.empty"),
    ],
)
def test_parse_birthday_rejects(text: str, key: str) -> None:
    assert parse_birthday(text, today=TODAY) == ParseError(key)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("42", 42), ("#42", 42), (" 7 ", 7), ("0", 0), (str(MAX_RECORD_ID), MAX_RECORD_ID)],
)
def test_parse_record_id_reads_ids_as_typed(text: str, expected: int) -> None:
    assert parse_record_id(text) == expected


@pytest.mark.parametrize(
    "text", ["", "#", "-1", "+1", "1.5", "abc", "²", "٣", "1 2", str(MAX_RECORD_ID + 1), "9" * 18]
)
def test_parse_record_id_refuses_what_names_no_record(text: str) -> None:
    assert parse_record_id(text) is None
