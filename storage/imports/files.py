"""Reads an uploaded spreadsheet (CSV or XLSX) into headers and rows of stripped text cells.

CSV comes from Excel in many shapes: UTF-8 with or without a BOM, GBK/GB18030 from a Chinese
Excel's "Save as CSV", and comma, semicolon (European Excel) or tab as delimiter. Everything
becomes text here, so the rest of the import never sees spreadsheet types: XLSX dates become
ISO "YYYY-MM-DD", and a phone Excel stored as the number 13800138000.0 becomes "13800138000".

A file is untrusted input, read whole into memory and then normalised row by row, so its size
is capped here, each cap with a code the chat explains: columns, filled cells, one cell's
length, all cells' text, and (XLSX) the unpacked size. Only what holds text counts: trailing
empty cells and rows, and whatever range an XLSX sheet declares in `<dimension>`, do not.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from openpyxl import load_workbook
from openpyxl.worksheet._reader import WorkSheetParser

ENCODINGS = ("utf-8-sig", "utf-8", "gb18030")  # GB18030 is a superset of GBK and GB2312
DELIMITERS = (",", ";", "\t")
_SNIFF_LINES = 50
_ZIP_MAGIC = b"PK\x03\x04"
# Binary bytes no text file holds (tab, newlines and form feed aside): many of them mean the
# file is not a CSV at all (an image or a program renamed), whatever its name says.
_BINARY = bytes(range(0x00, 0x09)) + b"\x0b" + bytes(range(0x0E, 0x20))
_BINARY_SHARE = 0.10  # a stray control character in a short CSV is cleaned, not refused

MAX_COLUMNS = 200  # columns holding text; the review offers a button per column
MAX_CELLS = 3_000_000  # filled cells: 200,000 rows of 15 columns
MAX_CELL_CHARS = 131_072  # Python's csv field limit; Excel's own cell limit is 32,767
MAX_TEXT_CHARS = 100_000_000  # all cells: an XLSX can repeat one long shared string
MAX_UNPACKED_MB = 256  # an XLSX's parts once unzipped: what parsing its XML costs
CAPPED = (
    "too_many_rows",  # the caller's max_rows
    "too_many_columns",
    "too_many_cells",
    "cell_too_long",
    "too_much_text",
    "too_big_unpacked",
)
"""The codes of files over a cap; `UnreadableFile.limit` then says the cap."""


class UnreadableFile(Exception):
    """The file is not a table we can read; `code` names why (translated by the chat side)
    and `limit` is the cap it went over, for the codes that are caps."""

    def __init__(self, code: str, limit: int | None = None) -> None:
        super().__init__(code)
        self.code = code  # "empty" | "no_sheet" | "not_a_table" | "bad_encoding" | CAPPED
        self.limit = limit


@dataclass(frozen=True)
class SheetTable:
    headers: list[str]
    rows: list[list[str]]  # every row as wide as `headers`
    encoding: str | None  # None for XLSX
    delimiter: str | None  # None for XLSX


def read_sheet(content: bytes, file_name: str, *, max_rows: int) -> SheetTable:
    """The first sheet of `content` as text; raises UnreadableFile.

    Seconds of CPU for a big file: call it outside any transaction and off the event loop.
    """
    if not content.strip():
        raise UnreadableFile("empty")
    if content.startswith(_ZIP_MAGIC) or file_name.lower().endswith((".xlsx", ".xlsm")):
        return _read_xlsx(content, max_rows=max_rows)
    return _read_csv(content, max_rows=max_rows)


def _decode(content: bytes) -> tuple[str, str]:
    if content.startswith(b"\xef\xbb\xbf"):
        return content.decode("utf-8-sig"), "utf-8-sig"
    for encoding in ENCODINGS[1:]:
        try:
            return content.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise UnreadableFile("bad_encoding")


def _sniff_delimiter(text: str) -> str:
    """The delimiter giving the most lines with the same number (> 1) of fields.

    A delimiter that leaves a field over the csv module's limit scores nothing (a file of
    100,000 commas is one huge field when split on semicolons); when all do, reading with
    the comma says why."""
    sample = text.splitlines()[:_SNIFF_LINES]
    best, best_score = DELIMITERS[0], 0
    for delimiter in DELIMITERS:
        try:
            widths = [len(row) for row in csv.reader(sample, delimiter=delimiter) if any(row)]
        except csv.Error:
            continue
        if not widths:
            continue
        common = max(set(widths), key=widths.count)
        score = widths.count(common) if common > 1 else 0
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _read_csv(content: bytes, *, max_rows: int) -> SheetTable:
    if len(content) - len(content.translate(None, _BINARY)) > len(content) * _BINARY_SHARE:
        raise UnreadableFile("not_a_table")
    text, encoding = _decode(content)
    if "\x00" in text:
        raise UnreadableFile("not_a_table")
    delimiter = _sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        table = _table(((0, row) for row in reader), max_rows=max_rows)
    except csv.Error as exc:
        # With NUL refused above and the default (non-strict) dialect, the field size limit
        # is what the reader can still raise.
        raise UnreadableFile("cell_too_long", MAX_CELL_CHARS) from exc
    return SheetTable(table[0], table[1], encoding, delimiter)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_xlsx(content: bytes, *, max_rows: int) -> SheetTable:
    try:  # each part reads no more than its declared size (zipfile checks)
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(part.file_size for part in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnreadableFile("not_a_table") from exc
    if unpacked > MAX_UNPACKED_MB * 1024 * 1024:
        raise UnreadableFile("too_big_unpacked", MAX_UNPACKED_MB)
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a zip that is not a workbook
        raise UnreadableFile("not_a_table") from exc
    try:
        if not workbook.worksheets:
            raise UnreadableFile("no_sheet")
        headers, body = _table(_xlsx_rows(workbook, workbook.worksheets[0]), max_rows=max_rows)
    except UnreadableFile:
        raise
    except Exception as exc:  # and on a broken sheet (bad XML, a missing shared string)
        raise UnreadableFile("not_a_table") from exc
    finally:
        workbook.close()
    return SheetTable(headers, body, None, None)


def _xlsx_rows(workbook: Any, sheet: Any) -> Iterator[tuple[int, list[str]]]:
    """(empty rows before it, cells) per `<row>` of the sheet, up to its last filled cell.

    openpyxl's read-only rows are padded to the sheet's `<dimension>`, which the file itself
    declares (a tiny file declaring A1:XFD20000 became 327 million cells, one declaring A1:B10
    lost what lay outside), and to the widest cell a row names even when empty, and a row
    numbered 10**9 is reached through every missing row. So the sheet's XML is read with the
    parser behind openpyxl's read-only mode, and a row is built from its filled cells only.
    """
    parser = WorkSheetParser(
        workbook._archive.open(sheet._worksheet_path),
        sheet._shared_strings,
        data_only=True,
        epoch=workbook.epoch,
        date_formats=workbook._date_formats,
        timedelta_formats=workbook._timedelta_formats,
    )
    previous = 0
    with parser.source:
        for number, cells in parser.parse():
            if number <= previous:  # a row repeated or out of order: openpyxl skips it too
                continue
            row: list[str] = []
            for cell in cells:
                text = _cell(cell["value"])
                if not text or text.isspace():
                    continue
                if cell["column"] > MAX_COLUMNS:
                    raise UnreadableFile("too_many_columns", MAX_COLUMNS)
                row.extend([""] * (cell["column"] - len(row)))
                row[cell["column"] - 1] = text
            yield number - previous - 1, row
            previous = number


def _trimmed(raw: Iterable[str]) -> list[str]:
    """The row's cells stripped, without its trailing empty cells, within the caps."""
    cells = [c.strip() for c in raw]
    while cells and not cells[-1]:
        cells.pop()
    if len(cells) > MAX_COLUMNS:
        raise UnreadableFile("too_many_columns", MAX_COLUMNS)
    return cells


def _table(
    rows: Iterable[tuple[int, Iterable[str]]], *, max_rows: int
) -> tuple[list[str], list[list[str]]]:
    """Headers (the first non-empty row) and the rows under them, stripped and squared up.

    Each item is (empty rows before it, its cells). Empty rows inside the data are kept (their
    numbers match the file); trailing ones go. A row wider than the headers widens the table
    (its extra columns get empty headers). Filled cells and their text count against the caps.
    """
    headers: list[str] | None = None
    body: list[list[str]] = []
    pending_empty = filled = text = 0
    for gap, raw in rows:
        cells = _trimmed(raw)
        pending_empty += gap
        if not cells:
            pending_empty += 1
            continue
        lengths = [len(c) for c in cells if c]
        filled += len(lengths)
        text += sum(lengths)
        if max(lengths) > MAX_CELL_CHARS:
            raise UnreadableFile("cell_too_long", MAX_CELL_CHARS)
        if filled > MAX_CELLS:
            raise UnreadableFile("too_many_cells", MAX_CELLS)
        if text > MAX_TEXT_CHARS:
            raise UnreadableFile("too_much_text", MAX_TEXT_CHARS)
        if headers is None:
            headers, pending_empty = cells, 0
            continue
        if len(body) + pending_empty >= max_rows:
            raise UnreadableFile("too_many_rows", max_rows)
        body.extend([] for _ in range(pending_empty))
        pending_empty = 0
        body.append(cells)
    if headers is None or not body:
        raise UnreadableFile("empty")
    width = max(len(headers), *(len(row) for row in body))
    return headers + [""] * (width - len(headers)), [
        row + [""] * (width - len(row)) for row in body
    ]
