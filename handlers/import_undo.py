"""Undoing a finished import: a confirmation naming the counts, then the undo itself.

Reached from the Undo button under an import's result or by `/import undo` (the member's
latest finished import). Only the importer or an admin may undo, within `imports.undo_hours`
of the import's end; storage enforces both, so a late or foreign press gets a polite refusal.
"""

from __future__ import annotations

from datetime import timedelta

from telegram import Update

from handlers.callback_data import ImportAction
from handlers.context import CrmContext
from handlers.import_views import number
from handlers.keyboards import inline_keyboard
from handlers.telegram_helpers import answer_query, edit_message
from storage.access import NotFound
from storage.imports import (
    BatchStatus,
    ImportNotReady,
    UndoExpired,
    latest_batches,
    undo_batch,
    undo_summary,
)


def _period(context: CrmContext) -> timedelta:
    return timedelta(hours=context.services.config.imports.undo_hours)


async def ask(context: CrmContext, chat_id: int, batch_id: int) -> None:
    """Send the confirmation, or say why this import cannot be undone."""
    try:
        summary = await context.db.read(
            undo_summary,
            actor=context.require_member(),
            batch_id=batch_id,
            now=context.services.clock(),
            undo_period=_period(context),
        )
    except (NotFound, UndoExpired, ImportNotReady) as refusal:
        await context.bot.send_message(chat_id, _refusal(context, refusal))
        return
    lang = context.language
    keyboard = inline_keyboard(
        [
            [(context.t("import.button.confirm_undo"), ImportAction("confirm", batch_id))],
            [(context.t("import.button.keep"), ImportAction("keep", batch_id))],
        ]
    )
    text = context.t(
        "import.undo.ask",
        created=number(summary.created, lang),
        updated=number(summary.updated, lang),
    )
    await context.bot.send_message(chat_id, text, reply_markup=keyboard)


async def undo_latest(update: Update, context: CrmContext) -> None:
    """`/import undo`: the member's latest finished import."""
    assert update.effective_chat is not None
    batches = await context.db.read(latest_batches, actor=context.require_member())
    done = [
        b for b in batches if b.status == BatchStatus.DONE and b.member_id == context.member_id
    ]
    if not done:
        await context.bot.send_message(update.effective_chat.id, context.t("import.undo.nothing"))
        return
    assert done[0].id is not None
    await ask(context, update.effective_chat.id, done[0].id)


async def on_button(update: Update, context: CrmContext, data: ImportAction) -> None:
    query = update.callback_query
    assert query is not None
    assert query.message is not None
    if data.action == "undo":
        await answer_query(query)
        await ask(context, query.message.chat.id, data.batch_id)
        return
    if data.action == "keep":
        await answer_query(query)
        await edit_message(query, context.t("import.undo.kept"))
        return
    try:
        summary = await context.db.run(
            undo_batch,
            actor=context.require_member(),
            batch_id=data.batch_id,
            now=context.services.clock(),
            undo_period=_period(context),
        )
    except NotFound:  # a forged or foreign button: leave the message alone
        await answer_query(query, context.t("common.not_found"))
        return
    except (UndoExpired, ImportNotReady) as refusal:
        await answer_query(query)
        await edit_message(query, _refusal(context, refusal))
        return
    await answer_query(query)
    lang = context.language
    text = context.t(
        "import.undo.done",
        created=number(summary.created, lang),
        updated=number(summary.updated, lang),
    )
    await edit_message(query, text)


def _refusal(context: CrmContext, refusal: Exception) -> str:
    if isinstance(refusal, UndoExpired):
        hours = context.services.config.imports.undo_hours
        return context.t("import.undo.expired", hours=hours)
    if isinstance(refusal, ImportNotReady):
        return context.t("import.undo.not_done")
    return context.t("common.not_found")
