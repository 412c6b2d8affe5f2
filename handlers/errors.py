"""The global error handler: log with enough context to debug a report, then tell the user.

Expected user mistakes never get here (parsers return errors and the step asks again). What
does get here is a bug or an outage; the user's draft is in the database, so the message can
promise that nothing they entered is lost.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from telegram import Update
from telegram.error import TelegramError

from handlers.context import CrmContext

logger = logging.getLogger(__name__)


async def on_error(update: object, context: CrmContext) -> None:
    error = context.error
    info: dict[str, object] = {}
    if isinstance(update, Update):
        info["update_id"] = update.update_id
        if update.effective_user is not None:
            info["user_id"] = update.effective_user.id
    logger.error("error while handling an update", exc_info=error, extra=info)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    temporary = isinstance(error, OperationalError | PoolTimeout)
    key = "error.temporary" if temporary else "error.unexpected"
    reference = update.update_id
    try:
        if update.callback_query is not None:
            await update.callback_query.answer()
        await context.bot.send_message(
            update.effective_chat.id, context.t(key, reference=reference)
        )
    except TelegramError:
        logger.warning("could not tell the user about the error", extra=info)
