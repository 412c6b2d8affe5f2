"""Spreadsheets built by hand to break a reader: XLSX whose XML says what a tool would never
write (a `<dimension>` unrelated to the cells, a cell far to the right, a row numbered past
Excel's last), and CSV with a giant field or a hundred thousand columns."""

from __future__ import annotations

import io
import re
import zipfile
from xml.sax.saxutils import escape

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_PARTS = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/'
        'vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_TYPE}.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        f'ContentType="{_TYPE}.worksheet+xml"/></Types>'
    ),
    "_rels/.rels": (
        f'<Relationships xmlns="{_PACKAGE_REL}"><Relationship Id="rId1" '
        f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'<Relationships xmlns="{_PACKAGE_REL}"><Relationship Id="rId1" '
        f'Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
    ),
}


def forged_xlsx(
    cells: dict[str, str],
    *,
    dimension: str | None = None,
    empty_rows: tuple[int, ...] = (),
    padding: int = 0,
    sheets: bool = True,
) -> bytes:
    """A workbook whose one sheet holds `cells` ({"A1": "Name", ...}) as inline strings.

    `dimension` is written as the sheet's declared range, `empty_rows` as `<row>` elements
    without cells, `padding` spaces of XML whitespace after the data."""
    rows: dict[int, list[str]] = {number: [] for number in empty_rows}
    for ref, text in cells.items():
        match = re.fullmatch(r"([A-Z]+)(\d+)", ref)
        assert match is not None, ref
        rows.setdefault(int(match[2]), []).append(
            f'<c r="{ref}" t="inlineStr"><is><t>{escape(text)}</t></is></c>'
        )
    data = "".join(f'<row r="{n}">{"".join(rows[n])}</row>' for n in sorted(rows))
    declared = f'<dimension ref="{dimension}"/>' if dimension else ""
    sheet = (
        f'<worksheet xmlns="{_MAIN}">{declared}<sheetData>{data}</sheetData>'
        f"{' ' * padding}</worksheet>"
    )
    listed = '<sheet name="Customers" sheetId="1" r:id="rId1"/>' if sheets else ""
    workbook = f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>{listed}</sheets></workbook>'
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, xml in _PARTS.items():
            archive.writestr(name, xml)
        archive.writestr("xl/workbook.xml", workbook)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return buffer.getvalue()


def table_cells(rows: list[list[str]]) -> dict[str, str]:
    """{"A1": ..., "B1": ...} for rows of at most 26 columns, row 1 first."""
    return {
        f"{chr(ord('A') + c)}{r}": text
        for r, row in enumerate(rows, start=1)
        for c, text in enumerate(row)
    }


# 1.4 KB declaring 20,000 rows by 16,384 columns, with an empty row 20,000: openpyxl's
# read-only mode padded every row up to it to the declared width (327 million cells).
HUGE_DIMENSION = forged_xlsx(
    table_cells([["Name", "Phone"], ["Zhang Wei", "13800138000"]]),
    dimension="A1:XFD20000",
    empty_rows=(20_000,),
)
# 30 customers of 5 columns under a header, declared as 10 rows of 2 columns.
SMALL_DIMENSION_ROWS = [["Name", "Phone", "Email", "Company", "City"]] + [
    [f"Customer {i}", f"1380013{i:04d}", f"c{i}@example.com", f"Co {i}", f"City {i}"]
    for i in range(1, 31)
]
SMALL_DIMENSION = forged_xlsx(table_cells(SMALL_DIMENSION_ROWS), dimension="A1:B10")
LONG_FIELD_CSV = b"Name,Notes\nZhang Wei," + b"x" * 200_000 + b"\n"
WIDE_CSV = b",".join(b"c%d" % i for i in range(100_000)) + b"\nZhang Wei\n"
