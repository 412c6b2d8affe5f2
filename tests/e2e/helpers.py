"""Small test helpers: catalog text as the user sees it (HTML removed), polling waits."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Callable
from typing import Any

from sqlmodel import select

from bot.emulator import BotApiEmulator
from handlers.i18n import Catalogs
from storage.db import Database
from tests.e2e.user import ScriptedUser

_TAG = re.compile(r"<[^>]+>")


def shown(catalogs: Catalogs, language: str, key: str, **params: object) -> str:
    """The plain text Telegram shows for a catalog message."""
    return html.unescape(_TAG.sub("", catalogs.translator(language)(key, **params)))


def first_line(catalogs: Catalogs, language: str, key: str, **params: object) -> str:
    return shown(catalogs, language, key, **params).splitlines()[0]


def start_code(text: str) -> str:
    match = re.search(r"\?start=([\w-]+)", text)
    assert match, f"no invite link in {text!r}"
    return match[1]


async def eventually(predicate: Callable[[], object], timeout: float = 5.0) -> None:  # noqa: ASYNC109
    """Wait for something the bot does after its visible reply (a log, a background write)."""
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110 (the predicate is not an event to wait on)
            await asyncio.sleep(0.01)


async def invite_link(admin: ScriptedUser, role_label: str) -> str:
    """What an admin gets after /invite and picking the role: the message with the link."""
    await admin.send("/invite")
    choice = await admin.reply()
    await admin.press(role_label, message=choice)
    return (await admin.edited(choice)).text


async def join(
    emu: BotApiEmulator,
    admin: ScriptedUser,
    user_id: int,
    name: str,
    role_label: str = "A salesperson",
    language_code: str | None = "en",
) -> ScriptedUser:
    """A new member, invited by `admin` and through the joined + welcome messages."""
    link = await invite_link(admin, role_label)
    user = ScriptedUser(emu, user_id, name, language_code=language_code)
    await user.send(f"/start {start_code(link)}")
    await user.replies(2)
    return user


async def answer(user: ScriptedUser, text: str) -> str:
    """Send a text and return the bot's next reply as the user reads it."""
    await user.send(text)
    return (await user.reply()).text


def rows(db_url: str, model: Any) -> list[Any]:
    """Every row of a table, oldest first: what the bot really stored."""
    db = Database(db_url)
    found = db.run_sync(lambda s: list(s.exec(select(model).order_by(model.id))))
    db.close()
    return found
