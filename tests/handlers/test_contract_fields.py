"""The contract flow's parsers: an end date or a duration, the notice, the number; any text
gives a value or a clear error, never an exception."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers import contract_fields as cf
from handlers.flows.flow import Env
from storage.parsing import ParseError

ENV = Env(
    region="CN",
    currency="CNY",
    tz=ZoneInfo("Asia/Shanghai"),
    now=datetime(2026, 12, 7, 2, 0, tzinfo=UTC),
    language="en",
    stages=("lead", "won", "lost"),
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1年", {"months": 12, "days": 0}),
        ("两年", {"months": 24, "days": 0}),
        ("12 months", {"months": 12, "days": 0}),
        ("90 days", {"months": 0, "days": 90}),
        ("2027-12-31", "2027-12-31"),
        ("2025-01-31", "2025-01-31"),  # an end in the past: a contract entered late
    ],
)
def test_end_is_a_date_or_a_duration(text: str, value: object) -> None:
    assert cf.end(text, ENV) == value


@pytest.mark.parametrize(("text", "days"), [("30", 30), ("0", 0), ("45 days", 45), ("60天", 60)])
def test_notice_is_a_number_of_days(text: str, days: int) -> None:
    assert cf.notice_days(text, ENV) == days


@pytest.mark.parametrize("text", ["-1", "367", "a month", "", "¹", "٣٠"])
def test_notice_outside_a_year_or_not_a_number_is_refused(text: str) -> None:
    assert cf.notice_days(text, ENV) == ParseError("contract.notice_invalid", {"max": "366"})


def test_number_longer_than_the_column_is_refused() -> None:
    refused = cf.number("H" * 65, ENV)
    assert isinstance(refused, ParseError)
    assert refused.key == "parse.text.too_long"
    assert cf.number(" HT-2026-0001 ", ENV) == "HT-2026-0001"


@settings(deadline=None)  # dateparser reads a date in a few ms, more on a loaded machine
@given(st.text(max_size=60))
def test_any_text_is_a_value_or_an_error(text: str) -> None:
    for parse in (cf.end, cf.notice_days, cf.number, cf.any_day):
        parse(text, ENV)
