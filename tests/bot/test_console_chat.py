"""The console's chat against the emulator alone, for what the real bot never sends (an
alert): a press answered only by a pop-up prints it and no "(no reply)"."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from io import StringIO
from pathlib import Path

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

from bot.console import ADMIN_ID, CONSOLE_TOKEN, ConsoleChat
from bot.emulator import BotApiEmulator


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=CONSOLE_TOKEN) as emulator:
        yield emulator


@pytest.mark.parametrize(("show_alert", "shown"), [(True, "alert"), (False, "pop-up")])
async def test_a_press_answered_only_by_a_notice_prints_it(
    emu: BotApiEmulator, tmp_path: Path, show_alert: bool, shown: str
) -> None:
    out = StringIO()
    chat = ConsoleChat(emu, out, tmp_path)
    async with Bot(CONSOLE_TOKEN, base_url=emu.base_url) as bot:
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go")]])
        await bot.send_message(ADMIN_ID, "Card", reply_markup=keyboard)

        async def answer() -> None:
            queries = emu.state.callback_queries
            query_id = await emu.state.wait_for(lambda: next(iter(queries), None), 5, "press")
            await bot.answer_callback_query(query_id, "Deal closed", show_alert=show_alert)

        answering = asyncio.create_task(answer())
        assert await chat.handle("1")
        await answering
    assert out.getvalue().splitlines()[-1] == f"bot ({shown}): Deal closed"
    assert "(no reply)" not in out.getvalue()
