"""Two bot instances behind one public URL, sharing one PostgreSQL database.

A small round-robin balancer stands in for the load balancer: the emulator's webhook points at
it, and it passes each update to the instances in turn, so one member's conversation hops
between them at every step. The conversation must come out as if one process had served it,
a batch of due reminders and one of digests must be delivered once in total while both
instances deliver at the same moment, and neither instance may accept an update without the
shared secret.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiohttp import ClientSession, web
from sqlmodel import Session, select

from bot import digest_jobs, inbox_leases, scheduler
from bot.app import CrmApplication, build_application, services_of, start_application
from bot.app import stop_application as stop_instance
from bot.emulator import BotApiEmulator
from bot.processing import PerChatUpdateProcessor
from handlers.i18n import Catalogs
from storage.db import Database
from storage.inbox import record_received
from storage.models import Customer, CustomerPhone, InboxUpdate, Reminder, Role
from storage.reminders import create_follow_up
from tests.conftest import ADMIN_ID, TOKEN
from tests.e2e.helpers import (
    answer,
    eventually,
    forged_update,
    free_port,
    rows,
    shown,
    webhook_config,
)
from tests.e2e.user import ScriptedUser
from tests.factories import make_member

SECRET = "shared-s3cret"
NOW = datetime(2031, 1, 15, 6, 0, tzinfo=UTC)
LEASE = timedelta(seconds=15)  # the default `[instances] update_lease_seconds`
MEMBERS, PER_MEMBER = 15, 2
MANAGERS = 10
BATCH_TEXT = re.compile(r"Batch reminder \d+-\d+")


@pytest.fixture
def pg_url(db_url: str) -> str:
    if db_url.startswith("sqlite"):
        pytest.skip("several instances need PostgreSQL: a SQLite file belongs to one process")
    return db_url


pytestmark = pytest.mark.usefixtures("parked_tickers")


@dataclass
class Balancer:
    """The one public URL: POSTs go to the instances in turn, headers and body unchanged."""

    targets: list[str]
    served: Counter[str] = field(default_factory=Counter)
    _turn: int = 0

    async def forward(self, request: web.Request) -> web.Response:
        target = self.targets[self._turn % len(self.targets)]
        self._turn += 1
        self.served[target] += 1
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in {"host", "content-length"}
        }
        async with (
            ClientSession() as session,
            session.post(target, data=await request.read(), headers=headers) as response,
        ):
            return web.Response(status=response.status, body=await response.read())


@dataclass
class Cluster:
    balancer: Balancer
    apps: list[CrmApplication]
    urls: list[str]


@pytest.fixture
async def cluster(emu: BotApiEmulator, pg_url: str) -> AsyncIterator[Cluster]:
    public_port = free_port()
    public_url = f"http://127.0.0.1:{public_port}/telegram"
    ports = [free_port(), free_port()]
    urls = [f"http://127.0.0.1:{port}/telegram" for port in ports]
    balancer = Balancer(urls)
    web_app = web.Application()
    web_app.router.add_post("/telegram", balancer.forward)
    runner = web.AppRunner(web_app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", public_port).start()
    apps = []
    try:
        for port in ports:
            config = webhook_config(emu, pg_url, port=port, url=public_url, secret=SECRET)
            app = build_application(config, token=TOKEN)
            await start_application(app)
            services_of(app).clock = lambda: NOW
            apps.append(app)
        yield Cluster(balancer, apps, urls)
    finally:
        for app in apps:
            await stop_instance(app)
        await runner.cleanup()


@pytest.fixture
def database(pg_url: str) -> Iterator[Database]:
    db = Database(pg_url)
    yield db
    db.close()


def worker_of(app: CrmApplication) -> str:
    processor = app.update_processor
    assert isinstance(processor, PerChatUpdateProcessor)
    return processor.worker


async def test_one_conversation_hopping_between_instances_makes_one_customer(
    emu: BotApiEmulator, cluster: Cluster, catalogs: Catalogs, pg_url: str
):
    admin = ScriptedUser(emu, ADMIN_ID, "Ada")
    await admin.send("/newcustomer")
    await admin.replies(2)
    await answer(admin, "Zhang Wei")
    await admin.press("« Back")
    assert "Now: Zhang Wei" in (await admin.reply()).text
    await answer(admin, "Zhang Wei Jr")
    reply = await answer(admin, "12345")
    assert reply.startswith(shown(catalogs, "en", "parse.phone.invalid", region="China"))
    await answer(admin, "13800138000")
    await admin.press("Review ✓")
    summary = await admin.reply()
    assert summary.text.splitlines()[1:] == ["Name: Zhang Wei Jr", "Phones: 138 0013 8000"]
    await admin.press("✅ Save", message=summary)
    await admin.reply()
    await emu.wait_until_confirmed()

    (customer,) = rows(pg_url, Customer)
    assert customer.name == "Zhang Wei Jr"
    assert [p.e164 for p in rows(pg_url, CustomerPhone)] == ["+8613800138000"]
    # Both instances really served this member, each update once.
    assert all(cluster.balancer.served[url] >= 4 for url in cluster.urls)
    # The last update is marked done just after its reply went out.
    await eventually(lambda: {status for _, status in rows_of_inbox(pg_url)} == {"done"})
    workers = {by for by, _ in rows_of_inbox(pg_url)}
    assert workers == {worker_of(app) for app in cluster.apps}


async def test_a_chats_next_update_waits_while_another_instance_handles_the_one_before(
    emu: BotApiEmulator,
    cluster: Cluster,
    catalogs: Catalogs,
    pg_url: str,
    monkeypatch: pytest.MonkeyPatch,
):
    """/newcustomer reaches the first instance, which is slow to start it; the name typed
    right after reaches the second. The second waits, so the name lands in the new entry
    (handled at once, it would have met no entry and been taken as a search)."""
    first = cluster.apps[0].update_processor
    started_late = first.do_process_update

    async def slow_start(update: object, coroutine: Any) -> None:
        await asyncio.sleep(0.5)
        await started_late(update, coroutine)

    monkeypatch.setattr(first, "do_process_update", slow_start)
    cluster.balancer._turn = 0
    admin = ScriptedUser(emu, ADMIN_ID, "Ada")
    await admin.send("/newcustomer")
    await admin.send("Li Lei")
    *_, prompt = await admin.replies(3)
    assert prompt.text.startswith(shown(catalogs, "en", "customer.ask.phones").splitlines()[0])
    assert [cluster.balancer.served[url] for url in cluster.urls] == [1, 1]


def rows_of_inbox(pg_url: str) -> list[tuple[str | None, str]]:
    db = Database(pg_url)
    found = db.read_sync(lambda s: [(r.claimed_by, r.status) for r in s.exec(select(InboxUpdate))])
    db.close()
    return found


def add_due_reminders(emu: BotApiEmulator, database: Database) -> list[str]:
    texts = []

    def add(session: Session) -> None:
        for m in range(MEMBERS):
            telegram_id = 7000 + m
            emu.add_user(telegram_id, f"Seller {m}")
            member = make_member(session, telegram_id=telegram_id)
            for r in range(PER_MEMBER):
                text = f"Batch reminder {m}-{r}"
                create_follow_up(
                    session,
                    actor=member,
                    due_at=NOW - timedelta(minutes=1),
                    text=text,
                    customer_id=None,
                    exact_time=True,
                )
                texts.append(text)

    database.run_sync(add)
    return texts


def help_update(update_id: int) -> str:
    """What Telegram would have posted for the admin sending /help."""
    return json.dumps(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": int(time.time()),
                "chat": {"id": ADMIN_ID, "type": "private", "first_name": "Ada"},
                "from": {"id": ADMIN_ID, "is_bot": False, "first_name": "Ada"},
                "text": "/help",
                "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
            },
        }
    )


async def test_a_survivor_handles_what_a_dead_instance_left_and_nothing_a_live_one_holds(
    emu: BotApiEmulator, cluster: Cluster, database: Database, catalogs: Catalogs
):
    admin = ScriptedUser(emu, ADMIN_ID, "Ada")
    now = datetime.now(UTC)
    # Accepted by instances outside the balancer: one died (its lease ran out), one is alive
    # somewhere and still holds its update.
    database.run_sync(
        record_received, updates=[(900_001, help_update(900_001))], worker="dead", lease=LEASE
    )
    database.run_sync(
        record_received, updates=[(900_002, help_update(900_002))], worker="alive", lease=LEASE
    )

    def lease_ran_out(session: Session) -> None:
        session.get_one(InboxUpdate, 900_001).claimed_until = now

    database.run_sync(lease_ran_out)
    survivor = cluster.apps[1]
    assert await inbox_leases.replay_stale(survivor) == 1
    assert (await admin.reply()).text.startswith(shown(catalogs, "en", "help.title"))
    await eventually(
        lambda: database.read_sync(lambda s: s.get_one(InboxUpdate, 900_001).status) == "done"
    )
    handled = database.read_sync(lambda s: s.get_one(InboxUpdate, 900_001))
    assert handled.claimed_by == worker_of(survivor)
    held = database.read_sync(lambda s: s.get_one(InboxUpdate, 900_002))
    assert (held.status, held.claimed_by) == ("pending", "alive")
    assert await inbox_leases.replay_stale(cluster.apps[0]) == 0
    assert len(emu.bot_messages(ADMIN_ID)) == 1


async def test_due_reminders_are_delivered_once_in_total_by_two_instances(
    emu: BotApiEmulator,
    cluster: Cluster,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
):
    texts = add_due_reminders(emu, database)
    monkeypatch.setattr(scheduler, "BATCH", 3)  # small claims, so the two passes interleave
    counts = await asyncio.gather(*(scheduler.deliver_due(app) for app in cluster.apps))
    assert sum(counts) == len(texts)
    assert all(count > 0 for count in counts), f"one instance did all the work: {counts}"
    sent = Counter(
        found
        for method, params in emu.calls
        if method == "sendMessage"
        for found in BATCH_TEXT.findall(str(params.get("text")))
    )
    assert sent == Counter(texts), "a reminder was sent twice or not at all"
    statuses = database.read_sync(lambda s: {r.status for r in s.exec(select(Reminder))})
    assert statuses == {"sent"}
    # A second round on both finds nothing left to send.
    assert await asyncio.gather(*(scheduler.deliver_due(app) for app in cluster.apps)) == [0, 0]


async def test_digests_are_sent_once_in_total_by_two_instances(
    emu: BotApiEmulator, cluster: Cluster, database: Database
):
    managers = [8000 + i for i in range(MANAGERS)]

    def seed(session: Session) -> None:
        for telegram_id in managers:
            emu.add_user(telegram_id, f"Manager {telegram_id}")
            manager = make_member(session, role=Role.MANAGER, telegram_id=telegram_id)
            make_member(session, manager=manager)

    database.run_sync(seed)
    counts = await asyncio.gather(*(digest_jobs.run_pass(app) for app in cluster.apps))
    assert sum(counts) == MANAGERS, counts
    assert [len(emu.bot_messages(chat)) for chat in managers] == [1] * MANAGERS
    assert await asyncio.gather(*(digest_jobs.run_pass(app) for app in cluster.apps)) == [0, 0]


async def test_every_instance_refuses_updates_without_the_shared_secret(cluster: Cluster):
    forged = forged_update(999_001)
    async with httpx.AsyncClient() as client:
        for url in cluster.urls:
            missing = await client.post(url, json=forged)
            wrong = await client.post(
                url, json=forged, headers={"X-Telegram-Bot-Api-Secret-Token": "guess"}
            )
            assert (missing.status_code, wrong.status_code) == (403, 403)
    for app in cluster.apps:
        db = services_of(app).db
        assert db.read_sync(lambda s: s.get(InboxUpdate, 999_001)) is None
