"""Export files: formula injection defused in CSV (an apostrophe) and XLSX (text cells), BOM,
Chinese round trips, cells."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from handlers.export_files import render_csv, render_xlsx

SHANGHAI = ZoneInfo("Asia/Shanghai")
COLUMNS = ("name", "phones", "tags", "amount", "created_at", "purchased_on")
HEADERS = ["Name", "Phones", "Tags", "Amount", "Created", "Purchase date"]
DANGEROUS = ["=1+1", "+86 cmd", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def read_csv(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def read_xlsx(content: bytes) -> list[list[str]]:
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    return [
        ["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)
    ]


def row(name: object) -> tuple[object, ...]:
    return (name, [], [], None, None, None)


@pytest.mark.parametrize("text", DANGEROUS)
def test_csv_defuses_formula_start(text: str) -> None:
    rows = read_csv(render_csv(COLUMNS, HEADERS, [row(text)], tz=SHANGHAI))
    assert rows[1][0] == "'" + text


@pytest.mark.parametrize("text", ["=1+1", "+86 cmd", "-2+3", "@SUM(A1)"])
def test_xlsx_writes_formula_starts_as_text_without_an_apostrophe(text: str) -> None:
    content = render_xlsx(COLUMNS, HEADERS, [row(text)], tz=SHANGHAI)
    cell = load_workbook(io.BytesIO(content)).active["A2"]  # type: ignore[index]
    assert (cell.value, cell.data_type) == (text, "s")
    with zipfile.ZipFile(io.BytesIO(content)) as workbook:
        sheet = workbook.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet  # a string cell, never a formula Excel would run


@pytest.mark.parametrize("text", ['=HYPERLINK("x")', "@cmd"])
def test_csv_defuses_joined_lists(text: str) -> None:
    rows = read_csv(
        render_csv(COLUMNS, HEADERS, [("a", [], [text, "b"], None, None, None)], tz=SHANGHAI)
    )
    assert rows[1][2] == f"'{text}, b"


def test_csv_keeps_safe_text_unchanged() -> None:
    rows = read_csv(render_csv(COLUMNS, HEADERS, [row("Acme = good")], tz=SHANGHAI))
    assert rows[1][0] == "Acme = good"


def test_csv_starts_with_bom() -> None:
    assert render_csv(COLUMNS, HEADERS, [], tz=SHANGHAI).startswith(b"\xef\xbb\xbf")


def test_csv_round_trips_chinese() -> None:
    content = render_csv(
        COLUMNS,
        ["姓名", "电话", "标签", "金额", "创建时间", "购买日期"],
        [row("张伟")],
        tz=SHANGHAI,
    )
    assert read_csv(content)[0][0] == "姓名"
    assert read_csv(content)[1][0] == "张伟"


def test_xlsx_round_trips_chinese() -> None:
    content = render_xlsx(
        COLUMNS,
        ["姓名", "电话", "标签", "金额", "创建时间", "购买日期"],
        [row("张伟")],
        tz=SHANGHAI,
    )
    assert read_xlsx(content)[0][0] == "姓名"
    assert read_xlsx(content)[1][0] == "张伟"


def test_cells_are_shown_as_a_person_reads_them() -> None:
    record = (
        "Li",
        ["+8613800138000", "+8613900139000"],
        ["vip", "北京"],
        Decimal("12000.50"),
        datetime(2026, 1, 14, 16, 30, tzinfo=UTC),
        date(2026, 1, 15),
    )
    expected = [
        "Li",
        "+8613800138000; +8613900139000",
        "vip, 北京",
        "12000.50",
        "2026-01-15 00:30",
        "2026-01-15",
    ]
    assert read_xlsx(render_xlsx(COLUMNS, HEADERS, [record], tz=SHANGHAI))[1] == expected
    # "+" is guarded in a CSV (Excel would make it a number); an XLSX cell is typed as text.
    expected[1] = "'" + expected[1]
    assert read_csv(render_csv(COLUMNS, HEADERS, [record], tz=SHANGHAI))[1] == expected


def test_whole_amounts_drop_trailing_zeros() -> None:
    record = ("Li", [], [], Decimal("100.00"), None, None)
    assert read_csv(render_csv(COLUMNS, HEADERS, [record], tz=SHANGHAI))[1][3] == "100"
