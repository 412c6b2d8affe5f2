"""The bot object: PTB's ExtBot plus a durable inbox and a patient start-up.

* `get_updates` has each batch recorded in the inbox, leased to this instance, before the next
  call confirms it to Telegram (`bot.inbox_writer`: new updates are written while they are
  handled). Repeats (Telegram re-delivers after a crash) are returned too, so PTB confirms
  them; the update processor then skips the ones already handled.
* In webhook mode `InboxQueue` records each posted update before PTB's webhook server answers
  200, so an instance that dies after answering loses nothing either.
* If the database is down, updates are handled anyway without a record: the handlers meet
  the outage and tell the member to try again (`handlers.errors`). Raising instead would end
  PTB's polling loop for good.
* `initialize` retries `getMe` with backoff, so a network outage at start-up delays the bot
  instead of killing it (PTB would exit on the first failure).
* Every text and caption goes out within Telegram's length limits (`within_limits`), here
  and on the scheduled bot (`ScheduledBot`): a view that grew past them is shortened, never
  refused with "message is too long".
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from typing import Any

from telegram import Bot, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import ExtBot

from bot.inbox_writer import InboxWriter
from handlers.text_limits import MAX_CAPTION, MAX_TEXT, fit_html, html_length

logger = logging.getLogger(__name__)

STARTUP_BACKOFF_MAX_S = 60.0


def within_limits(endpoint: str, data: dict[str, Any]) -> dict[str, Any]:
    """A request's HTML text or caption fitted to Telegram's limit (handlers/text_limits.py).

    Views shorten their own long items first; a cut here means one did not, so it is logged.
    """
    if data.get("parse_mode") != ParseMode.HTML:
        return data
    fitted = dict(data)
    for key, limit in (("text", MAX_TEXT), ("caption", MAX_CAPTION)):
        value = data.get(key)
        if isinstance(value, str) and (length := html_length(value)) > limit:
            logger.warning("%s: %s of %d characters cut to %d", endpoint, key, length, limit)
            fitted[key] = fit_html(value, limit)
    return fitted


class CrmBot(ExtBot[None]):
    startup_first_delay_s = 1.0

    def __init__(self, *args: Any, inbox: InboxWriter, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._inbox = inbox

    async def _do_post(self, endpoint: str, data: Any, **kwargs: Any) -> Any:
        """Where PTB puts a request on the wire, after filling in the defaults (parse mode)."""
        return await super()._do_post(endpoint, within_limits(endpoint, data), **kwargs)

    async def get_updates(self, *args: Any, **kwargs: Any) -> tuple[Update, ...]:
        await self._inbox.flush()  # this call confirms the last batch: it must be recorded
        updates = await super().get_updates(*args, **kwargs)
        if updates:
            await self._inbox.record_polled(updates)
        return updates

    async def initialize(self) -> None:
        delay = self.startup_first_delay_s
        while True:
            try:
                await super().initialize()
                return
            except InvalidToken:
                raise
            except RetryAfter as exc:
                wait = float(
                    exc.retry_after
                    if isinstance(exc.retry_after, int | float)
                    else exc.retry_after.total_seconds()
                )
                logger.warning("Bot API asks to wait %.0f s before start-up", wait)
                await asyncio.sleep(wait)
            except (NetworkError, TimedOut) as exc:
                logger.warning(
                    "Bot API not reachable at start-up (%s); retrying in %.0f s", exc, delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, STARTUP_BACKOFF_MAX_S)


class ScheduledBot(Bot):
    """The plain bot of scheduled deliveries (bot/sender.py), within the same limits."""

    async def _do_post(self, endpoint: str, data: Any, **kwargs: Any) -> Any:
        return await super()._do_post(endpoint, within_limits(endpoint, data), **kwargs)


class InboxQueue(asyncio.Queue[object]):
    """The application's update queue in webhook mode: an update is in the inbox before
    PTB's webhook handler answers Telegram 200."""

    def __init__(self, inbox: InboxWriter) -> None:
        super().__init__()
        self._inbox = inbox

    async def put(self, item: object) -> None:
        if isinstance(item, Update):
            await self._inbox.record([item])
        await super().put(item)


def updates_from_payloads(payloads: Sequence[str], bot: ExtBot[None]) -> list[Update]:
    """Rebuild stored updates, for replaying the inbox after a crash."""
    return [Update.de_json(json.loads(payload), bot) for payload in payloads]
