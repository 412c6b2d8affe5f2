"""Team feeds and big-deal notices end to end: /feed in a group by a manager links it, a won
deal posts there, others are refused, removal or a 403 stops the feed, a big win tells the
manager once. Deals are closed through storage: the feed reads stage changes from the
database, whichever path made them. Tickers are parked; each test runs the pass itself."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlmodel import Session, col, select

from bot import digest_jobs
from bot.app import CrmApplication, services_of
from bot.emulator import BotApiEmulator, BotMessage
from handlers.i18n import Catalogs
from storage.db import Database
from storage.deals import DealCreate, change_stage, create_deal
from storage.models import Member, Role
from storage.notification_models import TeamFeed
from tests.conftest import RunningBot
from tests.e2e.helpers import eventually, shown
from tests.e2e.user import ScriptedUser
from tests.factories import make_customer, make_member, pk

MANAGER_ID, SALES_ID, GROUP_ID = 2001, 2002, -5001
STAGES = ("lead", "won", "lost")


pytestmark = pytest.mark.usefixtures("parked_tickers")


@pytest.fixture
def app(running_bot: RunningBot) -> CrmApplication:
    assert running_bot.application is not None
    return running_bot.application


@dataclass
class People:
    manager: ScriptedUser
    sales: ScriptedUser


@pytest.fixture
def people(emu: BotApiEmulator, database: Database) -> People:
    def add(session: Session) -> None:
        manager = make_member(
            session, role=Role.MANAGER, telegram_id=MANAGER_ID, display_name="Mia"
        )
        make_member(session, manager=manager, telegram_id=SALES_ID, display_name="Li")

    database.run_sync(add)
    people = People(ScriptedUser(emu, MANAGER_ID, "Mia"), ScriptedUser(emu, SALES_ID, "Li"))
    emu.add_group(GROUP_ID, "Sales team")
    emu.add_bot_to_group(GROUP_ID, by_user_id=MANAGER_ID)
    return people


def by_telegram_id(session: Session, telegram_id: int) -> Member:
    return session.exec(select(Member).where(col(Member.telegram_id) == telegram_id)).one()


def close_deal(database: Database, amount: int, stage: str = "won") -> None:
    """Li opens a deal for a new customer and closes it."""

    def close(session: Session) -> None:
        li = by_telegram_id(session, SALES_ID)
        customer = make_customer(session, owner=li, name="Zhang Wei")
        data = DealCreate(pk(customer), "Pumps", "lead", Decimal(amount), "CNY")
        deal = create_deal(session, actor=li, data=data)
        change_stage(session, actor=li, deal_id=pk(deal), stage=stage, reason=None, stages=STAGES)

    database.run_sync(close)


async def group_reply(emu: BotApiEmulator, after: int = 0) -> BotMessage:
    return await emu.wait_for_bot_message(GROUP_ID, after_message_id=after, timeout=10)


def feed_row(database: Database) -> TeamFeed | None:
    return database.read_sync(
        lambda s: s.exec(select(TeamFeed).where(col(TeamFeed.chat_id) == GROUP_ID)).first()
    )


async def linked(emu: BotApiEmulator, catalogs: Catalogs) -> BotMessage:
    await emu.send_text(MANAGER_ID, "/feed", chat_id=GROUP_ID)
    reply = await group_reply(emu)
    assert reply.text == shown(catalogs, "en", "feed.linked", name="Mia")
    return reply


async def test_feed_in_group_by_manager_links_it_and_posts_a_won_deal(
    emu: BotApiEmulator,
    app: CrmApplication,
    people: People,
    database: Database,
    catalogs: Catalogs,
) -> None:
    reply = await linked(emu, catalogs)
    close_deal(database, 5000)
    assert await digest_jobs.run_pass(app) == 1
    post = (await group_reply(emu, reply.message_id)).text
    assert shown(catalogs, "en", "feed.customer", owner="Li", customer="Zhang Wei") in post
    assert (
        shown(
            catalogs,
            "en",
            "feed.won",
            owner="Li",
            deal="Pumps",
            customer="Zhang Wei",
            amount=" · CN¥5,000",
        )
        in post
    )
    assert await digest_jobs.run_pass(app) == 0  # posted once


async def test_feed_by_salesperson_is_refused_politely(
    emu: BotApiEmulator,
    app: CrmApplication,
    people: People,
    database: Database,
    catalogs: Catalogs,
) -> None:
    await emu.send_text(SALES_ID, "/feed", chat_id=GROUP_ID)
    assert (await group_reply(emu)).text == shown(catalogs, "en", "feed.not_lead")
    assert feed_row(database) is None


async def test_feed_in_private_chat_explains_where_to_send_it(
    app: CrmApplication, people: People, database: Database, catalogs: Catalogs
) -> None:
    await people.manager.send("/feed")
    assert (await people.manager.reply()).text == shown(catalogs, "en", "feed.not_group")
    assert feed_row(database) is None


async def test_feed_refused_with_403_is_deactivated_without_retries(
    emu: BotApiEmulator,
    app: CrmApplication,
    people: People,
    database: Database,
    catalogs: Catalogs,
) -> None:
    """Kicked without the bot hearing of it: the next post's 403 switches the feed off."""
    await linked(emu, catalogs)
    emu.faults.fail(
        "sendMessage", error_code=403, description="Forbidden: bot was kicked from the group chat"
    )
    close_deal(database, 5000)
    assert await digest_jobs.run_pass(app) == 0
    row = feed_row(database)
    assert row is not None
    assert not row.active
    sends = len([m for m, p in emu.calls if m == "sendMessage" and p["chat_id"] == GROUP_ID])
    assert await digest_jobs.run_pass(app) == 0
    assert sends == len(
        [m for m, p in emu.calls if m == "sendMessage" and p["chat_id"] == GROUP_ID]
    )


async def test_removing_bot_from_group_stops_the_feed(
    emu: BotApiEmulator,
    app: CrmApplication,
    people: People,
    database: Database,
    catalogs: Catalogs,
) -> None:
    await linked(emu, catalogs)
    emu.remove_bot_from_group(GROUP_ID, by_user_id=MANAGER_ID)
    await eventually(lambda: (row := feed_row(database)) is not None and not row.active)
    close_deal(database, 5000)
    assert await digest_jobs.run_pass(app) == 0


async def test_big_win_notifies_the_manager_once(
    app: CrmApplication, people: People, database: Database, catalogs: Catalogs
) -> None:
    close_deal(database, 150000)
    close_deal(database, 5000)  # below the default 100,000 CNY: no notice
    assert await digest_jobs.run_pass(app) == 1
    text = (await people.manager.reply()).text
    assert text == shown(
        catalogs,
        "en",
        "big_deal.won",
        owner="Li",
        deal="Pumps",
        customer="Zhang Wei",
        amount="CN¥150,000",
    )
    assert await digest_jobs.run_pass(app) == 0
    assert len(people.manager.emu.bot_messages(MANAGER_ID)) == 1


async def test_kick_from_a_closed_deal_posts_without_waiting_for_the_ticker(
    emu: BotApiEmulator,
    app: CrmApplication,
    people: People,
    database: Database,
    catalogs: Catalogs,
) -> None:
    """What `handlers.digest.notify_deal_closed` calls: the bot installed it in Services.jobs."""
    reply = await linked(emu, catalogs)
    close_deal(database, 5000)
    kick = services_of(app).jobs.kick_digests
    assert kick is not None
    kick()
    post = (await group_reply(emu, reply.message_id)).text
    assert shown(catalogs, "en", "feed.customer", owner="Li", customer="Zhang Wei") in post
