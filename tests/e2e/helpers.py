"""Small test helpers: catalog text as the user sees it (HTML removed), polling waits,
webhook set-up."""

from __future__ import annotations

import asyncio
import html
import re
import socket
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select
from telegram import Bot, Update

from bot import app as bot_app
from bot.app import CrmApplication, services_of
from bot.config import Config, Mode, TelegramConfig, WebhookConfig
from bot.emulator import BotApiEmulator
from handlers.feature import Job
from handlers.i18n import Catalogs
from storage.db import Database
from tests.conftest import ADMIN_ID, TOKEN, RunningBot, make_config
from tests.e2e.user import ScriptedUser

_TAG = re.compile(r"<[^>]+>")


def shown(catalogs: Catalogs, language: str, key: str, **params: object) -> str:
    """The plain text Telegram shows for a catalog message."""
    return html.unescape(_TAG.sub("", catalogs.translator(language)(key, **params)))


def retime(
    monkeypatch: pytest.MonkeyPatch, *names: str, every: timedelta, first: timedelta | None = None
) -> None:
    """Tick the named jobs (`handlers.feature.Job`) of the next bot started at another pace:
    hours parks them (the test runs the pass itself), a fraction of a second lets the real
    ticker work within the test."""

    def paced(job: Job) -> Job:
        return replace(job, every=every, first=first or every) if job.name in names else job

    features = tuple(replace(f, jobs=tuple(map(paced, f.jobs))) for f in bot_app.FEATURES)
    monkeypatch.setattr(bot_app, "FEATURES", features)


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


async def taken_behind_the_bots_back(emu: BotApiEmulator, chat_id: int, text: str) -> Update:
    """`text` from the user, fetched and confirmed by another client: Telegram will not send it
    again, as after a process that accepted it and died."""
    await emu.send_text(chat_id, text)
    async with Bot(TOKEN, base_url=emu.base_url) as raw:
        (update,) = await raw.get_updates(timeout=0)
        await raw.get_updates(offset=update.update_id + 1, timeout=0)
    return update


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def webhook_config(
    emu: BotApiEmulator, db_url: str, *, port: int, url: str, secret: str
) -> Config:
    """The test config in webhook mode: served on 127.0.0.1:`port`, Telegram told `url`."""
    telegram = TelegramConfig(
        base_url=emu.base_url,
        base_file_url=emu.base_file_url,
        mode=Mode.WEBHOOK,
        webhook=WebhookConfig(listen="127.0.0.1", port=port, url=url, secret_token=secret),
    )
    return make_config(emu, db_url).model_copy(update={"telegram": telegram})


def forged_update(update_id: int) -> dict[str, Any]:
    """A `/help` from the admin as someone who is not Telegram would post it to a webhook."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": ADMIN_ID, "type": "private"},
            "from": {"id": ADMIN_ID, "is_bot": False, "first_name": "Ada"},
            "text": "/help",
        },
    }


def pinned(running_bot: RunningBot, now: datetime) -> CrmApplication:
    """The running application with its clock stopped at `now` (what jobs take as now)."""
    assert running_bot.application is not None
    services_of(running_bot.application).clock = lambda: now
    return running_bot.application
