"""Nothing is lost or doubled: restarts, kill -9, re-delivered updates, API faults, secrets."""

from __future__ import annotations

import asyncio
import signal
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from bot.emulator import BotApiEmulator
from bot.telegram_bot import CrmBot
from handlers.i18n import Catalogs
from storage.db import Database
from storage.inbox import record_received
from storage.models import Customer, CustomerPhone, InboxUpdate, Invite, utcnow
from tests.conftest import ADMIN_ID, TOKEN, RunningBot
from tests.e2e.helpers import eventually, join, rows, shown, start_code, taken_behind_the_bots_back
from tests.e2e.process import count, spawn_bot, write_config
from tests.e2e.user import ScriptedUser


async def test_restart_keeps_members(
    emu: BotApiEmulator, running_bot: RunningBot, admin: ScriptedUser, catalogs: Catalogs
):
    sam = await join(emu, admin, 2002, "Sam")
    await running_bot.restart()
    await sam.send("/start")
    assert (await sam.reply()).text == shown(catalogs, "en", "start.welcome.sales", name="Sam")


async def test_update_delivered_twice_is_handled_once(
    emu: BotApiEmulator, admin: ScriptedUser, db_url: str
):
    await admin.send("/invite sales")
    await admin.reply()
    await emu.wait_until_confirmed()
    invite_update = max(u for u, _ in _inbox(db_url))
    emu.redeliver(invite_update)
    await admin.send("/cancel")  # a later update: once it is answered, the repeat was seen
    await admin.reply()
    assert len(emu.bot_messages(admin.chat_id)) == 2
    assert count(db_url, Invite) == 1


async def test_updates_accepted_before_a_crash_are_handled_after_restart(
    emu: BotApiEmulator,
    running_bot: RunningBot,
    admin: ScriptedUser,
    catalogs: Catalogs,
    db_url: str,
):
    await admin.send("/start")
    await admin.reply()
    await running_bot.stop()
    # What a process that died right after accepting a batch leaves behind: an update in the
    # inbox that Telegram considers delivered and will never send again.
    update = await taken_behind_the_bots_back(emu, ADMIN_ID, "/help")
    db = Database(db_url)
    db.run_sync(record_received, updates=[(update.update_id, update.to_json())])
    db.close()
    await running_bot.start()
    reply = await admin.reply()
    assert reply.text.startswith(shown(catalogs, "en", "help.title"))
    await eventually(lambda: all(status == "done" for _, status in _inbox(db_url)))


async def test_start_up_waits_for_an_unreachable_api(
    emu: BotApiEmulator, db_url: str, monkeypatch: pytest.MonkeyPatch, catalogs: Catalogs
):
    monkeypatch.setattr(CrmBot, "startup_first_delay_s", 0.05)
    emu.faults.fail("getMe", error_code=502, description="Bad Gateway", times=3)
    bot = RunningBot(emu, db_url)
    await bot.start()
    admin = ScriptedUser(emu, ADMIN_ID, "Ada")
    await admin.send("/start")
    assert (await admin.reply()).text == shown(catalogs, "en", "start.welcome.admin", name="Ada")
    await bot.stop()


async def test_kill_9_keeps_members_and_the_token_stays_out_of_logs(
    emu: BotApiEmulator, db_url: str, tmp_path: Path, catalogs: Catalogs
):
    config = write_config(tmp_path, emu, db_url)
    logs = tmp_path / "bot.log"
    admin = ScriptedUser(emu, ADMIN_ID, "Ada")
    process = await spawn_bot(config, logs)
    try:
        await admin.send("/invite sales")
        link = (await admin.reply(timeout=60)).text
        sam = ScriptedUser(emu, 2002, "Sam")
        await sam.send(f"/start {start_code(link)}")
        await sam.replies(2, timeout=20)
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    process = await spawn_bot(config, logs)
    try:
        await sam.send("/start")
        assert (await sam.reply(timeout=60)).text == shown(
            catalogs, "en", "start.welcome.sales", name="Sam"
        )
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    output = logs.read_text(encoding="utf-8")
    assert "getUpdates" in output or "Polling" in output or "running" in output
    assert TOKEN not in output
    assert TOKEN.split(":")[1] not in output


async def test_kill_9_in_the_middle_of_an_entry_loses_no_answer(
    emu: BotApiEmulator, db_url: str, tmp_path: Path
):
    config, logs = write_config(tmp_path, emu, db_url), tmp_path / "bot.log"
    admin = ScriptedUser(emu, ADMIN_ID, "Ada")
    process = await spawn_bot(config, logs)
    try:
        await admin.send("/newcustomer")
        await admin.replies(2, timeout=60)
        await admin.send("Zhang Wei")
        await admin.reply()
        await admin.send("138 0013 8000")
        await admin.reply()
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    process = await spawn_bot(config, logs)
    try:
        await admin.send("zw@acme.cn")  # the next step, answered to the new process
        await admin.reply(timeout=60)
        await admin.press("Review ✓")
        summary = await admin.reply()
        assert summary.text.splitlines()[1:] == [
            "Name: Zhang Wei",
            "Phones: 138 0013 8000",
            "Email: zw@acme.cn",
        ]
        save_button = summary.find_button("✅ Save")
        assert save_button is not None
        assert save_button.callback_data is not None
        save_data = save_button.callback_data
        await admin.press("✅ Save", message=summary)
        await admin.reply()
    finally:
        process.send_signal(signal.SIGKILL)  # killed again, right after the confirm
        await process.wait()
    (customer,) = rows(db_url, Customer)
    assert (customer.name, customer.email) == ("Zhang Wei", "zw@acme.cn")
    assert [p.e164 for p in rows(db_url, CustomerPhone)] == ["+8613800138000"]
    save = [u["update_id"] for u in emu.update_history() if "callback_query" in u][-1]
    _expire_inbox_leases(db_url)  # the dead process's unfinished updates are replayed at start
    process = await spawn_bot(config, logs)
    try:
        emu.redeliver(save)  # Telegram sends the confirm again to the new process
        await admin.press_data(save_data, summary)  # and a late double tap on the old card
        await admin.send("/cancel")
        await admin.reply(timeout=60)
        await emu.wait_until_confirmed()
        await eventually(lambda: all(status == "done" for _, status in _inbox(db_url)))
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    assert count(db_url, Customer) == 1
    assert len(rows(db_url, CustomerPhone)) == 1


def _inbox(db_url: str) -> list[tuple[int, str]]:
    db = Database(db_url)
    rows = db.run_sync(lambda s: [(r.update_id, r.status) for r in s.exec(select(InboxUpdate))])
    db.close()
    return rows


def _expire_inbox_leases(db_url: str) -> None:
    """What waiting out `[instances] update_lease_seconds` after a kill does, without the wait."""
    db = Database(db_url)
    db.run_sync(
        lambda s: s.execute(
            update(InboxUpdate)
            .where(col(InboxUpdate.claimed_by).is_not(None))
            .values(claimed_until=utcnow() - timedelta(seconds=1))
        )
    )
    db.close()
