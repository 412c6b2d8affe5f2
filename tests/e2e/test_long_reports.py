"""Reports at their limits: /pipeline for a large team, a digest for a manager of many
salespeople with long names and a feed post of many events arrive whole, split between
lines or blocks into messages Telegram accepts (it counts emoji as two), nothing cut."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session

from bot import digest_jobs
from bot.emulator import BotApiEmulator, BotMessage
from handlers.digest import feed_messages
from handlers.i18n import Catalogs
from handlers.text_limits import MAX_TEXT, html_length
from storage.db import Database
from storage.feeds import FeedEvent
from storage.models import Customer, Deal, Role
from storage.parsing import Money
from tests.conftest import ADMIN_ID, RunningBot
from tests.e2e.helpers import pinned, shown
from tests.e2e.user import ScriptedUser
from tests.factories import make_member, pk

pytestmark = pytest.mark.usefixtures("nothing_cut", "parked_tickers")

TEAM = 120
NOW = datetime(2031, 1, 15, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai: the 08:30 digest is due
IN_PERIOD = NOW - timedelta(hours=3)
MANAGER_ID = 2001


def long_name(i: int) -> str:
    """A salesperson's name of 60 emoji (120 of Telegram's units) that says who it is."""
    return f"S{i:03d} " + "😀" * 60


def seed_team(session: Session, *, manager_role: Role) -> None:
    """`TEAM` salespeople, each with an open deal (in the period) for a customer of theirs."""
    manager = make_member(session, role=manager_role, telegram_id=MANAGER_ID, display_name="Mia")
    for i in range(TEAM):
        sales = make_member(session, manager=manager, display_name=long_name(i))
        customer = Customer(
            owner_id=pk(sales), created_by_id=pk(sales), name=f"C{i}", created_at=IN_PERIOD
        )
        session.add(customer)
        session.flush()
        session.add(
            Deal(
                customer_id=pk(customer),
                owner_id=pk(sales),
                created_by_id=pk(sales),
                title="Order",
                stage="lead",
                amount=Decimal(1000 + i),
                currency="CNY",
                created_at=IN_PERIOD,
            )
        )


def all_sent(emu: BotApiEmulator, chat_id: int, after: BotMessage | None = None) -> list[str]:
    start = after.message_id if after else 0
    return [m.text for m in emu.bot_messages(chat_id) if m.message_id > start]


async def test_pipeline_of_a_large_team_arrives_whole_in_several_messages(
    emu: BotApiEmulator, admin: ScriptedUser, database: Database, catalogs: Catalogs
) -> None:
    await admin.send("/help")
    help_message = await admin.reply()
    database.run_sync(seed_team, manager_role=Role.MANAGER)
    await admin.send("/pipeline")
    first = await admin.reply()
    assert first.text.splitlines()[0] == shown(catalogs, "en", "pipeline.title_all")
    await admin.send("/help")  # the pipeline's messages are all sent before this answer
    while (await admin.reply()).text != help_message.text:
        pass
    texts = all_sent(emu, ADMIN_ID, help_message)[:-1]
    assert len(texts) > 1
    assert all(html_length(text) <= MAX_TEXT for text in texts)
    lines = "\n".join(texts).splitlines()
    for i in range(TEAM):
        assert any(line.startswith(long_name(i)) for line in lines), long_name(i)


async def test_digest_for_a_manager_of_many_arrives_whole_in_several_messages(
    emu: BotApiEmulator, running_bot: RunningBot, database: Database, catalogs: Catalogs
) -> None:
    manager = ScriptedUser(emu, MANAGER_ID, "Mia")
    database.run_sync(seed_team, manager_role=Role.MANAGER)
    sent = await digest_jobs.run_pass(pinned(running_bot, NOW))
    await manager.reply()
    texts = all_sent(emu, MANAGER_ID)
    assert len(texts) == sent > 1
    assert all(html_length(text) <= MAX_TEXT for text in texts)
    joined = "\n".join(texts)
    for i in range(TEAM):
        assert shown(catalogs, "en", "digest.member", name=long_name(i)) in joined


def test_feed_post_of_many_events_is_split_between_lines(catalogs: Catalogs) -> None:
    events = [
        FeedEvent(
            key=f"won:{i}",
            kind="won",
            at=NOW,
            owner_id=i,
            owner_name=long_name(i),
            customer_name="😀" * 100,
            deal_id=i,
            deal_title="😀" * 100,
            amount=Money(Decimal(5000), "CNY"),
        )
        for i in range(60)
    ]
    messages = feed_messages(catalogs.translator("en"), events)
    assert len(messages) > 1
    assert all(html_length(message) <= MAX_TEXT for message in messages)
    lines = "\n".join(messages).splitlines()
    assert [line for line in lines if line] == [
        line
        for message in [feed_messages(catalogs.translator("en"), [e]) for e in events]
        for line in message
    ]
