"""Import texts: every code storage can produce has words in both languages; date readings."""

from __future__ import annotations

from datetime import date

import pytest

from handlers.i18n import LANGUAGES, Catalogs
from handlers.imports.views import MODES, _date_readings, number, short
from storage.imports import REASONS, ImportNotReady
from storage.imports.files import CAPPED, UnreadableFile
from storage.imports.mapping import TARGETS


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_rejection_reason_has_text(catalogs: Catalogs, language: str) -> None:
    messages = catalogs.messages[language]
    assert REASONS
    assert [code for code in REASONS if not messages.get(f"import.reason.{code}")] == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_target_and_mode_has_a_label(catalogs: Catalogs, language: str) -> None:
    messages = catalogs.messages[language]
    keys = [f"import.target.{t}" for t in TARGETS] + [f"import.mode.{m.value}" for m in MODES]
    assert [key for key in keys if not messages.get(key)] == []


@pytest.mark.parametrize("code", ["empty", "no_sheet", "not_a_table", "bad_encoding", *CAPPED])
def test_every_unreadable_file_code_has_text(catalogs: Catalogs, code: str) -> None:
    assert UnreadableFile(code).code == code
    for language in LANGUAGES:
        text = catalogs.messages[language].get(f"import.unreadable.{code}")
        assert text
        if code in CAPPED:  # the member is told the cap
            assert "{rows}" in text if code == "too_many_rows" else "{limit}" in text


def test_not_ready_codes_the_chat_handles_exist() -> None:
    assert ImportNotReady("no_name_column").code == "no_name_column"


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("03/04/2025", (date(2025, 4, 3), date(2025, 3, 4))),
        ("3.4.2025", (date(2025, 4, 3), date(2025, 3, 4))),
        ("13/04/2025", None),  # only one reading is a date: nothing to ask
        ("2025-03-04", None),
        ("", None),
    ],
)
def test_date_readings_give_day_first_then_month_first(
    sample: str, expected: tuple[date, date] | None
) -> None:
    assert _date_readings(sample) == expected


def test_numbers_and_short_texts_read_well_on_a_phone() -> None:
    assert number(12000, "en") == "12,000"
    assert number(12000, "zh") == "12,000"
    assert short("a  very\nlong header name", 10) == "a very lo…"
    assert short("short", 10) == "short"
