"""The emulator's sendMediaGroup: an album is one message per photo with a shared group id,
uploaded bytes kept; Telegram's 2-10 item rule is enforced."""

from __future__ import annotations

import pytest
from telegram import Bot, InputMediaPhoto
from telegram.error import BadRequest

from bot.emulator import BotApiEmulator
from tests.bot.test_emulator import USER_ID, bot, emu  # noqa: F401 (fixtures)


async def test_album_is_one_message_per_photo_with_a_shared_group(
    bot: Bot,  # noqa: F811
    emu: BotApiEmulator,  # noqa: F811
) -> None:
    images = [b"\x89PNG-one", b"\x89PNG-two", b"\x89PNG-three"]
    sent = await bot.send_media_group(USER_ID, [InputMediaPhoto(image) for image in images])
    assert len(sent) == 3
    messages = emu.bot_messages(USER_ID)
    assert [emu.state.files[m.photo.file_id].content for m in messages if m.photo] == images
    assert len({m.raw["media_group_id"] for m in messages}) == 1


async def test_album_of_one_photo_is_refused(bot: Bot) -> None:  # noqa: F811
    with pytest.raises(BadRequest, match="2-10 items"):
        await bot.send_media_group(USER_ID, [InputMediaPhoto(b"\x89PNG")])
