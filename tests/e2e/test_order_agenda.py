"""An order not delivered by its promised date: on its owner's /today every day until it is
delivered (its delivery reminder stays open), and counted in the manager's digest."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, col, select

from bot import digest_jobs
from bot.emulator import BotApiEmulator
from handlers.i18n import Catalogs
from storage.db import Database
from storage.models import Member
from storage.orders import OrderCreate, OrderLineCreate, advance_order, create_order
from tests.conftest import RunningBot
from tests.e2e.helpers import join, pinned, shown
from tests.e2e.test_agenda import NOW
from tests.e2e.test_contract_lookup import LI_ID, SAM_ID, member
from tests.e2e.test_digest import MANAGER_ID, seed_team
from tests.e2e.test_digest import NOW as DIGEST_NOW
from tests.e2e.user import ScriptedUser
from tests.factories import make_customer, pk

pytestmark = pytest.mark.usefixtures("parked_tickers")
TODAY = date(2031, 1, 15)  # both NOWs in Shanghai


def late_order(session: Session, owner: Member, number: str) -> int:
    """An order of `owner`'s new customer, promised yesterday and not delivered."""
    data = OrderCreate(
        customer_id=pk(make_customer(session, owner=owner)),
        ordered_on=TODAY - timedelta(days=5),
        lines=(OrderLineCreate("X2", Decimal(50), Decimal(1200)),),
        currency="CNY",
        number=number,
        delivery_due_on=TODAY - timedelta(days=1),
    )
    return pk(create_order(session, actor=owner, data=data))


async def test_a_late_delivery_is_on_today_until_delivered(
    emu: BotApiEmulator, running_bot: RunningBot, admin: ScriptedUser, database: Database
) -> None:
    await admin.send("/help")
    await admin.reply()
    li = await join(emu, admin, LI_ID, "Li")
    await join(emu, admin, SAM_ID, "Sam")
    late = database.run_sync(lambda s: late_order(s, member(s, LI_ID), "DD-1"))
    database.run_sync(lambda s: late_order(s, member(s, SAM_ID), "DD-2"))
    pinned(running_bot, NOW)
    await li.send("/today")
    agenda = (await li.reply()).text
    [line] = [line for line in agenda.splitlines() if "DD-" in line]
    assert line.startswith("⚠️ Overdue since")
    assert line.endswith("DD-1: 50 × X2 @ 1200 = 60000.00")

    def deliver(session: Session) -> None:
        for status in ("confirmed", "shipped", "delivered"):
            advance_order(session, actor=member(session, LI_ID), order_id=late, status=status)

    database.run_sync(deliver)
    await li.send("/today")
    assert "DD-1" not in (await li.reply()).text


async def test_the_managers_digest_counts_the_teams_late_deliveries_in_chinese(
    emu: BotApiEmulator, running_bot: RunningBot, database: Database, catalogs: Catalogs
) -> None:
    manager = ScriptedUser(emu, MANAGER_ID, "Mia", language_code="zh")

    def team_with_late_orders(session: Session) -> None:
        seed_team(session, "zh")
        li, wu = (
            session.exec(select(Member).where(col(Member.display_name) == name)).one()
            for name in ("Li", "Wu")
        )
        for owner, number in ((li, "DD-1"), (li, "DD-2"), (wu, "DD-3")):
            late_order(session, owner, number)

    database.run_sync(team_with_late_orders)
    assert await digest_jobs.run_pass(pinned(running_bot, DIGEST_NOW)) == 1
    text = (await manager.reply()).text
    li_block, wu_block = text.split(shown(catalogs, "zh", "digest.member", name="Wu"))
    assert shown(catalogs, "zh", "order.digest.overdue", count=2) in li_block
    assert shown(catalogs, "zh", "order.digest.overdue", count=1) in wu_block
