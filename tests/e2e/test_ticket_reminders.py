"""SLA reminders of tickets end to end: the assignee is reminded before the due time and
again once it has passed, each once, across a restart, held back outside working hours, in
their language. The ticker is parked and the clock pinned, as in test_reminders."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import Session

from bot import scheduler
from bot.app import CrmApplication, services_of
from bot.emulator import BotApiEmulator, BotMessage
from handlers.i18n import Catalogs
from storage.db import Database
from storage.models import Member
from storage.tickets import Priority, TicketCreate, create_ticket
from tests.conftest import RunningBot
from tests.e2e.helpers import join, shown
from tests.e2e.test_reminders import LI_ID, NOW, TZ, admin_member, li_member, registered
from tests.e2e.test_reminders import app as app  # noqa: F401 (a fixture)
from tests.e2e.user import ScriptedUser
from tests.factories import make_customer

# Clocks here are pinned past the digests' hour: no ticker may deliver mid-test.
pytestmark = pytest.mark.usefixtures("parked_tickers")


def add_ticket(database: Database, member_of: object, *, due_at: datetime) -> str:
    """An urgent ticket (SLA 4 h: reminded 1 h before) opened well before `due_at`."""

    def add(session: Session) -> str:
        member: Member = member_of(session)  # type: ignore[operator]
        customer = make_customer(session, owner=member, name="Zhang Wei")
        assert customer.id is not None
        data = TicketCreate(customer.id, "repair", Priority.URGENT, "pump leaks", due_at)
        return create_ticket(
            session, actor=member, data=data, now=due_at - timedelta(hours=4)
        ).number

    return database.run_sync(add)


async def ticket_reminder(user: ScriptedUser, number: str) -> BotMessage:
    """The next message naming the ticket: a digest may come first (its job is not parked)."""
    for _ in range(3):
        message = await user.reply()
        if number in message.text:
            return message
    raise AssertionError("no ticket reminder")


def pin(app: CrmApplication, at: datetime) -> None:
    services_of(app).clock = lambda: at


async def test_reminded_before_and_when_overdue_once_across_a_restart(
    app: CrmApplication,
    running_bot: RunningBot,
    admin: ScriptedUser,
    database: Database,
    catalogs: Catalogs,
):
    await registered(admin)
    number = add_ticket(database, admin_member, due_at=NOW + timedelta(minutes=30))
    assert await scheduler.deliver_due(app) == 1
    before = await ticket_reminder(admin, number)
    assert shown(catalogs, "en", "ticket.reminder.due") in before.text
    assert "🎫 Open ticket" in before.button_labels
    assert await scheduler.deliver_due(app) == 0
    await running_bot.restart()
    assert running_bot.application is not None
    restarted = running_bot.application
    pin(restarted, NOW)
    assert await scheduler.deliver_due(restarted) == 0  # not again after the restart
    pin(restarted, NOW + timedelta(hours=1))
    assert await scheduler.deliver_due(restarted) == 1
    overdue = await ticket_reminder(admin, number)
    assert shown(catalogs, "en", "ticket.reminder.overdue") in overdue.text
    assert await scheduler.deliver_due(restarted) == 0


async def test_held_back_outside_working_hours_and_in_chinese(
    emu: BotApiEmulator,
    app: CrmApplication,
    admin: ScriptedUser,
    database: Database,
    catalogs: Catalogs,
):
    li = await join(emu, admin, LI_ID, "李娜", language_code="zh-hans")
    night = datetime(2031, 1, 15, 23, 0, tzinfo=TZ)
    number = add_ticket(database, li_member, due_at=night + timedelta(minutes=30))
    pin(app, night)
    assert await scheduler.deliver_due(app) == 0  # 23:00: quiet hours
    pin(app, night + timedelta(hours=10, minutes=30))  # 09:30 the next morning
    assert await scheduler.deliver_due(app) == 2  # both stages, now that work has started
    first = await ticket_reminder(li, number)
    second = await ticket_reminder(li, number)
    texts = first.text + second.text
    assert shown(catalogs, "zh", "ticket.reminder.due") in texts
    assert shown(catalogs, "zh", "ticket.reminder.overdue") in texts
    assert await scheduler.deliver_due(app) == 0
