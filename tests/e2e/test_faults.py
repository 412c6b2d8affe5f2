"""Faults outside the bot: the Bot API misbehaving for a while, and PostgreSQL restarting.

(a) For several seconds the Bot API answers 5xx, lets long polls time out, answers slowly and
    floods with 429 while members write and reminders fall due. Afterwards every message has
    been answered and every reminder delivered exactly once.
(b) PostgreSQL "restarts" (a proxy cuts every connection and refuses new ones; the shared
    server itself is never touched). A member who writes then is told it is a temporary
    problem; the bot reconnects by itself; what was confirmed and the open draft are intact.
    The update that failed is not replayed later: the member was told to send it again.
(c) A polling bot dies holding leased updates: the next start replays them at once (a polling
    bot is always alone), instead of waiting for the dead process's leases to run out.
(d) Telegram refuses an edit nobody expects after a button was answered: the member is still
    told, although Telegram refuses to answer the button a second time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select

from bot import app as bot_app
from bot import digest_jobs, scheduler
from bot.config import InstancesConfig
from bot.emulator import BotApiEmulator
from handlers.i18n import Catalogs
from storage.db import Database
from storage.inbox import record_received
from storage.members import get_member_by_telegram_id
from storage.models import Customer, CustomerPhone, InboxUpdate, Reminder, utcnow
from storage.reminders import create_follow_up
from tests.conftest import ADMIN_ID, RunningBot
from tests.e2e.helpers import (
    answer,
    eventually,
    join,
    retime,
    rows,
    shown,
    taken_behind_the_bots_back,
)
from tests.e2e.user import ScriptedUser
from tests.tcp_proxy import TcpProxy

SAM = 2002


# --- (a) the Bot API has a bad few seconds ------------------------------------------------


@pytest.fixture
async def impatient_bot(
    emu: BotApiEmulator, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[RunningBot]:
    """A bot whose long polls time out after 2 s and whose reminder ticks come fast."""
    monkeypatch.setattr(bot_app, "POLL_READ_SLACK_S", 1)
    retime(
        monkeypatch,
        scheduler.DELIVER_JOB,
        every=timedelta(seconds=0.3),
        first=timedelta(seconds=0.2),
    )
    retime(
        monkeypatch,
        scheduler.PLAN_JOB,
        every=timedelta(minutes=10),
        first=timedelta(seconds=0.2),
    )
    monkeypatch.setattr(scheduler, "BACKOFF_FIRST", timedelta(seconds=0.3))
    retime(monkeypatch, digest_jobs.JOB, every=timedelta(hours=1))
    bot = RunningBot(emu, db_url)
    await bot.start()
    yield bot
    await bot.stop()


def add_due_reminders(database: Database, telegram_id: int, texts: list[str]) -> None:
    def add(session: Session) -> None:
        member = get_member_by_telegram_id(session, telegram_id=telegram_id)
        assert member is not None
        for text in texts:
            create_follow_up(
                session,
                actor=member,
                due_at=utcnow() - timedelta(minutes=1),
                text=text,
                customer_id=None,
                exact_time=True,
            )

    database.run_sync(add)


def count_texts(emu: BotApiEmulator, chat_id: int, part: str) -> int:
    return sum(part in message.text for message in emu.bot_messages(chat_id))


async def test_bot_api_errors_timeouts_and_floods_are_ridden_out(
    emu: BotApiEmulator, impatient_bot: RunningBot, database: Database, catalogs: Catalogs
):
    admin = ScriptedUser(emu, ADMIN_ID, "Ada")
    sam = await join(emu, admin, SAM, "Sam")
    reminders = {ADMIN_ID: ["Ping Ada 1", "Ping Ada 2"], SAM: ["Ping Sam 1", "Ping Sam 2"]}
    help_title = shown(catalogs, "en", "help.title")
    helps_before = {chat: count_texts(emu, chat, help_title) for chat in reminders}

    emu.faults.fail("getUpdates", error_code=502, description="Bad Gateway", times=2)
    emu.faults.delay("getUpdates", 3.0, times=2)  # past the 2 s read timeout: TimedOut
    emu.faults.fail(
        "getUpdates", error_code=429, description="Too Many Requests", retry_after=1, times=1
    )
    emu.faults.fail("sendMessage", error_code=502, description="Bad Gateway", times=4)
    emu.faults.fail("sendMessage", error_code=500, description="Internal Server Error", times=2)
    emu.faults.fail(
        "sendMessage", error_code=429, description="Too Many Requests", retry_after=1, times=3
    )
    emu.faults.delay("sendMessage", 1.0, times=4)  # slow, but inside the send timeout
    started = time.monotonic()
    for chat, texts in reminders.items():
        add_due_reminders(database, chat, texts)
    for _ in range(2):
        await admin.send("/help")
        await sam.send("/help")

    def all_answered() -> bool:
        return all(count_texts(emu, c, help_title) - helps_before[c] >= 2 for c in reminders)

    def all_sent() -> bool:
        statuses = database.read_sync(lambda s: {r.status for r in s.exec(select(Reminder))})
        return statuses == {"sent"}

    await eventually(all_answered, timeout=60)
    await eventually(all_sent, timeout=60)
    await emu.wait_until_confirmed(timeout=30)
    caught_up = time.monotonic() - started

    for chat, texts in reminders.items():
        assert count_texts(emu, chat, help_title) - helps_before[chat] == 2
        for text in texts:
            assert count_texts(emu, chat, text) == 1, f"{text!r} not delivered exactly once"
    assert emu.faults.take_failure("sendMessage") is None, "not every fault was met"
    assert caught_up < 45

    def all_done() -> bool:  # an update is marked done just after its answer went out
        statuses = database.read_sync(lambda s: {r.status for r in s.exec(select(InboxUpdate))})
        return statuses == {"done"}

    await eventually(all_done, timeout=30)
    assert not impatient_bot.errors, impatient_bot.errors


# --- (b) PostgreSQL restarts ---------------------------------------------------------------


@pytest.fixture
def pg_url(db_url: str) -> str:
    if db_url.startswith("sqlite"):
        pytest.skip("a database server restart is a PostgreSQL fault; SQLite is a local file")
    return db_url


@pytest.fixture
def proxy(pg_url: str) -> Iterator[TcpProxy]:
    where = urlsplit(pg_url)
    tcp = TcpProxy(where.hostname or "127.0.0.1", where.port or 5432)
    yield tcp
    tcp.close()


@pytest.fixture
async def proxied_bot(
    emu: BotApiEmulator, pg_url: str, proxy: TcpProxy
) -> AsyncIterator[RunningBot]:
    where = urlsplit(pg_url)
    proxied = pg_url.replace(f"@{where.netloc.split('@')[1]}", f"@127.0.0.1:{proxy.port}")
    # Upkeep ticks every third of a second: the test sees several while it watches.
    bot = RunningBot(emu, proxied, instances=InstancesConfig(update_lease_seconds=1))
    await bot.start()
    yield bot
    await bot.stop()


async def test_postgresql_restart_tells_the_member_and_loses_nothing_confirmed(
    emu: BotApiEmulator,
    proxied_bot: RunningBot,
    proxy: TcpProxy,
    pg_url: str,
    catalogs: Catalogs,
):
    admin = ScriptedUser(emu, ADMIN_ID, "Ada")
    await admin.send("/newcustomer")
    await admin.replies(2)
    await answer(admin, "Li Na")
    await answer(admin, "13900139000")
    await admin.press("Review ✓")
    await admin.press("✅ Save", message=await admin.reply())
    await admin.reply()
    await admin.send("/newcustomer")  # a second entry, open when the database goes away
    await admin.replies(2)
    asks_phone = await answer(admin, "Zhang Wei")

    with proxy.outage():
        await admin.send("138 0013 8000")
        told = await admin.reply()
        await asyncio.sleep(2)  # the server stays down a little longer
    back = time.monotonic()
    assert told.text == shown(catalogs, "en", "error.temporary")

    # The member sends the answer again; the draft still waits at the phone step.
    asks_email = await answer(admin, "138 0013 8000")
    reconnected = time.monotonic() - back
    assert asks_email != asks_phone
    assert asks_email.endswith(shown(catalogs, "en", "customer.ask.email"))
    await admin.press("Review ✓")
    summary = await admin.reply()
    assert summary.text.splitlines()[1:] == ["Name: Zhang Wei", "Phones: 138 0013 8000"]
    await admin.press("✅ Save", message=summary)
    await admin.reply()
    assert reconnected < 5, f"reconnecting took {reconnected:.1f} s"

    assert [c.name for c in rows(pg_url, Customer)] == ["Li Na", "Zhang Wei"]
    assert sorted(p.e164 for p in rows(pg_url, CustomerPhone)) == [
        "+8613800138000",
        "+8613900139000",
    ]
    # The failed update is not replayed behind the member's back: a few upkeep ticks later
    # nothing more was said, and no update is left pending.
    said = len(emu.bot_messages(ADMIN_ID))
    await asyncio.sleep(1)
    assert len(emu.bot_messages(ADMIN_ID)) == said
    database = Database(pg_url)
    pending = database.read_sync(
        lambda s: list(s.exec(select(InboxUpdate).where(InboxUpdate.status == "pending")))
    )
    database.close()
    assert pending == []
    assert proxied_bot.errors, "the outage never reached the error handler"
    assert all(isinstance(e, SQLAlchemyError) for e in proxied_bot.errors), proxied_bot.errors
    proxied_bot.errors.clear()


# --- (c) a polling bot's successor -----------------------------------------------------------


async def test_polling_bot_replays_a_dead_predecessors_leased_updates_at_start(
    emu: BotApiEmulator,
    running_bot: RunningBot,
    admin: ScriptedUser,
    catalogs: Catalogs,
    database: Database,
):
    await admin.send("/start")
    await admin.reply()
    await running_bot.stop()
    # The predecessor took it, then died.
    update = await taken_behind_the_bots_back(emu, ADMIN_ID, "/help")
    database.run_sync(
        record_received,
        updates=[(update.update_id, update.to_json())],
        worker="dead-process",
        lease=timedelta(minutes=10),
    )
    started = time.monotonic()
    await running_bot.start()
    assert (await admin.reply()).text.startswith(shown(catalogs, "en", "help.title"))
    assert time.monotonic() - started < 10


# --- (d) a button fails after it was answered ----------------------------------------------


async def test_button_failing_after_its_answer_still_tells_the_member(
    emu: BotApiEmulator, running_bot: RunningBot, admin: ScriptedUser, catalogs: Catalogs
):
    await admin.send("/newcustomer")
    await admin.replies(2)
    await answer(admin, "Li Na")
    answered_before = len(emu.callback_answers)
    emu.faults.fail(
        "editMessageText", error_code=400, description="Bad Request: MESSAGE_ID_INVALID"
    )
    await admin.press("Review ✓")
    told = await admin.reply()
    reference = int(told.text.rsplit(" ", 1)[-1].strip(").）"))
    assert told.text == shown(catalogs, "en", "error.unexpected", reference=reference)
    assert len(emu.callback_answers) == answered_before + 1  # by the handler, before it failed
    assert [type(e).__name__ for e in running_bot.errors] == ["BadRequest"]
    running_bot.errors.clear()
