"""Reading uploaded spreadsheets: encodings, delimiters, XLSX cell types, what is refused,
and hostile files (caps, a lying XLSX `<dimension>`, malformed files)."""

from __future__ import annotations

import io
import time
import zipfile
from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from storage.imports import files as import_files
from storage.imports.files import MAX_CELL_CHARS, MAX_COLUMNS, UnreadableFile, read_sheet
from tests.storage.hostile_files import (
    HUGE_DIMENSION,
    LONG_FIELD_CSV,
    SMALL_DIMENSION,
    SMALL_DIMENSION_ROWS,
    WIDE_CSV,
    forged_xlsx,
)

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


# --- hostile files: caps, a lying <dimension>, malformed files -----------------------------


def test_read_sheet_ignores_a_declared_dimension_far_beyond_the_cells() -> None:
    started = time.monotonic()
    table = read_sheet(HUGE_DIMENSION, "h.xlsx", max_rows=200_000)
    assert time.monotonic() - started < 2  # padded to A1:XFD20000 it took ~26 s
    assert table.headers == ["Name", "Phone"]
    assert table.rows == [["Zhang Wei", "13800138000"]]


def test_read_sheet_reads_cells_outside_a_declared_dimension() -> None:
    table = read_sheet(SMALL_DIMENSION, "s.xlsx", max_rows=100)
    assert table.headers == SMALL_DIMENSION_ROWS[0]
    assert table.rows == SMALL_DIMENSION_ROWS[1:]


def test_read_sheet_does_not_count_trailing_empty_cells_and_rows() -> None:
    cells = {"A1": "Name", "A2": "Ada", "XFD2": " ", "GS3": "", "B1048576": "  "}
    content = forged_xlsx(cells, dimension="A1:XFD1048576", empty_rows=(999_999_999,))
    started = time.monotonic()
    table = read_sheet(content, "t.xlsx", max_rows=2)
    assert time.monotonic() - started < 2
    assert (table.headers, table.rows) == (["Name"], [["Ada"]])
    wide = b"Name" + b"," * 100_000 + b"\nAda" + b"," * 100_000 + b"\n" + b",\n" * 10
    assert read_sheet(wide, "t.csv", max_rows=1).rows == [["Ada"]]


def test_read_sheet_keeps_the_rows_a_sheet_skips_and_counts_them() -> None:
    content = forged_xlsx({"A1": "Name", "A2": "Ada", "A5": "Bob"})
    assert read_sheet(content, "g.xlsx", max_rows=4).rows == [["Ada"], [""], [""], ["Bob"]]
    far = forged_xlsx({"A1": "Name", "A2": "Ada", "A999999999": "Bob"})
    with pytest.raises(UnreadableFile) as caught:
        read_sheet(far, "g.xlsx", max_rows=200_000)
    assert (caught.value.code, caught.value.limit) == ("too_many_rows", 200_000)


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (forged_xlsx({"A1": "Name", "A2": "Ada", "GS2": "x"}), "c.xlsx"),  # column 201
        (WIDE_CSV, "c.csv"),
        (b"Name\n" + b"x," * 100_000 + b"\n", "c.csv"),
    ],
    ids=["xlsx", "csv-header", "csv-row"],
)
def test_read_sheet_refuses_too_many_columns(content: bytes, name: str) -> None:
    with pytest.raises(UnreadableFile) as caught:
        read_sheet(content, name, max_rows=10)
    assert (caught.value.code, caught.value.limit) == ("too_many_columns", MAX_COLUMNS)


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (LONG_FIELD_CSV, "l.csv"),
        (b'Name,Notes\nZhang Wei,"' + b"x" * 200_000 + b'"\n', "l.csv"),
        (b"x" * 200_000 + b"\n", "l.csv"),
        (forged_xlsx({"A1": "Name", "A2": "x" * 200_000}), "l.xlsx"),
    ],
    ids=["csv", "csv-quoted", "csv-one-field", "xlsx"],
)
def test_read_sheet_refuses_a_cell_too_long(content: bytes, name: str) -> None:
    with pytest.raises(UnreadableFile) as caught:
        read_sheet(content, name, max_rows=10)
    assert (caught.value.code, caught.value.limit) == ("cell_too_long", MAX_CELL_CHARS)


def test_read_sheet_refuses_too_many_filled_cells(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(import_files, "MAX_CELLS", 5)
    assert read_sheet(b"Name,Phone\nA,1\nB\n\n,,,,\n", "c.csv", max_rows=10).rows
    with pytest.raises(UnreadableFile) as caught:
        read_sheet(b"Name,Phone\nA,1\nB,2\n", "c.csv", max_rows=10)
    assert (caught.value.code, caught.value.limit) == ("too_many_cells", 5)


def test_read_sheet_refuses_too_much_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(import_files, "MAX_TEXT_CHARS", 10)
    with pytest.raises(UnreadableFile) as caught:
        read_sheet(forged_xlsx({"A1": "Name", "A2": "Zhang Wei"}), "t.xlsx", max_rows=10)
    assert (caught.value.code, caught.value.limit) == ("too_much_text", 10)


def test_read_sheet_refuses_an_xlsx_too_big_once_unpacked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(import_files, "MAX_UNPACKED_MB", 1)
    bomb = forged_xlsx({"A1": "Name", "A2": "Ada"}, padding=2 * 1024 * 1024)
    assert len(bomb) < 20_000
    with pytest.raises(UnreadableFile) as caught:
        read_sheet(bomb, "b.xlsx", max_rows=10)
    assert (caught.value.code, caught.value.limit) == ("too_big_unpacked", 1)


def _zip(parts: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "name", "code"),
    [
        (bytes(range(256)) * 40, "garbage.csv", "not_a_table"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(32)) * 50, "photo.csv", "not_a_table"),
        (_zip({"notes.txt": b"hello"}), "archive.xlsx", "not_a_table"),
        (_zip({"notes.txt": b"hello"}), "archive.csv", "not_a_table"),
        (forged_xlsx({}, sheets=False), "none.xlsx", "no_sheet"),
        (forged_xlsx({}), "blank.xlsx", "empty"),
        (forged_xlsx({"A1": "Name"})[:-40], "cut.xlsx", "not_a_table"),
        (b"", "empty.csv", "empty"),
    ],
    ids=["binary", "png", "zip", "zip-as-csv", "no-sheet", "no-cells", "truncated", "empty"],
)
def test_read_sheet_names_what_is_wrong_with_a_malformed_file(
    content: bytes, name: str, code: str
) -> None:
    with pytest.raises(UnreadableFile) as caught:
        read_sheet(content, name, max_rows=10)
    assert caught.value.code == code


def test_read_sheet_refuses_broken_sheet_xml() -> None:
    content = forged_xlsx({"A1": "Name", "A2": "Ada"})
    broken = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(broken, "w") as target:
        for part in source.infolist():
            data = source.read(part)
            if part.filename.endswith("sheet1.xml"):
                data = data.replace(b"</sheetData>", b"<row r='x'><c r='??'>")
            target.writestr(part.filename, data)
    with pytest.raises(UnreadableFile) as caught:
        read_sheet(broken.getvalue(), "b.xlsx", max_rows=10)
    assert caught.value.code == "not_a_table"


@settings(max_examples=200, deadline=None)
@given(content=st.binary(max_size=2000), name=st.sampled_from(["a.csv", "a.xlsx"]))
def test_read_sheet_gives_a_table_or_a_reason_for_any_bytes(content: bytes, name: str) -> None:
    try:
        table = read_sheet(content, name, max_rows=50)
    except UnreadableFile:
        return  # a reason, not a crash: the chat has a text for each code (test_import_views)
    assert all(len(row) == len(table.headers) for row in table.rows)
