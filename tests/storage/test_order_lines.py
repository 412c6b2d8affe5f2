"""Order lines typed in one message, and currencies typed by code, name or sign."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.order_lines import ParsedLine, parse_currency, parse_order_lines
from storage.parsing import ParseError

D = Decimal


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        (
            "50 x X2 @ 1200, 10 x cable @ 30",
            [ParsedLine("X2", D(50), D(1200)), ParsedLine("cable", D(10), D(30))],
        ),
        ("50个X2 单价1200", [ParsedLine("X2", D(50), D(1200))]),
        ("X2 50台 1200元", [ParsedLine("X2", D(50), D(1200), "CNY")]),
        ("X2 x 50 @ ¥1,200", [ParsedLine("X2", D(50), D(1200), "CNY")]),
        ("3 × Pallet jack @ $99.50", [ParsedLine("Pallet jack", D(3), D("99.50"), "USD")]),
        (
            "2 x desk @ 1,200.50\n5 x chair",
            [ParsedLine("desk", D(2), D("1200.50")), ParsedLine("chair", D(5))],
        ),
        ("cable", [ParsedLine("cable")]),
        ("X2 @ 800", [ParsedLine("X2", D(1), D(800))]),
        (
            "五十台 X2；电缆 10条 单价30",
            [ParsedLine("X2", D(50)), ParsedLine("电缆", D(10), D(30))],
        ),
        ("2.5 x steel @ 4k", [ParsedLine("steel", D("2.5"), D(4000))]),
    ],
)
def test_lines_are_read(text: str, lines: list[ParsedLine]) -> None:
    assert parse_order_lines(text) == lines


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("0 x X2 @ 1200", "parse.quantity.not_positive"),
        ("50 x @ 1200", "parse.order_line.invalid"),
        ("50 x X2 @ lots", "parse.order_line.invalid"),
        ("  ,  ", "parse.order_line.empty"),
        ("1 x a @ $5, 2 x b @ ¥6", "parse.order_line.mixed_currencies"),
        (", ".join(["a"] * 51), "parse.order_line.too_many"),
    ],
)
def test_unreadable_lines_say_why(text: str, key: str) -> None:
    result = parse_order_lines(text)
    assert isinstance(result, ParseError)
    assert result.key == key


def test_unreadable_line_is_named() -> None:
    result = parse_order_lines("1 x desk @ 5, 50 x @ 1200")
    assert result == ParseError("parse.order_line.invalid", {"line": "50 x @ 1200"})


@given(st.text(max_size=300))
def test_any_text_gives_lines_or_an_error(text: str) -> None:
    result = parse_order_lines(text)
    assert isinstance(result, ParseError | list)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("usd", "USD"),
        ("CNY", "CNY"),
        ("美元", "USD"),
        ("¥", "CNY"),
        (" eur ", "EUR"),
        ("人民币", "CNY"),
    ],
)
def test_currency_is_read_by_code_name_or_sign(text: str, code: str) -> None:
    assert parse_currency(text) == code


@pytest.mark.parametrize("text", ["ABC", "dollars", "", "12"])
def test_unknown_currency_is_refused(text: str) -> None:
    result = parse_currency(text)
    assert isinstance(result, ParseError)
    assert result.key == "parse.currency.unknown"
