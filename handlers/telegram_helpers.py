"""Tiny helpers for the Telegram errors that are expected, one each, so handlers stay plain."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import TypeVar

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden

from handlers.callback_data import CallbackData, unpack
from handlers.context import CrmContext
from storage.access import NotFound

D = TypeVar("D", bound=CallbackData)
T = TypeVar("T")

logger = logging.getLogger(__name__)


async def edit_message(
    query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Edit the message a button belongs to; pressing twice ("not modified") is fine.

    A message that cannot take text (a file, a photo: the button's data did not come from
    it) or can no longer be edited (too old) gets the answer as a new message instead.
    """
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:
        reason = exc.message.lower()
        if "message is not modified" in reason:
            return
        if not any(cause in reason for cause in _UNEDITABLE) or query.message is None:
            raise
        await query.get_bot().send_message(query.message.chat.id, text, reply_markup=markup)


_UNEDITABLE = ("no text in the message", "message can't be edited", "message to edit not found")


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


async def guarded(
    update: Update,
    context: CrmContext,
    call: Awaitable[T],
    missing: str = "common.not_found",
    *,
    answer: bool = True,
) -> T | None:
    """What the pressed button names, loaded by `call` through the access rule, with the button
    answered; or None once a refusal (missing, deleted, foreign, wrong role) got the one
    `missing` answer. The ids in callback data are untrusted: `call` is the access check.
    `answer=False` leaves a found record's answer to the caller, for a press whose pop-up
    says what it did (a button is answered once)."""
    query = update.callback_query
    assert query is not None
    try:
        result = await call
    except NotFound:
        await answer_query(query, context.t(missing))
        return None
    if answer:
        await answer_query(query)
    return result


def is_blocked(exc: Exception) -> bool:
    """The user blocked the bot or it was removed from the group."""
    return isinstance(exc, Forbidden)
