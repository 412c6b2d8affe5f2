"""A message edited in place from a worker thread: the progress of background work.

The work (an import, a duplicate search) runs off the event loop and reports from its own
thread; `show` hands the edit to the loop with `run_coroutine_threadsafe`, at most every
`PROGRESS_INTERVAL` seconds and never more than one at a time, so the loop only waits and
every other chat is answered meanwhile. `finish` waits for an edit in flight first, so the
last text shown is the final one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import Future
from typing import Any

from telegram import Bot
from telegram.error import TelegramError

logger = logging.getLogger(__name__)

PROGRESS_INTERVAL = 2.0  # seconds between progress edits (Telegram: ~1 edit/s per chat)


class LiveMessage:
    """One message whose text a worker thread updates."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, bot: Bot, chat_id: int, message_id: int
    ) -> None:
        self.loop, self.bot = loop, bot
        self.chat_id, self.message_id = chat_id, message_id
        self.last = time.monotonic()
        self.pending: Future[Any] | None = None
        self.shown: str | None = None

    def show(self, text: str, *, now: bool = False) -> None:
        """From the worker thread: edit to `text` unless an edit is in flight or the last
        was under `PROGRESS_INTERVAL` ago (`now`: whatever the interval)."""
        moment = time.monotonic()
        if text == self.shown or (self.pending and not self.pending.done()):
            return
        if not now and moment - self.last < PROGRESS_INTERVAL:
            return
        self.last, self.shown = moment, text
        self.pending = asyncio.run_coroutine_threadsafe(self.edit(text), self.loop)

    async def edit(self, text: str) -> None:
        try:
            await self.bot.edit_message_text(
                text, chat_id=self.chat_id, message_id=self.message_id
            )
        except TelegramError as exc:  # a deleted message or a flood: the next edit may work
            logger.info("progress not shown: %s", exc)

    async def finish(self, text: str) -> None:
        """From the loop: the final text, after any progress edit still in flight."""
        if self.pending is not None:
            await asyncio.wrap_future(self.pending)
        await self.edit(text)
