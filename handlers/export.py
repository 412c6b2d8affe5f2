"""`/export customers|deals|notes|purchases|contracts|orders|tickets [csv|xlsx]`: a file of what
the member may see.

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
from handlers.formatting import format_birthday
from handlers.i18n import Catalogs, Translator
from storage.db import Database
from storage.export import ExportTable, Value
from storage.export_kinds import EXPORTERS
from storage.models import Member, Role
from storage.parsing import Birthday

logger = logging.getLogger(__name__)


def parse_request(args: Sequence[str]) -> tuple[str, str] | None:
    """(kind, format) from the command's words, or None when they do not name an export."""
    words = [word.lower() for word in args]
    if not 1 <= len(words) <= 2 or words[0] not in EXPORTERS:
        return None
    fmt = words[1] if len(words) == 2 else "csv"
    return (words[0], fmt) if fmt in FORMATS else None


CODED = {
    "gender": "customer.gender",
    "source": "customer.source",
    "category": "customer.category",
    "stage": "deal.stage",
    "kind": "note.kind",
    "contract_status": "contract_reminders.status",
    "order_status": "order.status",
    "ticket_type": "ticket.type",
    "priority": "ticket.priority",
    "ticket_status": "ticket.status",
    "overdue": "export.flag",
}
"""Columns that store a code, and the catalog prefix of their labels."""


def column_headers(t: Callable[..., str], columns: Sequence[str]) -> list[str]:
    """Headers in the reader's language; an import recognises them in either language."""
    return [t(f"export.column.{column}") for column in columns]


def readable_rows(table: ExportTable, translator: Translator) -> list[tuple[Value, ...]]:
    """Codes as their labels ("Male", "潜在客户") and birthdays spelled out, in the reader's
    language, as the chat shows them; an import reads labels of both languages back."""

    def readable(column: str, value: Value) -> Value:
        if isinstance(value, Birthday):
            return format_birthday(value, lang=translator.language)
        if column in CODED and isinstance(value, str):
            return translator.label(f"{CODED[column]}.{value}", value)
        return value

    return [
        tuple(readable(c, v) for c, v in zip(table.columns, row, strict=True))
        for row in table.rows
    ]


def render_table(fmt: str, table: ExportTable, translator: Translator, *, tz: ZoneInfo) -> bytes:
    """The file's bytes, headers and values in the translator's language; CPU-bound."""
    headers = column_headers(translator, table.columns)
    return render(fmt, table.columns, headers, readable_rows(table, translator), tz=tz)


def file_name(kind: str, fmt: str, now: datetime) -> str:
    return f"{kind}-{now:%Y-%m-%d}.{fmt}"


def export_everything(db: Database, *, kind: str, fmt: str, tz: ZoneInfo) -> bytes:
    """Every record of `kind`, in English: what `crm-bot export` writes for an admin.

    The actor is an unsaved admin, so the same scoped query serves the command line without
    a Telegram account behind it.
    """
    actor = Member(telegram_id=0, display_name="crm-bot export", role=Role.ADMIN)
    table = db.read_sync(EXPORTERS[kind], actor=actor)
    return render_table(fmt, table, Catalogs().translator("en"), tz=tz)


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
    translator = context.services.catalogs.translator(context.language)
    content = await asyncio.to_thread(render_table, fmt, table, translator, tz=context.tz)
    name = file_name(kind, fmt, datetime.now(context.tz))
    logger.info("export of %d %s as %s for chat %s", len(table.rows), kind, fmt, chat.id)
    await context.bot.send_document(
        chat.id,
        document=InputFile(content, filename=name),
        caption=context.t(f"export.done.{kind}", count=len(table.rows)),
    )


FEATURE = Feature(name="export", commands=(Command("export", export),))
