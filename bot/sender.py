"""The outbound sender for scheduled messages: paced to Telegram's limits, honest about errors.

Telegram allows about 30 messages a second overall and one a second per private chat. PTB's
AIORateLimiter has no per-chat limit, does not retry a 429 unless asked, and with retries on
one 429 pauses every chat (docs/stack-facts.md): scheduled deliveries avoid it, and the sender
uses its own plain `Bot` on the application's connection pool and paces itself.

Pacing sleeps exactly as long as needed, never polls: a send waits until its chat's interval
has passed since the chat's last send, then queues at a global gate that lets one send out
every 1/rate seconds. A 429 pauses that chat for `retry_after` and is retried here
(a 429 means the message was not delivered). When 429s hit two different chats within the
pause, the limit is the global one, so the whole sender pauses.

Each send reports a `Delivery` and never raises for Telegram errors; the caller records it in
the database (retry with backoff, unreachable member, failure), so a crash loses no schedule:
- `SENT`: Telegram accepted it.
- `RETRY`: network error, 5xx, or still flooded after `max_flood_retries`. A `TimedOut` send
  may have been delivered (the Bot API has no idempotency key); it is retried after a delay
  anyway: a rare double reminder is better than a silently lost one. HTTP timeouts are long
  (15 s), so a timed-out but delivered send is rare.
- `BLOCKED`: 403, the member blocked the bot.
- `FAILED`: 400, Telegram refuses this message; retrying cannot help.
- `SKIPPED`: not attempted, because the slot would fall after the caller's deadline (its lease
  on the reminder) or the sender is closing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from enum import StrEnum

from telegram import Bot, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.telegram_bot import ScheduledBot

logger = logging.getLogger(__name__)

GLOBAL_PER_SECOND = 29.0  # Telegram's ~30/s, less a margin for network jitter
PER_CHAT_INTERVAL_S = 1.05  # one a second per chat, plus the same margin
MAX_FLOOD_RETRIES = 5


class Delivery(StrEnum):
    """How one send ended (the record edits' `Outcome` in handlers is a different thing)."""

    SENT = "sent"
    RETRY = "retry"
    BLOCKED = "blocked"
    FAILED = "failed"
    SKIPPED = "skipped"


def scheduled_bot(bot: Bot) -> Bot:
    """A plain Bot (no AIORateLimiter) sharing `bot`'s token, server and connection pool.
    It never polls; its polling slot gets the same pool, not a client PTB would build."""
    base_url = bot.base_url.removesuffix(bot.token)
    base_file_url = bot.base_file_url.removesuffix(bot.token)
    return ScheduledBot(
        bot.token,
        base_url=base_url,
        base_file_url=base_file_url,
        request=bot.request,
        get_updates_request=bot.request,
    )


class Sender:
    """Sends text messages at Telegram's pace; one instance per running bot."""

    def __init__(
        self,
        bot: Bot,
        *,
        global_per_second: float = GLOBAL_PER_SECOND,
        per_chat_interval: float = PER_CHAT_INTERVAL_S,
        max_flood_retries: int = MAX_FLOOD_RETRIES,
        is_open: Callable[[], bool] = lambda: True,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bot = bot
        self.global_interval = 1.0 / global_per_second
        self.per_chat_interval = per_chat_interval
        self.max_flood_retries = max_flood_retries
        self.is_open = is_open
        self.monotonic = monotonic
        self._next_global = 0.0
        self._next_chat: dict[int, float] = {}
        self._paused_until = 0.0
        self._chat_paused_until: dict[int, float] = {}
        self._last_flood: tuple[int, float] | None = None  # (chat, when) of the last 429
        self._gate = asyncio.Lock()

    @property
    def paused_until(self) -> float:
        """Monotonic time until which the whole sender waits after a global 429."""
        return self._paused_until

    async def send(
        self,
        chat_id: int,
        text: str,
        *,
        reply_markup: InlineKeyboardMarkup | None = None,
        deadline: float | None = None,
    ) -> Delivery:
        """Send one HTML message when a slot is free; `deadline` is monotonic (the lease end)."""
        return await self.deliver(
            chat_id,
            lambda: self.bot.send_message(
                chat_id, text, parse_mode=ParseMode.HTML, reply_markup=reply_markup
            ),
            deadline=deadline,
        )

    async def deliver(
        self,
        chat_id: int,
        call: Callable[[], Awaitable[object]],
        *,
        deadline: float | None = None,
    ) -> Delivery:
        """Make one Bot API `call` to `chat_id` (a message, photos) when a slot is free, and
        say how it went."""
        floods = 0
        while True:
            slot = await self._wait_for_slot(chat_id, deadline)
            if slot is None:
                return Delivery.SKIPPED
            try:
                await call()
            except RetryAfter as exc:
                floods += 1
                self._flooded(chat_id, _seconds(exc.retry_after))
                if floods > self.max_flood_retries:
                    return Delivery.RETRY
                continue
            except Forbidden as exc:
                logger.info("chat %s blocked the bot: %s", chat_id, exc.message)
                return Delivery.BLOCKED
            except BadRequest as exc:
                logger.error("Telegram refused a scheduled message to %s: %s", chat_id, exc)
                return Delivery.FAILED
            except TelegramError as exc:  # NetworkError: TimedOut, 5xx, connection errors
                logger.warning("send to %s failed, will retry: %r", chat_id, exc)
                return Delivery.RETRY
            return Delivery.SENT

    async def _wait_for_slot(self, chat_id: int, deadline: float | None) -> float | None:
        """Wait until this chat and the global gate both allow a send; None to give up.

        The global gate is a FIFO lock held while waiting out the interval, and the next slot
        counts from when a send actually went out: a stalled event loop then delays the sends
        after it instead of letting them out in a burst (Telegram counts arrivals).
        """
        while True:
            if not self.is_open():
                return None
            now = self.monotonic()
            chat_ready = self._chat_ready(chat_id)
            if deadline is not None and max(now, chat_ready, self._paused_until) > deadline:
                return None
            if chat_ready > now:
                await asyncio.sleep(chat_ready - now)
                continue
            async with self._gate:
                wait = max(self._next_global, self._paused_until) - self.monotonic()
                if deadline is not None and self.monotonic() + wait > deadline:
                    return None
                if wait > 0:
                    await asyncio.sleep(wait)
                now = self.monotonic()
                if not self.is_open() or self._chat_ready(chat_id) > now + 1e-3:
                    continue  # closing, or this chat was flooded meanwhile: queue again
                self._next_global = now + self.global_interval
                self._next_chat[chat_id] = now + self.per_chat_interval
                return now

    def _chat_ready(self, chat_id: int) -> float:
        return max(self._next_chat.get(chat_id, 0.0), self._chat_paused_until.get(chat_id, 0.0))

    def _flooded(self, chat_id: int, retry_after: float) -> None:
        now = self.monotonic()
        until = now + retry_after
        self._chat_paused_until[chat_id] = max(self._chat_paused_until.get(chat_id, 0.0), until)
        last = self._last_flood
        if last is not None and last[0] != chat_id and now - last[1] <= max(retry_after, 1.0):
            logger.warning("global flood limit: pausing all sends for %.1f s", retry_after)
            self._paused_until = max(self._paused_until, until)
        else:
            logger.info("chat %s flooded: pausing it for %.1f s", chat_id, retry_after)
        self._last_flood = (chat_id, now)


def _seconds(retry_after: int | timedelta) -> float:
    return retry_after.total_seconds() if isinstance(retry_after, timedelta) else retry_after
