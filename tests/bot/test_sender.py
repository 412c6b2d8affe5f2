"""The paced sender against the Bot API emulator: per-chat and global pacing, 429 honoured,
5xx / 403 / 400 reported, deadlines kept. Times are the emulator's arrival times."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from telegram import Bot

from bot.emulator import BotApiEmulator, BotMessage
from bot.sender import Delivery, Sender
from tests.e2e.helpers import eventually

CHATS = list(range(5001, 5041))


@pytest.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    for chat in CHATS:
        emu.add_user(chat, f"User {chat}")
    async with Bot(emu.token, base_url=emu.base_url, base_file_url=emu.base_file_url) as bot:
        yield bot


@pytest.fixture
def arrivals(emu: BotApiEmulator) -> list[tuple[float, int]]:
    """(monotonic time, chat id) of every message the emulator accepted."""
    seen: list[tuple[float, int]] = []

    def record(kind: str, message: BotMessage) -> None:
        if kind == "new":
            seen.append((time.monotonic(), message.chat_id))

    emu.subscribe(record)
    return seen


def send_calls(emu: BotApiEmulator) -> int:
    return sum(1 for method, _ in emu.calls if method == "sendMessage")


async def test_messages_to_one_chat_are_spaced_by_the_per_chat_interval(
    bot: Bot, arrivals: list[tuple[float, int]]
) -> None:
    sender = Sender(bot, global_per_second=1000, per_chat_interval=0.3)
    outcomes = await asyncio.gather(*(sender.send(CHATS[0], f"m{i}") for i in range(4)))
    assert outcomes == [Delivery.SENT] * 4
    times = [at for at, _ in arrivals]
    assert min(b - a for a, b in zip(times, times[1:], strict=False)) >= 0.28


async def test_messages_to_many_chats_keep_the_global_rate(
    bot: Bot, arrivals: list[tuple[float, int]]
) -> None:
    sender = Sender(bot, global_per_second=40, per_chat_interval=1.0)
    started = time.monotonic()
    await asyncio.gather(*(sender.send(chat, "hello") for chat in CHATS))
    assert len(arrivals) == len(CHATS)
    assert arrivals[-1][0] - started >= (len(CHATS) - 1) / 40 - 0.02
    window = [at for at, _ in arrivals if at - arrivals[0][0] < 0.5]
    assert len(window) <= 0.5 * 40 + 1


async def test_default_pace_raises_no_429_from_telegrams_limits(
    emu: BotApiEmulator, bot: Bot
) -> None:
    emu.enable_rate_limits(per_chat_per_second=1.0, global_per_second=30.0)
    sender = Sender(bot)
    jobs = [sender.send(chat, "burst") for chat in CHATS] + [
        sender.send(CHATS[0], f"again {i}") for i in range(2)
    ]
    outcomes = await asyncio.gather(*jobs)
    assert set(outcomes) == {Delivery.SENT}
    assert send_calls(emu) == len(jobs)  # not one refused call


async def test_429_pauses_the_chat_for_retry_after_then_sends_once(
    emu: BotApiEmulator, bot: Bot, arrivals: list[tuple[float, int]]
) -> None:
    emu.faults.fail("sendMessage", error_code=429, description="Too Many Requests", retry_after=1)
    sender = Sender(bot)
    started = time.monotonic()
    assert await sender.send(CHATS[0], "flooded") == Delivery.SENT
    assert [chat for _, chat in arrivals] == [CHATS[0]]
    assert arrivals[0][0] - started >= 1.0
    assert send_calls(emu) == 2


async def test_429_in_two_chats_pauses_every_chat(
    emu: BotApiEmulator, bot: Bot, arrivals: list[tuple[float, int]]
) -> None:
    emu.faults.fail(
        "sendMessage", error_code=429, description="Too Many Requests", retry_after=1, times=2
    )
    sender = Sender(bot, global_per_second=1000)
    flooded = asyncio.gather(sender.send(CHATS[0], "a"), sender.send(CHATS[1], "b"))
    await eventually(lambda: send_calls(emu) == 2)
    await eventually(lambda: sender.paused_until > time.monotonic())
    started = time.monotonic()
    assert await sender.send(CHATS[2], "c") == Delivery.SENT
    assert time.monotonic() - started >= 0.8
    assert await flooded == [Delivery.SENT, Delivery.SENT]


async def test_persistent_429_is_handed_back_for_a_later_retry(
    emu: BotApiEmulator, bot: Bot
) -> None:
    emu.faults.fail(
        "sendMessage", error_code=429, description="Too Many Requests", retry_after=1, times=3
    )
    sender = Sender(bot, max_flood_retries=1)
    assert await sender.send(CHATS[0], "x") == Delivery.RETRY
    assert send_calls(emu) == 2


@pytest.mark.parametrize("code", [500, 502, 503])
async def test_5xx_is_reported_for_retry(emu: BotApiEmulator, bot: Bot, code: int) -> None:
    emu.faults.fail("sendMessage", error_code=code, description="Internal Server Error")
    sender = Sender(bot)
    assert await sender.send(CHATS[0], "x") == Delivery.RETRY
    assert emu.bot_messages(CHATS[0]) == []
    assert await sender.send(CHATS[0], "x") == Delivery.SENT


async def test_blocked_chat_is_reported_blocked(emu: BotApiEmulator, bot: Bot) -> None:
    emu.block(CHATS[0])
    assert await Sender(bot).send(CHATS[0], "x") == Delivery.BLOCKED
    assert emu.bot_messages(CHATS[0]) == []


async def test_refused_message_is_reported_failed(emu: BotApiEmulator, bot: Bot) -> None:
    assert await Sender(bot).send(CHATS[0], "<b>unclosed") == Delivery.FAILED


async def test_slot_after_the_deadline_is_skipped_without_calling(
    emu: BotApiEmulator, bot: Bot
) -> None:
    sender = Sender(bot, per_chat_interval=10)
    assert await sender.send(CHATS[0], "first") == Delivery.SENT
    deadline = time.monotonic() + 1
    assert await sender.send(CHATS[0], "second", deadline=deadline) == Delivery.SKIPPED
    assert send_calls(emu) == 1


async def test_closed_sender_skips(emu: BotApiEmulator, bot: Bot) -> None:
    assert await Sender(bot, is_open=lambda: False).send(CHATS[0], "x") == Delivery.SKIPPED
    assert send_calls(emu) == 0
