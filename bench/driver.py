"""Driving a bot through the Bot API emulator and timing each exchange, for the benchmarks.

A reply is stamped when the bot's sendMessage had reached the emulator whole (before the
emulator parses its HTML and checks its keyboard: Telegram's work, 0.8 ms for a customer card
and 0.02 ms for the echo bot's plain text, measured), and the request when the emulator
accepts the user's message, so a latency is exactly "the update was available to the bot" to
"the answer reached Telegram", for any bot on the emulator: ours or the python-telegram-bot
echo bot that serves as the floor. `Replies.handling_ms` keeps what the emulator's own
handling of each reply took after that, to show what the stamp leaves out.
"""

from __future__ import annotations

import asyncio
import html
import os
import re
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot.app import (
    CrmApplication,
    build_application,
    freeze_startup_objects,
    start_application,
    stop_application,
    watch_errors,
)
from bot.config import AccessConfig, Config, DatabaseConfig, TelegramConfig
from bot.emulator import BotApiEmulator, BotMessage
from handlers.i18n import Catalogs

os.environ.setdefault("PTB_TIMEDELTA", "true")  # as `crm-bot` sets it: no deprecation warning

TOKEN = "123456:BENCH-token-for-the-emulator"
REPLY_TIMEOUT_S = 60.0
_TAG = re.compile(r"<[^>]+>")


class BenchError(RuntimeError):
    """The bot answered something other than what the step expects (or nothing)."""


class Replies:
    """The bot's new messages per chat, each stamped when it reached the emulator; the
    emulator's own time on each goes to `handling_ms` (a list the caller may share)."""

    def __init__(self, emu: BotApiEmulator, handling_ms: list[float] | None = None) -> None:
        self.emu = emu
        self._queues: dict[int, asyncio.Queue[tuple[float, BotMessage]]] = defaultdict(
            asyncio.Queue
        )
        self.handling_ms = [] if handling_ms is None else handling_ms
        emu.subscribe(self._on_change)

    def _on_change(self, kind: str, message: BotMessage) -> None:
        if kind == "new":
            accepted = time.perf_counter()
            received = self.emu.state.call_received_at or accepted
            self.handling_ms.append((accepted - received) * 1000)
            self._queues[message.chat_id].put_nowait((received, message))

    async def exchange(
        self, user_id: int, text: str, *, replies: int = 1
    ) -> tuple[float, list[BotMessage]]:
        """Send `text` as the user; (ms until the last of `replies` new messages, the messages)."""
        queue = self._queues[user_id]
        while not queue.empty():  # anything left over belongs to an earlier exchange
            queue.get_nowait()
        started = time.perf_counter()
        await self.emu.send_text(user_id, text)
        arrived, messages = started, []
        for _ in range(replies):
            try:
                arrived, message = await asyncio.wait_for(queue.get(), REPLY_TIMEOUT_S)
            except TimeoutError:
                raise BenchError(f"no reply to {text!r} from chat {user_id}") from None
            messages.append(message)
        return (arrived - started) * 1000, messages


class Texts:
    """Catalog texts as the user sees them (HTML removed), to check each reply is the right one."""

    def __init__(self, language: str = "en") -> None:
        self._t = Catalogs().translator(language)

    def shown(self, key: str, **params: object) -> str:
        return html.unescape(_TAG.sub("", self._t(key, **params)))


def crm_config(emu: BotApiEmulator, db_url: str, admins: list[int]) -> Config:
    return Config(
        telegram=TelegramConfig(base_url=emu.base_url, base_file_url=emu.base_file_url),
        database=DatabaseConfig(url=db_url),
        access=AccessConfig(admins=admins),
    )


@asynccontextmanager
async def running_crm_bot(
    emu: BotApiEmulator,
    db_url: str,
    admins: list[int],
    errors: list[BaseException],
    *,
    rate_limited: bool = True,
) -> AsyncIterator[CrmApplication]:
    """Our bot, built and started exactly as the end-to-end tests (and `crm-bot run`) do.

    `rate_limited=False` takes out the AIORateLimiter (Telegram's 30 msg/s) to measure the
    bot's own capacity; PTB offers no public way to drop it after building.
    """
    application = build_application(crm_config(emu, db_url, admins), token=TOKEN)
    if not rate_limited:
        application.bot._rate_limiter = None  # noqa: SLF001 - see the docstring

    async def record(_update: object, context: Any) -> None:
        errors.append(context.error)

    watch_errors(application, record)
    await start_application(application, poll_timeout=1)
    freeze_startup_objects()  # as `serve` does in `crm-bot run`
    try:
        yield application
    finally:
        await stop_application(application)


async def _echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    await update.message.reply_text(update.message.text or "")


@asynccontextmanager
async def running_echo_bot(
    emu: BotApiEmulator,
) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    """The floor: python-telegram-bot's smallest bot with default settings, polling `emu`."""
    application = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(emu.base_url)
        .base_file_url(emu.base_file_url)
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, _echo))
    await application.initialize()
    assert application.updater is not None
    await application.updater.start_polling()
    await application.start()
    try:
        yield application
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
