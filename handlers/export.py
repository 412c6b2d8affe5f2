"""`/export customers|deals|notes|purchases [csv|xlsx]`: sends a file of what the member may see.

One command, no conversation: a missing or unknown kind answers with the usage and an
example. The rows come from `storage.export` (the access rule applied there, so a
salesperson's file holds their customers and a manager's their team's); rendering runs in a
thread, since a big workbook would otherwise stall every other chat. `crm-bot export` reuses
`export_everything` to write the same file from the command line, as an admin.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from telegram import InputFile, Update

from handlers.context import CrmContext
from handlers.export_files import FORMATS, render
from handlers.feature import Command, Feature
from handlers.i18n import Catalogs
from storage.db import Database
from storage.export import EXPORTERS
from storage.models import Member, Role

logger = logging.getLogger(__name__)


def parse_request(args: Sequence[str]) -> tuple[str, str] | None:
    """(kind, format) from the command's words, or None when they do not name an export."""
    words = [word.lower() for word in args]
    if not 1 <= len(words) <= 2 or words[0] not in EXPORTERS:
        return None
    fmt = words[1] if len(words) == 2 else "csv"
    return (words[0], fmt) if fmt in FORMATS else None


def column_headers(t: Callable[..., str], columns: Sequence[str]) -> list[str]:
    """Headers in the reader's language: the file is for people, not for re-import."""
    return [t(f"export.column.{column}") for column in columns]


def file_name(kind: str, fmt: str, now: datetime) -> str:
    return f"{kind}-{now:%Y-%m-%d}.{fmt}"


def export_everything(db: Database, *, kind: str, fmt: str, tz: ZoneInfo) -> bytes:
    """Every record of `kind`, English headers: what `crm-bot export` writes for an admin.

    The actor is an unsaved admin, so the same scoped query serves the command line without
    a Telegram account behind it.
    """
    actor = Member(telegram_id=0, display_name="crm-bot export", role=Role.ADMIN)
    table = db.read_sync(EXPORTERS[kind], actor=actor)
    headers = column_headers(Catalogs().translator("en"), table.columns)
    return render(fmt, table.columns, headers, table.rows, tz=tz)


def export_to_file(database_url: str, kind: str, fmt: str, timezone: str, output: Path) -> None:
    """`crm-bot export`: opens the database only for as long as the export takes."""
    db = Database(database_url)
    try:
        content = export_everything(db, kind=kind, fmt=fmt, tz=ZoneInfo(timezone))
    finally:
        db.close()
    output.write_bytes(content)


async def export(update: Update, context: CrmContext) -> None:
    """Query in the database's workers, render in a thread, send the file."""
    chat = update.effective_chat
    assert chat is not None
    request = parse_request(context.args or [])
    if request is None:
        await context.bot.send_message(chat.id, context.t("export.usage"))
        return
    kind, fmt = request
    table = await context.db.read(EXPORTERS[kind], actor=context.require_member())
    headers = column_headers(context.t, table.columns)
    content = await asyncio.to_thread(
        render, fmt, table.columns, headers, table.rows, tz=context.tz
    )
    name = file_name(kind, fmt, datetime.now(context.tz))
    logger.info("export of %d %s as %s for chat %s", len(table.rows), kind, fmt, chat.id)
    await context.bot.send_document(
        chat.id,
        document=InputFile(content, filename=name),
        caption=context.t(f"export.done.{kind}", count=len(table.rows)),
    )


FEATURE = Feature(name="export", commands=(Command("export", export),))
