"""Importing customers or orders from a spreadsheet: `/import`, a CSV/XLSX document,
`/import undo`. A file with an order number and a customer column is an orders import
(`storage.imports.order_rows`); every step below is the same for both.

A member sends the file at any time no entry flow is waiting for an answer (an open flow's
answers are taken in an earlier group, so a document meant for a step never lands here);
`/import` alone explains what to send. A document replying to a ticket's card is that
ticket's file (`handlers.ticket_files`), not an import. The file is downloaded, parsed in a
thread (outside any transaction: a big or hostile file holds no database lock) and stored as
a draft batch,
then reviewed with buttons (`handlers.imports.review`), run in the background with a progress
message (`handlers.imports.run` via `bot.import_jobs`), and can be undone with a
confirmation (`handlers.imports.undo`).

    document --unreadable / too big--> what is accepted
    document --> review message (see handlers.imports.review)
    /cancel during the review --> the draft batch is cancelled (handlers/common.py)
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import PurePath

from telegram import Update
from telegram.ext import filters

from handlers.context import CrmContext
from handlers.customer_card import CardReply
from handlers.feature import Command, Feature, Job, OnMessage
from handlers.imports import review as import_review
from handlers.imports import undo as import_undo
from handlers.imports.views import number, target_label
from handlers.ticket_card import CARD_LINE as TICKET_CARD_LINE
from storage.imports import (
    UnreadableFile,
    create_batch,
    read_sheet,
)
from storage.imports.mapping import TARGETS
from storage.imports.order_rows import ORDER_TARGETS

logger = logging.getLogger(__name__)

SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm")
MB = 1024 * 1024


async def import_command(update: Update, context: CrmContext) -> None:
    """`/import` explains what to send; `/import undo` lists recent imports to undo."""
    assert update.effective_chat is not None
    args = [arg.lower() for arg in context.args or []]
    if args[:1] == ["undo"]:
        await import_undo.choose(update, context)
        return
    fields = ", ".join(target_label(context.t, target) for target in TARGETS)
    orders = ", ".join(target_label(context.t, target) for target in ORDER_TARGETS)
    limits = context.services.config.imports
    explain = context.t(
        "import.explain",
        fields=fields,
        rows=number(limits.max_rows, context.language),
        count=limits.max_rows,
        mb=limits.max_file_mb,
    )
    explain += "\n\n" + context.t("import.explain_orders", fields=orders)
    await context.bot.send_message(update.effective_chat.id, explain)


async def on_document(update: Update, context: CrmContext) -> None:
    """Download the file, parse it in a thread, store it as a draft batch, show the review."""
    message = update.effective_message
    assert message is not None
    assert message.document is not None
    document, chat_id, lang = message.document, message.chat_id, context.language
    limits = context.services.config.imports
    name = document.file_name or "file"
    if PurePath(name).suffix.lower() not in SUFFIXES:
        await context.bot.send_message(chat_id, context.t("import.unreadable.not_a_table"))
        return
    if (document.file_size or 0) > limits.max_file_mb * MB:
        await context.bot.send_message(chat_id, context.t("import.too_big", mb=limits.max_file_mb))
        return
    telegram_file = await context.bot.get_file(document.file_id)
    content = bytes(await telegram_file.download_as_bytearray())
    try:  # seconds of CPU for a big file: in a thread, and outside the write transaction
        table = await asyncio.to_thread(read_sheet, content, name, max_rows=limits.max_rows)
    except UnreadableFile as problem:
        rows, limit = number(limits.max_rows, lang), number(problem.limit or 0, lang)
        await context.bot.send_message(
            chat_id,
            context.t(
                f"import.unreadable.{problem.code}", rows=rows, limit=limit, count=limits.max_rows
            ),
        )
        return
    batch = await context.db.run(
        create_batch,
        actor=context.require_member(),
        owner_id=context.member_id,
        chat_id=chat_id,
        file_name=name,
        content=content,
        table=table,
        region=context.services.config.locale.default_region,
        quality=context.services.quality,
        currency=context.services.config.locale.currency,
        timezone=context.tz.key,
        note_heading=context.t("import.note.heading", file=name),
        cancel_reason=context.t("import.order.cancelled_before_import"),
    )
    assert batch.id is not None
    logger.info("import %s: %s rows from %s", batch.id, batch.total_rows, chat_id)
    text, keyboard = await import_review.show_review(context, batch.id)
    await context.bot.send_message(chat_id, text, reply_markup=keyboard)


# No entry flow: the review's state lives in the batch row.
MINUTE = timedelta(minutes=1)
FEATURE = Feature(
    name="import",
    commands=(Command("import", import_command),),
    messages=(
        OnMessage(
            filters.ChatType.PRIVATE & filters.Document.ALL & ~CardReply(TICKET_CARD_LINE),
            on_document,
        ),
    ),
    # Batches a stop or a crash interrupted run again (`bot.import_jobs`).
    jobs=(Job("resume-imports", every=MINUTE, first=MINUTE, at_start=True),),
)
