"""Reading uploaded spreadsheets: encodings, delimiters, XLSX cell types, and what is refused."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from openpyxl import Workbook

from storage.import_files import UnreadableFile, read_sheet

ROWS = [
    ["姓名", "电话", "备注"],
    ["张伟", "13800138000", "要报价, 尽快"],
    ["Ada", "+1 650 253 0000", ""],
]


def csv_text(delimiter: str = ",") -> str:
    lines = []
    for row in ROWS:
        cells = [f'"{c}"' if delimiter in c or "," in c else c for c in row]
        lines.append(delimiter.join(cells))
    return "\r\n".join(lines) + "\r\n"


@pytest.mark.parametrize(
    ("content", "encoding"),
    [
        (csv_text().encode("utf-8"), "utf-8"),
        (csv_text().encode("utf-8-sig"), "utf-8-sig"),
        (csv_text().encode("gbk"), "gb18030"),
        (csv_text().encode("gb18030"), "gb18030"),
    ],
    ids=["utf-8", "utf-8-bom", "gbk", "gb18030"],
)
def test_read_sheet_decodes_each_encoding(content: bytes, encoding: str) -> None:
    table = read_sheet(content, "customers.csv", max_rows=10)
    assert table.headers == ROWS[0]
    assert table.rows == ROWS[1:]
    assert table.encoding == encoding
    assert table.delimiter == ","


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_read_sheet_detects_the_delimiter(delimiter: str) -> None:
    table = read_sheet(csv_text(delimiter).encode(), "c.csv", max_rows=10)
    assert table.delimiter == delimiter
    assert table.rows[0] == ["张伟", "13800138000", "要报价, 尽快"]


def test_read_sheet_strips_cells_pads_short_rows_and_drops_trailing_empty_rows() -> None:
    content = b"Name , Phone\n  Ada  ,1\nBob\n,\n\n ,  \n"
    table = read_sheet(content, "c.csv", max_rows=10)
    assert table.headers == ["Name", "Phone"]
    assert table.rows == [["Ada", "1"], ["Bob", ""]]


def test_read_sheet_keeps_empty_rows_inside_the_data_so_numbers_match_the_file() -> None:
    table = read_sheet(b"Name\nAda\n\nBob\n", "c.csv", max_rows=10)
    assert table.rows == [["Ada"], [""], ["Bob"]]


def xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_read_sheet_reads_xlsx_dates_and_numbers_as_text() -> None:
    # Spreadsheet dates carry no timezone: naive datetimes are what openpyxl reads back.
    content = xlsx(
        [
            ["姓名", "手机", "生日", "金额", "时间"],
            ["张伟", 13800138000.0, datetime(1990, 3, 4), 12.5, datetime(2025, 1, 2, 9, 30)],  # noqa: DTZ001
            ["李娜", 13900139000, date(1985, 12, 25), None, None],
            [None, None, None, None, None],
        ]
    )
    table = read_sheet(content, "book.xlsx", max_rows=10)
    assert table.headers == ["姓名", "手机", "生日", "金额", "时间"]
    assert table.rows == [
        ["张伟", "13800138000", "1990-03-04", "12.5", "2025-01-02 09:30"],
        ["李娜", "13900139000", "1985-12-25", "", ""],
    ]
    assert table.encoding is None
    assert table.delimiter is None


@pytest.mark.parametrize(
    ("content", "name", "code"),
    [
        (b"", "a.csv", "empty"),
        (b" \n\n", "a.csv", "empty"),
        (b"Name,Phone\n", "a.csv", "empty"),
        (b"\x00\x01\x02binary\x00", "a.csv", "not_a_table"),
        (b"PK\x03\x04 not really a zip", "a.xlsx", "not_a_table"),
        (b"name\n\x80\x80abc\n", "a.csv", "bad_encoding"),
        (b"Name\nA\nB\nC\n", "a.csv", "too_many_rows"),
    ],
)
def test_read_sheet_refuses_with_a_code(content: bytes, name: str, code: str) -> None:
    with pytest.raises(UnreadableFile) as caught:
        read_sheet(content, name, max_rows=2)
    assert caught.value.code == code


def test_read_sheet_counts_only_real_rows_against_the_limit() -> None:
    table = read_sheet(b"Name\nA\nB\n\n\n\n", "a.csv", max_rows=2)
    assert len(table.rows) == 2


def test_read_sheet_refuses_too_many_xlsx_rows() -> None:
    content = xlsx([["Name"], ["A"], ["B"], ["C"]])
    with pytest.raises(UnreadableFile) as caught:
        read_sheet(content, "a.xlsx", max_rows=2)
    assert caught.value.code == "too_many_rows"
