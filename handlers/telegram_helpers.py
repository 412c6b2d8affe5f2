"""Tiny helpers for the Telegram errors that are expected, one each, so handlers stay plain."""

from __future__ import annotations

import logging
from typing import TypeVar

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden

from handlers.callback_data import CallbackData, unpack
from handlers.context import CrmContext

D = TypeVar("D", bound=CallbackData)

logger = logging.getLogger(__name__)


async def edit_message(
    query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Edit the message a button belongs to; pressing twice ("not modified") is fine."""
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:
        if "message is not modified" not in exc.message.lower():
            raise


async def answer_query(query: CallbackQuery, text: str | None = None) -> None:
    """Stop the button's spinner; a query that is too old to answer is not an error."""
    try:
        await query.answer(text)
    except BadRequest as exc:
        if "query is too old" not in exc.message.lower():
            raise


async def button_data(update: Update, context: CrmContext, kind: type[D]) -> D | None:
    """The typed data of the pressed button, or None after telling the user it is stale.

    Callback data is untrusted: anything that is not exactly `kind` (old, foreign, forged)
    gets the same polite answer and goes no further.
    """
    query = update.callback_query
    assert query is not None
    data = unpack(query.data)
    if not isinstance(data, kind):
        await answer_query(query, context.t("common.stale_button"))
        return None
    return data


def is_blocked(exc: Exception) -> bool:
    """The user blocked the bot or it was removed from the group."""
    return isinstance(exc, Forbidden)
