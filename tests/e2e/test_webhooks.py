"""Outgoing webhooks end to end, against a real HTTP receiver on 127.0.0.1: what a member
enters in the chat arrives signed (checked with `standardwebhooks`), failures are retried on
the backoff schedule and each event is accepted once, order per record holds, a kill -9
between the change and the delivery loses nothing, and a slow receiver never delays the
chat."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot import scheduler, webhook_jobs
from bot.emulator import BotApiEmulator
from handlers.i18n import Catalogs
from handlers.webhooks import DELIVER_JOB
from storage.customer_changes import update_customer
from storage.customers import CustomerCreate, create_customer
from storage.db import Database
from storage.models import Ticket, utcnow
from storage.webhook_deliveries import backoff
from storage.webhook_models import WebhookDelivery, WebhookEndpoint
from storage.webhooks import create_endpoint
from tests.conftest import ADMIN_ID, RunningBot
from tests.e2e.helpers import answer, eventually, pinned, retime, rows, shown
from tests.e2e.process import spawn_bot, write_config
from tests.e2e.test_customer_flow import quick_customer
from tests.e2e.test_deal_closing import Who, close_by_card
from tests.e2e.test_deal_flow import add_customer, add_deal, with_member
from tests.e2e.test_ticket_flow import skip_to_summary, to_description
from tests.e2e.user import ScriptedUser
from tests.e2e.webhook_receiver import Receiver

FAST = timedelta(milliseconds=200)


@pytest.fixture
def quick_ticks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The delivery pass ticks every 0.2 s (2 s in production): tests wait less."""
    retime(monkeypatch, DELIVER_JOB, every=FAST)


@pytest.fixture
def parked(monkeypatch: pytest.MonkeyPatch) -> None:
    """The delivery pass runs only when the test runs it, with the clock the test sets."""
    retime(monkeypatch, DELIVER_JOB, every=timedelta(hours=1))


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as found:
        yield found


def subscribe(db_url: str, url: str, *events: str) -> str:
    """An endpoint for `events` at `url`; its signing secret."""
    db = Database(db_url)
    endpoint = db.run_sync(create_endpoint, url=url, events=list(events))
    db.close()
    return endpoint.secret


async def test_a_customer_and_a_ticket_entered_in_the_chat_arrive_as_verified_webhooks(
    quick_ticks: None,
    running_bot: RunningBot,
    admin: ScriptedUser,
    receiver: Receiver,
    db_url: str,
):
    secret = subscribe(db_url, receiver.url, "customer.created", "ticket.created")
    await quick_customer(admin, "Zhang Wei", "138 0013 8000")
    await eventually(lambda: receiver.accepted, timeout=10)
    (received,) = receiver.accepted
    document = received.verified(secret)
    assert document["type"] == "customer.created"
    assert document["id"] == received.webhook_id
    assert document["data"]["name"] == "Zhang Wei"
    assert document["data"]["phones"] == ["+8613800138000"]
    assert abs(int(received.headers["webhook-timestamp"]) - time.time()) < 60
    with pytest.raises(Exception, match="signature"):
        received.verified(subscribe(db_url, receiver.url, "deal.won"))  # another secret
    await eventually(lambda: rows(db_url, WebhookDelivery)[0].status == "delivered")
    (delivery,) = rows(db_url, WebhookDelivery)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 204)
    # A ticket opened in the chat for that customer arrives too, with its number.
    await to_description(admin)
    await answer(admin, "Pump leaks")
    await skip_to_summary(admin)
    await admin.press("✅ Save")
    await admin.replies(2)
    await eventually(lambda: len(receiver.accepted) == 2, timeout=10)
    ticket = receiver.accepted[1].verified(secret)
    (row,) = rows(db_url, Ticket)
    assert ticket["type"] == "ticket.created"
    assert ticket["data"]["number"] == row.number
    assert (ticket["data"]["customer_id"], ticket["data"]["description"]) == (
        row.customer_id,
        "Pump leaks",
    )


async def test_a_deal_won_in_the_chat_arrives_as_deal_won(
    quick_ticks: None,
    running_bot: RunningBot,
    admin: ScriptedUser,
    receiver: Receiver,
    catalogs: Catalogs,
    db_url: str,
):
    customer_id = add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    deal_id = add_deal(db_url, admin, customer_id)
    secret = subscribe(db_url, receiver.url, "deal.won")
    await close_by_card(Who(admin, "en", "Ada"), catalogs, deal_id, "won", "Best price")
    await eventually(lambda: receiver.accepted, timeout=10)
    (received,) = receiver.accepted
    document = received.verified(secret)
    assert document["type"] == "deal.won"
    assert document["data"]["id"] == deal_id
    assert document["data"]["customer_id"] == customer_id
    assert (document["data"]["stage"], document["data"]["close_reason"]) == ("won", "Best price")


def add_customers(db_url: str, user: ScriptedUser, *names: str) -> list[int]:
    def make(session, member):  # type: ignore[no-untyped-def]
        return [
            create_customer(session, actor=member, data=CustomerCreate(name=name)).id
            for name in names
        ]

    return with_member(db_url, user, make)


async def test_a_receiver_failing_5_times_then_succeeding_gets_each_event_once(
    parked: None, running_bot: RunningBot, admin: ScriptedUser, db_url: str
):
    async with Receiver(fail_first=5) as receiver:
        secret = subscribe(db_url, receiver.url, "customer.created")
        ids = add_customers(db_url, admin, "Li", "Wang", "Zhao")
        start = utcnow()
        app = pinned(running_bot, start)
        await webhook_jobs.run_pass(app)
        assert len(receiver.attempts) == 3
        assert receiver.accepted == []
        await webhook_jobs.run_pass(app)  # nothing is due before the backoff has passed
        assert len(receiver.attempts) == 3
        at = start
        for attempt in range(1, 4):
            at += backoff(attempt)
            await webhook_jobs.run_pass(pinned(running_bot, at))
        assert len(receiver.attempts) == 8  # 5 refused, then each of the 3 once
        assert sorted(r.verified(secret)["data"]["id"] for r in receiver.accepted) == ids
        assert len({r.webhook_id for r in receiver.accepted}) == 3
        for _ in range(3):
            at += timedelta(hours=2)
            await webhook_jobs.run_pass(pinned(running_bot, at))
        assert len(receiver.attempts) == 8
    assert {(d.status, d.last_status_code) for d in rows(db_url, WebhookDelivery)} == {
        ("delivered", 204)
    }


async def test_a_later_event_of_a_record_waits_for_the_earlier_one(
    parked: None, running_bot: RunningBot, admin: ScriptedUser, db_url: str
):
    async with Receiver(fail_first=1) as receiver:
        secret = subscribe(db_url, receiver.url, "customer.created", "customer.updated")
        (customer_id,) = add_customers(db_url, admin, "Li")
        with_member(
            db_url,
            admin,
            lambda s, m: update_customer(
                s, actor=m, customer_id=customer_id, changes={"name": "Li Na"}
            ),
        )
        start = utcnow()
        await webhook_jobs.run_pass(pinned(running_bot, start))
        assert [r.document["type"] for r in receiver.attempts] == ["customer.created"]
        await webhook_jobs.run_pass(pinned(running_bot, start + backoff(1)))
    kinds = [r.verified(secret)["type"] for r in receiver.accepted]
    assert kinds == ["customer.created", "customer.updated"]
    assert receiver.accepted[1].verified(secret)["data"]["name"] == "Li Na"


async def test_a_slow_receiver_does_not_delay_a_members_answer(
    quick_ticks: None,
    running_bot: RunningBot,
    admin: ScriptedUser,
    catalogs: Catalogs,
    db_url: str,
):
    async with Receiver(delay=10) as receiver:
        subscribe(db_url, receiver.url, "customer.created")
        await quick_customer(admin, "Zhang Wei", "138 0013 8000")
        await eventually(lambda: receiver.attempts, timeout=10)  # the POST hangs from here
        for _ in range(3):
            started = time.monotonic()
            await admin.send("/help")
            reply = await admin.reply()
            assert reply.text.startswith(shown(catalogs, "en", "help.title"))
            assert time.monotonic() - started < 1.5
        assert receiver.accepted == []  # the answers came while the POST was in flight


async def test_kill_9_between_the_change_and_the_delivery_still_delivers(
    emu: BotApiEmulator, db_url: str, tmp_path: Path
):
    config = write_config(tmp_path, emu, db_url)
    with config.open("a", encoding="utf-8") as extra:
        extra.write("[webhooks]\ntimeout_seconds = 2\n")  # a lease of 14 s
    logs = tmp_path / "bot.log"
    admin = ScriptedUser(emu, ADMIN_ID, "Ada")
    async with Receiver(delay=30) as receiver:  # the first POST is still waiting when killed
        secret = subscribe(db_url, receiver.url, "customer.created")
        process = await spawn_bot(config, logs)
        try:
            await admin.send("/start")
            await admin.reply(timeout=60)
            await quick_customer(admin, "Zhang Wei", "138 0013 8000")
            await eventually(lambda: receiver.attempts, timeout=20)
        finally:
            process.send_signal(signal.SIGKILL)
            await process.wait()
        (delivery,) = rows(db_url, WebhookDelivery)
        assert (delivery.status, delivery.claimed_by is not None) == ("pending", True)
        receiver.delay = 0
        process = await spawn_bot(config, logs)
        try:
            await eventually(lambda: len(receiver.attempts) == 2, timeout=60)
            await eventually(
                lambda: rows(db_url, WebhookDelivery)[0].status == "delivered", timeout=10
            )
        finally:
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 30) == 0
    first, again = receiver.attempts
    assert first.webhook_id == again.webhook_id  # the same event: a receiver can drop repeats
    assert again.verified(secret)["data"]["name"] == "Zhang Wei"


async def test_an_endpoint_failing_for_a_day_is_disabled_and_the_admin_told(
    parked: None, running_bot: RunningBot, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    await admin.send("/start")
    await admin.reply()
    async with Receiver(fail_first=1000) as receiver:
        subscribe(db_url, receiver.url, "customer.created")
        add_customers(db_url, admin, "Li")
        start = utcnow()
        await webhook_jobs.run_pass(pinned(running_bot, start))
        await webhook_jobs.run_pass(pinned(running_bot, start + timedelta(hours=23)))
        assert rows(db_url, WebhookEndpoint)[0].enabled
        disabled_at = start + timedelta(days=1, hours=1)
        await webhook_jobs.run_pass(pinned(running_bot, disabled_at))
        # The notice is a reminder, sent by the reminder pass (beside the digests now due).
        await scheduler.deliver_due(pinned(running_bot, disabled_at))
        told = shown(catalogs, "en", "webhooks.endpoint_disabled", url=receiver.url)
        sent = [m.text for m in admin.emu.bot_messages(admin.chat_id)]
        assert sent.count(told) == 1
        (endpoint,) = rows(db_url, WebhookEndpoint)
        assert not endpoint.enabled
        tried = len(receiver.attempts)
        await webhook_jobs.run_pass(pinned(running_bot, start + timedelta(days=3)))
        await scheduler.deliver_due(pinned(running_bot, start + timedelta(days=3)))
        assert len(receiver.attempts) == tried
    sent = [m.text for m in admin.emu.bot_messages(admin.chat_id)]
    assert sent.count(told) == 1  # told once
