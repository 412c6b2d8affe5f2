"""Undoing a finished import: choose it, confirm, then a report of what was undone and left.

Reached from the Undo button under an import's result, or by `/import undo`, which lists the
member's recent imports that changed something (date, file, counts) to choose from. Only the
importer or an admin may undo, within `imports.undo_hours` of the import's end; storage
enforces both, so a late, repeated or foreign press gets a polite refusal. The undo leaves
what someone changed since the import, and the report says how many and why
(`storage.imports.undo`).

    /import undo --> list of imports --press one--> confirmation (also from the result's Undo)
    confirmation --Yes--> report (undone, and left: changed / reassigned / deleted)
    confirmation --No--> "the import stays"
"""

from __future__ import annotations

from datetime import timedelta

from telegram import Update

from handlers.callback_data import ImportAction
from handlers.context import CrmContext
from handlers.formatting import format_when
from handlers.imports.views import number, short
from handlers.keyboards import Row, inline_keyboard
from handlers.telegram_helpers import answer_query, edit_message
from storage.access import NotFound
from storage.imports import (
    ImportNotReady,
    UndoExpired,
    UndoResult,
    list_undoable_batches,
    undo_batch,
    undo_summary,
)

FILE_CHARS = 24
LEFT = ("changed", "reassigned", "gone")  # UndoResult's counts of customers left, and why


def _period(context: CrmContext) -> timedelta:
    return timedelta(hours=context.services.config.imports.undo_hours)


async def choose(update: Update, context: CrmContext) -> None:
    """`/import undo`: the member's recent imports that changed something, one button each."""
    assert update.effective_chat is not None
    batches = await context.db.read(
        list_undoable_batches,
        actor=context.require_member(),
        now=context.services.clock(),
        undo_period=_period(context),
    )
    if not batches:
        await context.bot.send_message(update.effective_chat.id, context.t("import.undo.nothing"))
        return
    lang = context.language
    rows: list[Row] = []
    for batch in batches:
        assert batch.id is not None
        assert batch.finished_at is not None
        label = context.t(
            "import.undo.choice",
            when=format_when(batch.finished_at, tz=context.tz, lang=lang),
            file=short(batch.file_name, FILE_CHARS),
            created=number(batch.created_count, lang),
            updated=number(batch.updated_count, lang),
        )
        rows.append([(label, ImportAction("undo", batch.id))])
    hours = context.services.config.imports.undo_hours
    await context.bot.send_message(
        update.effective_chat.id,
        context.t("import.undo.choose", hours=hours, count=hours),
        reply_markup=inline_keyboard(rows),
    )


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
        "import.undo.ask_orders" if summary.orders else "import.undo.ask",
        file=summary.file_name,
        created=number(summary.created, lang),
        updated=number(summary.updated, lang),
    )
    await context.bot.send_message(chat_id, text, reply_markup=keyboard)


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
        result = await context.db.run(
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
    await edit_message(query, _report(context, result))


def _report(context: CrmContext, result: UndoResult) -> str:
    """What was undone, then one line per reason some customers were left as they are."""
    lang = context.language
    lines = [
        context.t(
            "import.undo.done_orders" if result.orders else "import.undo.done",
            file=result.file_name,
            removed=number(result.removed, lang),
            restored=number(result.restored, lang),
        )
    ]
    for reason in LEFT:
        if count := getattr(result, reason):
            key = f"orders_{reason}" if result.orders else reason
            lines.append(context.t(f"import.undo.left.{key}", count=number(count, lang)))
    return "\n".join(lines)


def _refusal(context: CrmContext, refusal: Exception) -> str:
    if isinstance(refusal, UndoExpired):
        hours = context.services.config.imports.undo_hours
        return context.t("import.undo.expired", hours=hours, count=hours)
    if isinstance(refusal, ImportNotReady):
        return context.t(
            "import.undo.already" if refusal.code == "undone" else "import.undo.not_done"
        )
    return context.t("common.not_found")
