"""Delivery reminders end to end: the owner is told on the promised day, once, in their
language; a delivered order is not reminded of. The ticker is parked and the clock pinned,
as in test_reminders."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from bot import scheduler
from bot.app import CrmApplication
from bot.emulator import BotApiEmulator, BotMessage
from handlers.i18n import Catalogs
from storage.db import Database
from storage.models import Member, OrderStatus, Reminder
from storage.orders import OrderCreate, OrderLineCreate, advance_order, create_order
from tests.e2e.helpers import join, shown
from tests.e2e.test_reminders import LI_ID, NOW, TZ, admin_member, li_member, registered
from tests.e2e.test_reminders import app as app  # noqa: F401 (a fixture)
from tests.e2e.user import ScriptedUser
from tests.factories import make_customer

pytestmark = pytest.mark.usefixtures("parked_tickers")


async def reminder_message(user: ScriptedUser) -> BotMessage:
    """The next message that is a reminder: a digest may come first (its job is not parked,
    and under load a test can outlast its 20 s pass)."""
    for _ in range(3):
        message = await user.reply()
        if "DD-7" in message.text:
            return message
    raise AssertionError("no reminder message")


def add_order(database: Database, member_of: object, *, delivered: bool = False) -> int:
    def add(session: Session) -> int:
        member: Member = member_of(session)  # type: ignore[operator]
        customer = make_customer(session, owner=member, name="Zhang Wei")
        assert customer.id is not None
        data = OrderCreate(
            customer_id=customer.id,
            ordered_on=NOW.astimezone(TZ).date() - timedelta(days=10),
            lines=(OrderLineCreate("X2", Decimal(50), Decimal(1200)),),
            currency="CNY",
            number="DD-7",
            delivery_due_on=NOW.astimezone(TZ).date(),
        )
        order = create_order(session, actor=member, data=data)
        assert order.id is not None
        if delivered:
            for status in (OrderStatus.CONFIRMED, OrderStatus.SHIPPED, OrderStatus.DELIVERED):
                advance_order(session, actor=member, order_id=order.id, status=status)
        return order.id

    return database.run_sync(add)


async def test_owner_is_reminded_on_the_promised_day_once(
    app: CrmApplication, admin: ScriptedUser, database: Database, catalogs: Catalogs
):
    await registered(admin)
    add_order(database, admin_member)
    assert await scheduler.deliver_due(app) == 1
    message = await reminder_message(admin)
    lines = message.text.splitlines()
    assert lines[1:4] == [
        shown(catalogs, "en", "order.reminder.delivery"),
        "DD-7: 50 × X2 @ 1200 = 60000.00",
        "Customer: Zhang Wei",
    ]
    assert await scheduler.deliver_due(app) == 0
    assert await scheduler.deliver_due(app) == 0


async def test_chinese_owner_is_reminded_in_chinese(
    emu: BotApiEmulator,
    app: CrmApplication,
    admin: ScriptedUser,
    database: Database,
    catalogs: Catalogs,
):
    li = await join(emu, admin, LI_ID, "李娜", language_code="zh-hans")
    add_order(database, li_member)
    assert await scheduler.deliver_due(app) == 1
    message = await reminder_message(li)
    assert message.text.splitlines()[1] == shown(catalogs, "zh", "order.reminder.delivery")


async def test_a_delivered_order_is_not_reminded_of(
    app: CrmApplication, admin: ScriptedUser, database: Database
):
    await registered(admin)
    order_id = add_order(database, admin_member, delivered=True)
    assert await scheduler.deliver_due(app) == 0
    reminders = database.read_sync(
        lambda s: [r.status for r in s.exec(select(Reminder).where(Reminder.order_id == order_id))]
    )
    assert reminders == ["done"]
