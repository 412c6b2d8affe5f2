"""Turns export rows into the bytes of a CSV or XLSX file; pure, so it runs in a thread.

Cells are what a person expects in a spreadsheet: times in their timezone as
`YYYY-MM-DD HH:MM`, phones joined with "; ", tags with ", ", amounts as plain decimals.
Any text a spreadsheet could read as a formula (`=`, `+`, `-`, `@`, tab, CR first) gets an
apostrophe in front: customer data is typed by anyone, and a file a manager opens must not
run it. CSV starts with a UTF-8 BOM, without which Excel reads Chinese as mojibake.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from openpyxl import Workbook

from storage.export import BOM, Value, defuse

FORMATS = ("csv", "xlsx")
MEDIA_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
JOINERS = {"phones": "; ", "tags": ", "}


def cell(column: str, value: Value, *, tz: ZoneInfo) -> str:
    """One value as the text written to the file (always text, so nothing is re-interpreted)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize() if value == value.to_integral() else value, "f")
    if isinstance(value, list):
        return defuse(JOINERS.get(column, ", ").join(value))
    if isinstance(value, int | float):
        return str(value)
    return defuse(value)


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
    writer.writerows(_cells(columns, rows, tz))
    return (BOM + buffer.getvalue()).encode("utf-8")


def render_xlsx(
    columns: Sequence[str],
    headers: Sequence[str],
    rows: Sequence[Sequence[Value]],
    *,
    tz: ZoneInfo,
) -> bytes:
    """Every cell is written as a string, so openpyxl never turns "=..." into a formula."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append([defuse(h) for h in headers])
    for row in _cells(columns, rows, tz):
        sheet.append(row)
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
