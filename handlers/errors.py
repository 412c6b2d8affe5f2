"""The global error handler: log with enough context to debug a report, then tell the user.

Expected user mistakes never get here (parsers return errors and the step asks again). What
does get here is a bug or an outage; the user's draft is in the database, so the message can
promise that nothing they entered is lost.
"""

from __future__ import annotations

import logging

from telegram import CallbackQuery, Update
from telegram.error import BadRequest, NetworkError, TelegramError
from telegram.ext import ApplicationHandlerStop

from handlers.context import LANGUAGE_KEY, CrmContext
from handlers.i18n import resolve_language
from handlers.telegram_helpers import answer_query
from storage.db import is_unavailable

logger = logging.getLogger(__name__)


async def on_error(update: object, context: CrmContext) -> None:
    """Log and tell the member once; no later handler group answers the same update (a
    fallback would add "I did not understand that" to the error message)."""
    await _report(update, context)
    if isinstance(update, Update):
        raise ApplicationHandlerStop


async def _report(update: object, context: CrmContext) -> None:
    error = context.error
    info: dict[str, object] = {}
    if isinstance(update, Update):
        info["update_id"] = update.update_id
        if update.effective_user is not None:
            info["user_id"] = update.effective_user.id
    # The member is given the update id as the reference: support finds this line by it.
    reference = info.get("update_id", "-")
    logger.error(
        "error while handling an update (reference %s)", reference, exc_info=error, extra=info
    )
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if isinstance(error, NetworkError) and not isinstance(error, BadRequest):
        # Telegram itself is unreachable (retried already, `bot.api_retry`), or a send timed
        # out and may well have arrived: another message would fail or confuse.
        return
    if context.translator is None and update.effective_user is not None:
        # The gate did not get to pick the language (the database is away): what this process
        # remembers, else Telegram's language (another instance may have seen the member last).
        remembered = context.user_data.get(LANGUAGE_KEY) if context.user_data is not None else None
        language = resolve_language(
            remembered,
            update.effective_user.language_code,
            context.services.config.locale.default_language,
        )
        context.translator = context.services.catalogs.translator(language)
    key = "error.temporary" if is_unavailable(error) else "error.unexpected"
    if update.callback_query is not None:
        await _stop_spinner(update.callback_query, info)
    try:
        await context.bot.send_message(
            update.effective_chat.id, context.t(key, reference=reference)
        )
    except TelegramError:
        logger.warning("could not tell the user about the error", extra=info)


async def _stop_spinner(query: CallbackQuery, info: dict[str, object]) -> None:
    """Answer the button if its handler did not get to (a handler that did makes Telegram
    refuse a second answer); the message to the chat goes out whatever happens here."""
    try:
        await answer_query(query)
    except TelegramError:
        logger.warning("could not answer the button that failed", extra=info)
