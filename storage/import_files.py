"""Reads an uploaded spreadsheet (CSV or XLSX) into headers and rows of stripped text cells.

CSV comes from Excel in many shapes: UTF-8 with or without a BOM, GBK/GB18030 from a Chinese
Excel's "Save as CSV", and comma, semicolon (European Excel) or tab as delimiter. Everything
becomes text here, so the rest of the import never sees spreadsheet types: XLSX dates become
ISO "YYYY-MM-DD", and a phone Excel stored as the number 13800138000.0 becomes "13800138000".
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from openpyxl import load_workbook

ENCODINGS = ("utf-8-sig", "utf-8", "gb18030")  # GB18030 is a superset of GBK and GB2312
DELIMITERS = (",", ";", "\t")
_SNIFF_LINES = 50
_ZIP_MAGIC = b"PK\x03\x04"


class UnreadableFile(Exception):
    """The file is not a table we can read; `code` names why (translated by the chat side)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code  # "empty" | "not_a_table" | "bad_encoding" | "too_many_rows"


@dataclass(frozen=True)
class SheetTable:
    headers: list[str]
    rows: list[list[str]]  # every row as wide as `headers`
    encoding: str | None  # None for XLSX
    delimiter: str | None  # None for XLSX


def read_sheet(content: bytes, file_name: str, *, max_rows: int) -> SheetTable:
    """The first sheet of `content` as text; raises UnreadableFile."""
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
    """The delimiter giving the most lines with the same number (> 1) of fields."""
    sample = text.splitlines()[:_SNIFF_LINES]
    best, best_score = DELIMITERS[0], 0
    for delimiter in DELIMITERS:
        widths = [len(row) for row in csv.reader(sample, delimiter=delimiter) if any(row)]
        if not widths:
            continue
        common = max(set(widths), key=widths.count)
        score = widths.count(common) if common > 1 else 0
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _read_csv(content: bytes, *, max_rows: int) -> SheetTable:
    text, encoding = _decode(content)
    if "\x00" in text:
        raise UnreadableFile("not_a_table")
    delimiter = _sniff_delimiter(text)
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        table = _table((row for row in reader), max_rows=max_rows)
    except csv.Error as exc:
        raise UnreadableFile("not_a_table") from exc
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
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise UnreadableFile("not_a_table") from exc
    try:
        if not workbook.worksheets:
            raise UnreadableFile("empty")
        sheet = workbook.worksheets[0]
        rows = ([_cell(v) for v in row] for row in sheet.iter_rows(values_only=True))
        headers, body = _table(rows, max_rows=max_rows)
    finally:
        workbook.close()
    return SheetTable(headers, body, None, None)


def _table(rows: Any, *, max_rows: int) -> tuple[list[str], list[list[str]]]:
    """Headers (the first non-empty row) and the rows under them, stripped and squared up.

    Empty rows inside the data are kept (their numbers match the file); trailing ones go.
    A row wider than the headers widens the table (its extra columns get empty headers).
    """
    headers: list[str] | None = None
    body: list[list[str]] = []
    pending_empty = 0
    for raw in rows:
        cells = [c.strip() for c in raw]
        if headers is None:
            if any(cells):
                headers = cells
            continue
        if not any(cells):
            pending_empty += 1
            continue
        if len(body) + pending_empty >= max_rows:
            raise UnreadableFile("too_many_rows")
        body.extend([] for _ in range(pending_empty))
        pending_empty = 0
        body.append(cells)
    if headers is None or not body:
        raise UnreadableFile("empty")
    width = max(len(headers), *(len(row) for row in body))
    while (
        width > 1
        and not (width <= len(headers) and headers[width - 1])
        and not any(len(row) >= width and row[width - 1] for row in body)
    ):
        width -= 1
    headers = headers[:width] + [""] * (width - len(headers))
    return headers, [row[:width] + [""] * (width - len(row)) for row in body]
