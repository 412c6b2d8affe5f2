"""Commands every member has: `/help`, `/cancel`, `/lang`, and the last-resort replies.

`/cancel` also cancels a spreadsheet import under review (handlers/imports/upload.py), so that
the command has one handler whatever is open; a cancel word typed in an entry (catalog
`cancel.words`) runs it too (handlers/flows/engine.py). New plain text is
handlers/plain_text.py's: the fallback answers a sticker, a photo or an edit outside an entry.
"""

from __future__ import annotations

from telegram import ReplyKeyboardRemove, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from handlers.callback_data import LangChoice
from handlers.commands import commands_for, register_member_menu
from handlers.context import CrmContext
from handlers.feature import Command, Feature, Route
from handlers.keyboards import inline_keyboard
from handlers.telegram_helpers import answer_query, button_data, edit_message
from storage.drafts import cancel_draft
from storage.imports import BatchStatus, cancel_batch, latest_batches
from storage.members import set_member_language
from storage.models import Role
from storage.parsing import clean_text


async def help_command(update: Update, context: CrmContext) -> None:
    member = context.require_member()
    assert update.effective_chat is not None
    lines = [context.t("help.title"), ""]
    lines += [
        context.t("help.line", command=c.name, description=context.t(c.description_key))
        for c in commands_for(context.services.commands, Role(member.role))
    ]
    lines += ["", context.t("help.footer")]
    await context.bot.send_message(update.effective_chat.id, "\n".join(lines))


async def cancel(update: Update, context: CrmContext) -> None:
    """Discard the draft, whatever flow it belongs to, and ask nothing more."""
    assert update.effective_chat is not None
    discarded = await context.db.run(cancel_draft, member_id=context.member_id)
    await context.bot.send_message(
        update.effective_chat.id,
        context.t("cancel.done" if discarded else "cancel.nothing"),
        reply_markup=ReplyKeyboardRemove(),
    )


def is_cancel_word(context: CrmContext, text: str | None) -> bool:
    """取消 / cancel / 算了 typed as the whole message (catalog `cancel.words`): /cancel."""
    if text is None:
        return False
    wanted = clean_text(text).strip().rstrip(".!。！").casefold()
    return wanted in context.services.catalogs.words("cancel.words")


async def cancel_command(update: Update, context: CrmContext) -> None:
    """`/cancel` during a review cancels the draft import; otherwise the usual /cancel."""
    assert update.effective_chat is not None
    batches = await context.db.read(latest_batches, actor=context.require_member())
    drafts = [
        b.id
        for b in batches
        if b.status == BatchStatus.DRAFT and b.member_id == context.member_id and b.id
    ]
    if not drafts:
        await cancel(update, context)
        return
    for batch_id in drafts:
        await context.db.run(cancel_batch, actor=context.require_member(), batch_id=batch_id)
    await context.bot.send_message(update.effective_chat.id, context.t("import.cancelled"))


async def choose_language(update: Update, context: CrmContext) -> None:
    assert update.effective_chat is not None
    keyboard = inline_keyboard(
        [[(context.t(f"lang.name.{code}"), LangChoice(code)) for code in ("en", "zh")]]
    )
    await context.bot.send_message(
        update.effective_chat.id, context.t("lang.choose"), reply_markup=keyboard
    )


async def language_chosen(update: Update, context: CrmContext) -> None:
    query = update.callback_query
    assert query is not None
    choice = await button_data(update, context, LangChoice)
    if choice is None:
        return
    member = await context.db.run(
        set_member_language, member_id=context.member_id, language=choice.language
    )
    context.member = member
    context.translator = context.services.catalogs.translator(choice.language)
    context.remember_language(choice.language)
    await answer_query(query)
    await edit_message(query, context.t("lang.set"))
    await register_member_menu(context.bot, context.services.commands, member, context.translator)


async def unknown_text(update: Update, context: CrmContext) -> None:
    assert update.effective_chat is not None
    await context.bot.send_message(update.effective_chat.id, context.t("common.unknown_text"))


async def stale_button(update: Update, context: CrmContext) -> None:
    """A button no handler claimed: an old message, or forged data."""
    assert update.callback_query is not None
    await answer_query(update.callback_query, context.t("common.stale_button"))


FEATURE = Feature(
    name="common",
    commands=(
        Command("help", help_command),
        Command("cancel", cancel_command),
        Command("lang", choose_language),
    ),
    routes=(Route(LangChoice, language_chosen),),
)


def build_fallbacks() -> list[BaseHandler[Update, CrmContext, None]]:
    private = filters.ChatType.PRIVATE
    return [
        MessageHandler(private & ~filters.StatusUpdate.ALL, unknown_text),
        CallbackQueryHandler(stale_button),
    ]
