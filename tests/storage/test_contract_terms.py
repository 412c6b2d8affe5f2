"""Contract terms typed as a duration: what is read, what is refused, where a term ends."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.contract_terms import Term, parse_term, term_end
from storage.parsing import ParseError


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("1年", Term(months=12)),
        ("两年", Term(months=24)),
        ("1年期", Term(months=12)),
        ("十二个月", Term(months=12)),
        ("18个月", Term(months=18)),
        ("12 months", Term(months=12)),
        ("2 years", Term(months=24)),
        ("1 Year", Term(months=12)),
        ("6 mo", Term(months=6)),
        ("90 days", Term(days=90)),
        ("90天", Term(days=90)),
    ],
)
def test_durations_are_read(text: str, term: Term) -> None:
    assert parse_term(text) == term


@pytest.mark.parametrize(
    "text", ["2027-12-31", "next year", "tomorrow", "年", "1.5 years", "¹ year", "٣ years"]
)
def test_other_text_is_no_duration(text: str) -> None:
    assert parse_term(text) is None


@pytest.mark.parametrize("text", ["0 months", "31 years", "400个月"])
def test_durations_of_nothing_or_beyond_thirty_years_are_refused(text: str) -> None:
    assert parse_term(text) == ParseError("parse.term.out_of_range")


@pytest.mark.parametrize(
    ("start", "term", "end"),
    [
        (date(2027, 1, 1), Term(months=12), date(2027, 12, 31)),
        (date(2028, 1, 1), Term(months=12), date(2028, 12, 31)),  # a leap year
        (date(2027, 1, 31), Term(months=1), date(2027, 2, 28)),
        (date(2027, 3, 15), Term(months=24), date(2029, 3, 14)),
        (date(2027, 1, 1), Term(days=90), date(2027, 3, 31)),
    ],
)
def test_a_term_ends_the_day_before_it_would_start_again(
    start: date, term: Term, end: date
) -> None:
    assert term_end(start, term) == end


@given(st.text(max_size=40))
def test_any_text_is_a_term_nothing_or_a_clear_error(text: str) -> None:
    assert isinstance(parse_term(text), Term | ParseError | None)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)), st.integers(1, 360))
def test_a_term_of_months_ends_after_it_starts(start: date, months: int) -> None:
    assert term_end(start, Term(months=months)) >= start
