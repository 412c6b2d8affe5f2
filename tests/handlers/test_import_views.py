"""Import texts: every code storage can produce has words in both languages; date readings."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from handlers.i18n import LANGUAGES, Catalogs
from handlers.imports.views import (
    MODES,
    _date_readings,
    column_view,
    history_lines,
    number,
    preview_view,
    readable,
    short,
)
from storage.imports import REASONS, ImportNotReady, ImportReview
from storage.imports.files import CAPPED, UnreadableFile
from storage.imports.models import ImportBatch
from storage.imports.order_rows import ALL_TARGETS
from storage.imports.order_rows import REASONS as ORDER_REASONS
from storage.imports.owners import NOT_ALLOWED, NOT_FOUND


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_rejection_reason_has_text(catalogs: Catalogs, language: str) -> None:
    messages = catalogs.messages[language]
    assert REASONS
    codes = (*REASONS, *ORDER_REASONS)
    assert [code for code in codes if not messages.get(f"import.reason.{code}")] == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_target_and_mode_has_a_label(catalogs: Catalogs, language: str) -> None:
    messages = catalogs.messages[language]
    keys = [f"import.target.{t}" for t in ALL_TARGETS] + [f"import.mode.{m.value}" for m in MODES]
    assert [key for key in keys if not messages.get(key)] == []


@pytest.mark.parametrize("code", ["empty", "no_sheet", "not_a_table", "bad_encoding", *CAPPED])
def test_every_unreadable_file_code_has_text(catalogs: Catalogs, code: str) -> None:
    assert UnreadableFile(code).code == code
    for language in LANGUAGES:
        text = catalogs.messages[language].get(f"import.unreadable.{code}")
        assert text
        if code in CAPPED:  # the member is told the cap
            assert "{rows}" in text if code == "too_many_rows" else "{limit}" in text


@pytest.mark.parametrize(
    ("language", "shown"),
    [("en", ["CNY ¥", "Japanese Yen", "Cancelled"]), ("zh", ["人民币", "日元", "已取消"])],
)
def test_an_orders_currency_and_status_read_as_the_chat_shows_them(
    catalogs: Catalogs, language: str, shown: list[str]
) -> None:
    t = catalogs.translator(language)
    values = [("currency", "CNY"), ("currency", "JPY"), ("status", "cancelled")]
    assert [readable(target, value, "CN", t) for target, value in values] == shown


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


def counted_review(batch: ImportBatch, columns: dict[str, str | None], **kw: Any) -> ImportReview:
    """A review of `columns` (header -> target) with nothing found, but what `kw` says."""
    counts = dict.fromkeys(("duplicates_in_db", "duplicates_in_file", "already_imported"), 0)
    return ImportReview(
        batch=batch,
        headers=list(columns),
        targets=list(columns.values()),
        samples=[""] * len(columns),
        undecided_date_columns=[],
        preview=[],
        **(counts | {"rejected": 0} | kw),
    )


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            [
                "",
                "📝 To each customer's note (no field for them): Lead Status, 部门",
                "👤 1 row: owner “Olga” is not yours to assign, yours",
                "👤 12 rows: owner “Zhang Wei” not found, yours",
                "🗓 2 rows: created date unreadable or not in the past, dated today",
            ],
        ),
        (
            "zh",
            [
                "",
                "📝 没有对应字段，放入每位客户的跟进记录：Lead Status, 部门",
                "👤 1 行：您不能分配给“Olga”，归您",
                "👤 12 行：未找到负责人“Zhang Wei”，归您",
                "🗓 2 行：创建时间无法识别或不在过去，按今天记录",
            ],
        ),
    ],
)
def test_the_preview_says_what_happens_to_another_crms_columns(
    catalogs: Catalogs, language: str, expected: list[str]
) -> None:
    found = counted_review(
        ImportBatch(owner_id=1, file_name="x.csv", file_sha256=""),
        {"Name": "name", "Lead Status": None, "部门": None},
        total_rows=20,
        noted_columns=[1, 2],
        owner_problems={("Zhang Wei", NOT_FOUND): 12, ("Olga", NOT_ALLOWED): 1},
        created_unread=2,
    )
    assert history_lines(catalogs.translator(language), found) == expected
    found.noted_columns, found.owner_problems, found.created_unread = [], {}, 0
    assert history_lines(catalogs.translator(language), found) == []


@pytest.mark.parametrize(
    ("language", "ignored"),
    [
        ("en", "Columns not imported (an order has no field for them): Order owner, Region"),
        ("zh", "不导入的列（订单没有对应字段）：Order owner, Region"),
    ],
)
def test_an_orders_file_names_its_ignored_columns_and_offers_no_note(
    catalogs: Catalogs, language: str, ignored: str
) -> None:
    """The notes are a customers file's: an orders file's unmapped columns are named in the
    preview as not imported, and its column has no To the note button; a customers file's
    column keeps it."""
    t = catalogs.translator(language)
    columns = {"Order No.": "number", "Customer": "customer", "Order owner": None, "Region": None}
    settings = {"kind": "orders", "targets": list(columns.values())}
    batch = ImportBatch(id=7, owner_id=1, file_name="x.csv", file_sha256="", settings=settings)
    orders = counted_review(batch, columns, total_rows=2)
    text, keyboard = preview_view(t, orders)
    assert text.splitlines()[-1] == ignored
    assert keyboard is not None
    assert len(keyboard.inline_keyboard) == 2  # Start; Columns and Cancel: no duplicate mode
    to_note = t("import.button.to_note")
    _, keyboard = column_view(t, orders, 2)
    assert keyboard is not None
    labels = [button.text for row in keyboard.inline_keyboard for button in row]
    assert to_note not in labels
    assert t("import.target.contract") in labels
    assert t("import.target.name") not in labels
    orders.batch.settings = {"targets": ["name", None, None, None]}  # a customers file
    _, keyboard = column_view(t, orders, 2)
    assert keyboard is not None
    assert to_note in [button.text for row in keyboard.inline_keyboard for button in row]
