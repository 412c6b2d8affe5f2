"""An update that lost its place to a later one of its chat is answered, never dropped."""

from __future__ import annotations

import asyncio
import signal
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from bot import inbox_leases
from bot.app import build_application, start_application, stop_application
from bot.config import InstancesConfig
from bot.emulator import BotApiEmulator
from bot.processing import PerChatUpdateProcessor
from handlers.i18n import Catalogs
from storage.db import Database
from storage.inbox import Received, record_received
from storage.models import InboxUpdate, utcnow
from tests.conftest import ADMIN_ID, TOKEN, RunningBot
from tests.e2e.helpers import (
    answer,
    eventually,
    free_port,
    shown,
    taken_behind_the_bots_back,
    webhook_config,
)
from tests.e2e.process import spawn_bot
from tests.e2e.user import ScriptedUser

SECRET = "shared-s3cret"
# Short, so a member's wait after a kill (a lease) is short here too.
LEASE_S = 2


async def test_a_replayed_update_whose_place_was_taken_is_answered(
    emu: BotApiEmulator,
    running_bot: RunningBot,
    admin: ScriptedUser,
    catalogs: Catalogs,
    db_url: str,
):
    """The phone number reached an instance that died; the e-mail sent next was handled
    first. Replayed afterwards, the phone cannot be applied any more: the member is told,
    instead of the update being dropped in silence."""
    await admin.send("/newcustomer")
    await admin.replies(2)
    await answer(admin, "Zhang Wei")
    await running_bot.stop()
    phone = await taken_behind_the_bots_back(emu, ADMIN_ID, "13800138000")
    await running_bot.start()
    await answer(admin, "zw@acme.cn")  # handled at the phone step, before the phone
    db = Database(db_url)
    db.run_sync(record_received, updates=[Received(phone.update_id, phone.to_json(), ADMIN_ID)])
    db.close()
    assert running_bot.application is not None
    assert await inbox_leases.replay_stale(running_bot.application) == 1
    assert (await admin.reply()).text == shown(
        catalogs, "en", "flow.arrived_late", text="13800138000"
    )


async def test_a_killed_instances_update_is_handled_before_the_chats_next_one(
    emu: BotApiEmulator, catalogs: Catalogs, tmp_path: Path, db_url: str
):
    """Instance A accepts the phone number and is killed (-9) before handling it; the e-mail
    sent next reaches B. B handles the phone first, then the e-mail, once A's lease ran out
    (the bound the README gives: a lease after A died)."""
    if db_url.startswith("sqlite"):
        pytest.skip("several instances need PostgreSQL: a SQLite file belongs to one process")
    port_a, port_b = free_port(), free_port()
    url_a, url_b = (f"http://127.0.0.1:{port}/telegram" for port in (port_a, port_b))
    config_a = tmp_path / "a.toml"
    config_a.write_text(
        f'[telegram]\ntoken = "{TOKEN}"\nbase_url = "{emu.base_url}"\n'
        f'base_file_url = "{emu.base_file_url}"\nmode = "webhook"\n'
        f'[telegram.webhook]\nlisten = "127.0.0.1"\nport = {port_a}\nurl = "{url_a}"\n'
        f'secret_token = "{SECRET}"\n[database]\nurl = "{db_url}"\n'
        f"[access]\nadmins = [{ADMIN_ID}]\n[instances]\nupdate_lease_seconds = {LEASE_S}\n",
        encoding="utf-8",
    )
    config_b = webhook_config(emu, db_url, port=port_b, url=url_b, secret=SECRET)
    instances = InstancesConfig(update_lease_seconds=LEASE_S)
    b = build_application(config_b.model_copy(update={"instances": instances}), token=TOKEN)
    await start_application(b)
    process = await spawn_bot(config_a, tmp_path / "a.log")
    try:
        await _until_listening(url_a)
        emu.set_webhook_targets([url_b])
        admin = ScriptedUser(emu, ADMIN_ID, "Ada")
        await admin.send("/newcustomer")
        await admin.replies(2)
        await answer(admin, "Zhang Wei")
        # A waits before the phone: the name's update looks still held by a live instance.
        name_id = max(_inbox_ids(db_url))
        _hold(db_url, name_id, by="elsewhere")
        emu.set_webhook_targets([url_a])
        await admin.send("13800138000")
        await eventually(lambda: max(_inbox_ids(db_url)) > name_id, timeout=30)
        process.send_signal(signal.SIGKILL)
        await process.wait()
        _hold(db_url, name_id, by=None)  # the other instance finished it
        emu.set_webhook_targets([url_b])
        await admin.send("zw@acme.cn")
        first, second = await admin.replies(2, timeout=LEASE_S + 10)
        assert shown(catalogs, "en", "parse.phone.invalid", region="China") not in first.text
        await admin.press("Review ✓")
        summary = await admin.reply()
        assert summary.text.splitlines()[1:] == [
            "Name: Zhang Wei",
            "Phones: 138 0013 8000",
            "Email: zw@acme.cn",
        ]
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGKILL)
            await process.wait()
        await stop_application(b)


async def _until_listening(url: str) -> None:
    async with asyncio.timeout(60), httpx.AsyncClient() as client:
        while True:
            try:
                await client.post(url, json={})
                return
            except httpx.TransportError:
                await asyncio.sleep(0.1)


def _inbox_ids(db_url: str) -> list[int]:
    db = Database(db_url)
    found = db.read_sync(lambda s: [r.update_id for r in s.exec(select(InboxUpdate))])
    db.close()
    return found


def _hold(db_url: str, update_id: int, *, by: str | None) -> None:
    """Make an update pending at instance `by` with a live lease, or done (`by=None`)."""

    def change(session: Session) -> None:
        row = session.get_one(InboxUpdate, update_id)
        row.status = "pending" if by else "done"
        row.claimed_by = by or row.claimed_by
        row.claimed_until = utcnow() + timedelta(minutes=5) if by else None

    db = Database(db_url)
    db.run_sync(change)
    db.close()


async def test_updates_are_leased_as_configured_and_renewed_every_third(
    emu: BotApiEmulator, db_url: str
):
    bot = RunningBot(emu, db_url, instances=InstancesConfig(update_lease_seconds=3))
    application = await bot.start()
    try:
        assert application.job_queue is not None
        [upkeep] = application.job_queue.get_jobs_by_name("inbox-leases")
        assert upkeep.job.trigger.interval == timedelta(seconds=1)
        assert isinstance(application.update_processor, PerChatUpdateProcessor)
        assert application.update_processor.lease == timedelta(seconds=3)
    finally:
        await bot.stop()
    assert not bot.errors
