"""The people an emulator knew survive its restart when saved (the console keeps them)."""

from __future__ import annotations

from pathlib import Path

import pytest
from telegram import Bot
from telegram.error import BadRequest, Forbidden

from bot.emulator import BotApiEmulator

TOKEN = "123456:TEST-token"


async def send_after_restart(path: Path, *, load: bool) -> int:
    """A new emulator (loading `path` or not); the bot's first message to user 2002."""
    async with BotApiEmulator(token=TOKEN) as emu:
        if load:
            emu.load_people(path)
        async with Bot(TOKEN, base_url=emu.base_url) as bot:
            sent = await bot.send_message(2002, "Big deal won")
        return sent.message_id


async def test_saved_users_still_get_messages_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "people.json"
    async with BotApiEmulator(token=TOKEN) as emu:
        emu.add_user(2002, "李娜", language_code="zh-hans")
        await emu.send_text(2002, "/start")
        emu.save_people(path)
    with pytest.raises(BadRequest, match="not found"):
        await send_after_restart(path, load=False)
    assert await send_after_restart(path, load=True) == 2  # after the user's /start, not over it
    async with BotApiEmulator(token=TOKEN) as emu:
        emu.load_people(path)
        assert emu.user(2002) == {
            "id": 2002,
            "is_bot": False,
            "first_name": "李娜",
            "language_code": "zh-hans",
        }


async def test_a_blocked_bot_stays_blocked_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "people.json"
    async with BotApiEmulator(token=TOKEN) as emu:
        emu.add_user(2002, "Sam")
        emu.block(2002)
        emu.save_people(path)
    with pytest.raises(Forbidden):
        await send_after_restart(path, load=True)
