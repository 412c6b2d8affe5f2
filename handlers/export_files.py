"""Turns export rows into the bytes of a CSV or XLSX file; pure, so it runs in a thread.

Cells are what a person expects in a spreadsheet: times in their timezone as
`YYYY-MM-DD HH:MM`, phones joined with "; ", tags with ", ", amounts as plain decimals.
Customer data is typed by anyone, and a file a manager opens must not run it: in a CSV, any
text a spreadsheet could read as a formula (`=`, `+`, `-`, `@`, tab, CR first) gets an
apostrophe in front; an XLSX cell is typed as text instead, so it shows exactly what was
stored ("+8613800138000", not "'+8613800138000"). CSV starts with a UTF-8 BOM, without which
Excel reads Chinese as mojibake.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from storage.export import BOM, Value, defuse
from storage.parsing import clean_text

FORMATS = ("csv", "xlsx")
MEDIA_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
JOINERS = {"phones": "; ", "tags": ", "}


def cell(column: str, value: Value, *, tz: ZoneInfo) -> str:
    """One value as the text of its cell (always text, so nothing is re-interpreted), without
    control characters; the CSV writer adds the formula guard."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize() if value == value.to_integral() else value, "f")
    if isinstance(value, list):
        return clean_text(JOINERS.get(column, ", ").join(value))
    if isinstance(value, int | float):
        return str(value)
    return clean_text(str(value))


def _cells(
    columns: Sequence[str], rows: Sequence[Sequence[Value]], tz: ZoneInfo
) -> list[list[str]]:
    return [[cell(c, v, tz=tz) for c, v in zip(columns, row, strict=True)] for row in rows]


def render_csv(
    columns: Sequence[str],
    headers: Sequence[str],
    rows: Sequence[Sequence[Value]],
    *,
    tz: ZoneInfo,
) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow([defuse(h) for h in headers])
    writer.writerows([defuse(text) for text in row] for row in _cells(columns, rows, tz))
    return (BOM + buffer.getvalue()).encode("utf-8")


def _text_cells(sheet: Any, texts: Sequence[str]) -> list[WriteOnlyCell]:
    """Cells typed as text after the value is set (openpyxl types "=..." as a formula)."""
    cells = []
    for text in texts:
        cell = WriteOnlyCell(sheet, value=text)
        cell.data_type = "s"
        cells.append(cell)
    return cells


def render_xlsx(
    columns: Sequence[str],
    headers: Sequence[str],
    rows: Sequence[Sequence[Value]],
    *,
    tz: ZoneInfo,
) -> bytes:
    """Every cell is typed as a string, so neither openpyxl nor Excel makes "=..." a formula."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(_text_cells(sheet, [clean_text(h) for h in headers]))
    for row in _cells(columns, rows, tz):
        sheet.append(_text_cells(sheet, row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def render(
    fmt: str,
    columns: Sequence[str],
    headers: Sequence[str],
    rows: Sequence[Sequence[Value]],
    *,
    tz: ZoneInfo,
) -> bytes:
    renderer = render_xlsx if fmt == "xlsx" else render_csv
    return renderer(columns, headers, rows, tz=tz)
