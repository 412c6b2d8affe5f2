"""`crm-bot dedupe --report FILE`: every duplicate cluster in a CSV or XLSX, for an admin to
review offline before merging in the chat (`/dedupe`)."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from handlers.export import render_table
from handlers.i18n import Catalogs
from storage.db import Database
from storage.models import Member, Role
from storage.quality.report import list_cluster_rows

FORMATS = {".csv": "csv", ".xlsx": "xlsx"}


def report_format(output: Path) -> str | None:
    """The file's format by its extension; None for one we do not write."""
    return FORMATS.get(output.suffix.lower())


def report_to_file(database_url: str, timezone: str, output: Path) -> int:
    """Write the clusters of the whole base (as an unsaved admin, like `crm-bot export`);
    the number of clusters written."""
    fmt = report_format(output)
    if fmt is None:
        raise ValueError(f"not .csv or .xlsx: {output}")
    actor = Member(telegram_id=0, display_name="crm-bot dedupe", role=Role.ADMIN)
    db = Database(database_url)
    try:
        table = db.read_sync(list_cluster_rows, actor=actor)
    finally:
        db.close()
    translator = Catalogs().translator("en")
    output.write_bytes(render_table(fmt, table, translator, tz=ZoneInfo(timezone)))
    return len({row[0] for row in table.rows})
