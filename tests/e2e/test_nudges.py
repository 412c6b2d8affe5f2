"""Birthday and stay-in-touch nudges end to end: planned, delivered once at the right local
time with their buttons, held back outside working hours. The ticker is parked; each test
plans and delivers itself with the services clock pinned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, select

from bot import scheduler
from bot.app import CrmApplication, services_of
from bot.emulator import BotApiEmulator
from handlers.i18n import Catalogs
from storage.db import Database
from storage.members import get_member_by_telegram_id, set_member_language
from storage.models import Customer, Interaction, Member, Reminder, utcnow
from tests.conftest import ADMIN_ID, RunningBot
from tests.e2e.helpers import shown
from tests.e2e.test_deal_flow import add_deal, open_card
from tests.e2e.user import ScriptedUser
from tests.factories import make_customer

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2031, 1, 15, 6, 0, tzinfo=UTC)  # Wednesday 14:00 in Shanghai


# Reminders and digests are delivered when a test says so: with the clock pinned past the
# digests' hour, a digest ticker left running sent one in the middle of a test.
pytestmark = pytest.mark.usefixtures("parked_tickers")


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(running_bot: RunningBot) -> Clock:
    assert running_bot.application is not None
    pinned = Clock()
    services_of(running_bot.application).clock = pinned
    return pinned


@pytest.fixture
def app(running_bot: RunningBot, clock: Clock) -> CrmApplication:
    del clock
    assert running_bot.application is not None
    return running_bot.application


def add_customer(database: Database, **values: object) -> int:
    def add(session: Session) -> int:
        member = get_member_by_telegram_id(session, telegram_id=ADMIN_ID)
        assert member is not None
        customer = make_customer(session, owner=member, name="Zhang Wei")
        for key, value in values.items():
            setattr(customer, key, value)
        assert customer.id is not None
        return customer.id

    return database.run_sync(add)


def nudges(database: Database) -> list[Reminder]:
    return database.read_sync(lambda s: list(s.exec(select(Reminder).order_by(col(Reminder.id)))))


async def member_of(user: ScriptedUser) -> None:
    await user.send("/today")
    await user.reply()


async def test_birthday_is_delivered_once_with_age_and_buttons(
    app: CrmApplication, admin: ScriptedUser, database: Database, catalogs: Catalogs
) -> None:
    await member_of(admin)
    customer_id = add_customer(database, birthday_month=1, birthday_day=15, birthday_year=1990)
    assert await scheduler.plan_due_nudges(app) == 1
    assert await scheduler.deliver_due(app) == 1
    message = await admin.reply()
    assert message.text.splitlines() == [
        shown(catalogs, "en", "nudges.birthday.today", name="Zhang Wei"),
        shown(catalogs, "en", "nudges.birthday.age", age=41),
    ]
    assert message.button_labels == ["📝 Log a note", "👤 Open customer"]
    assert await scheduler.plan_due_nudges(app) == 0
    assert await scheduler.deliver_due(app) == 0
    [row] = nudges(database)
    assert (row.kind, row.status, row.dedupe_key) == (
        "birthday",
        "done",
        f"birthday:{customer_id}:2031",
    )
    await admin.press("👤 Open customer", message=message)
    assert "Zhang Wei" in (await admin.reply()).text


async def test_birthday_without_year_has_no_age(
    app: CrmApplication, admin: ScriptedUser, database: Database, catalogs: Catalogs
) -> None:
    await member_of(admin)
    add_customer(database, birthday_month=1, birthday_day=15)
    await scheduler.plan_due_nudges(app)
    assert await scheduler.deliver_due(app) == 1
    message = await admin.reply()
    assert message.text == shown(catalogs, "en", "nudges.birthday.today", name="Zhang Wei")


async def test_birthday_outside_working_hours_waits_for_the_next_start(
    app: CrmApplication,
    clock: Clock,
    admin: ScriptedUser,
    database: Database,
    emu: BotApiEmulator,
) -> None:
    await member_of(admin)
    clock.now = datetime(2031, 1, 15, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai
    add_customer(database, birthday_month=1, birthday_day=15)
    assert await scheduler.plan_due_nudges(app) == 1
    sent_before = len(emu.bot_messages(ADMIN_ID))
    assert await scheduler.deliver_due(app) == 0
    [row] = nudges(database)
    assert (row.status, row.due_at) == ("pending", datetime(2031, 1, 16, 9, 0, tzinfo=SH))
    clock.now = datetime(2031, 1, 16, 0, 59, tzinfo=UTC)  # 08:59
    assert await scheduler.deliver_due(app) == 0
    clock.now = datetime(2031, 1, 16, 1, 0, tzinfo=UTC)  # 09:00
    assert await scheduler.deliver_due(app) == 1
    assert len(emu.bot_messages(ADMIN_ID)) == sent_before + 1


async def test_stale_customer_is_nudged_once_and_can_be_snoozed(
    app: CrmApplication, admin: ScriptedUser, database: Database, catalogs: Catalogs
) -> None:
    await member_of(admin)
    add_customer(database, category="loyal", last_contact_at=NOW - timedelta(days=45))
    assert await scheduler.plan_due_nudges(app) == 1
    assert await scheduler.deliver_due(app) == 1
    message = await admin.reply()
    assert message.text.splitlines() == [
        shown(catalogs, "en", "nudges.touch.heading", name="Zhang Wei", days=45),
        shown(catalogs, "en", "nudges.touch.never"),
    ]
    assert message.button_labels == ["📝 Log a note", "💤 Snooze", "👤 Open customer"]
    assert await scheduler.plan_due_nudges(app) == 0
    assert await scheduler.deliver_due(app) == 0
    await admin.press("💤 Snooze", message=message)
    options = await admin.edited(message)
    await admin.press("1 hour", message=options)
    await admin.edited(options)
    [row] = nudges(database)
    assert (row.kind, row.status, row.due_at) == (
        "stay_in_touch",
        "pending",
        NOW + timedelta(hours=1),
    )


async def test_recently_contacted_customer_is_not_nudged(
    app: CrmApplication, admin: ScriptedUser, database: Database
) -> None:
    await member_of(admin)
    add_customer(database, category="loyal", last_contact_at=NOW - timedelta(days=10))
    assert await scheduler.plan_due_nudges(app) == 0
    assert nudges(database) == []


async def test_birthday_nudge_in_chinese(
    app: CrmApplication, emu: BotApiEmulator, database: Database, catalogs: Catalogs
) -> None:
    user = ScriptedUser(emu, ADMIN_ID, "Ada", language_code="zh")
    await member_of(user)
    member_id = database.read_sync(_member).id
    assert member_id is not None
    database.run_sync(set_member_language, member_id=member_id, language="zh")
    add_customer(database, birthday_month=1, birthday_day=15, birthday_year=2000)
    await scheduler.plan_due_nudges(app)
    assert await scheduler.deliver_due(app) == 1
    message = await user.reply()
    assert message.text.splitlines() == [
        shown(catalogs, "zh", "nudges.birthday.today", name="Zhang Wei"),
        shown(catalogs, "zh", "nudges.birthday.age", age=31),
    ]
    assert message.button_labels == ["📝 记录跟进", "👤 查看客户"]


def _member(session: Session) -> Member:
    member = get_member_by_telegram_id(session, telegram_id=ADMIN_ID)
    assert member is not None
    return member


async def test_stage_move_meanwhile_counts_as_contact_and_drops_the_nudge(
    app: CrmApplication, admin: ScriptedUser, database: Database, clock: Clock, db_url: str
) -> None:
    """The stage move is recorded at the real time, so the clock is pinned just after it, at
    14:00 in Shanghai (working hours, or the nudge would wait for them)."""
    clock.now = utcnow().replace(hour=6, minute=0, second=0, microsecond=0) + timedelta(days=1)
    await member_of(admin)
    customer_id = add_customer(database)
    deal_id = add_deal(db_url, admin, customer_id)
    stale = {"category": "loyal", "last_contact_at": clock.now - timedelta(days=45)}
    database.run_sync(lambda s: s.get_one(Customer, customer_id).sqlmodel_update(stale))
    assert await scheduler.plan_due_nudges(app) == 1
    card = await open_card(admin, deal_id)
    await admin.press("Negotiation", message=card)
    await admin.edited(card)
    assert await scheduler.deliver_due(app) == 0  # contacted since it was planned
    [row] = nudges(database)
    assert (row.kind, row.status) == ("stay_in_touch", "done")


async def test_long_last_note_is_shortened_with_an_ellipsis_in_the_nudge(
    app: CrmApplication, admin: ScriptedUser, database: Database
) -> None:
    """A nudge quotes the start of the last note; "…" says there is more, never a silent cut."""
    await member_of(admin)
    customer_id = add_customer(
        database, category="loyal", last_contact_at=NOW - timedelta(days=45)
    )

    def add_note(session: Session) -> None:
        member = get_member_by_telegram_id(session, telegram_id=ADMIN_ID)
        assert member is not None
        assert member.id is not None
        session.add(
            Interaction(
                customer_id=customer_id,
                owner_id=member.id,
                created_by_id=member.id,
                updated_by_id=member.id,
                kind="visit",
                happened_at=NOW - timedelta(days=45),
                summary="Long visit report. " * 200,
            )
        )

    database.run_sync(add_note)
    assert await scheduler.plan_due_nudges(app) == 1
    assert await scheduler.deliver_due(app) == 1
    message = await admin.reply()
    (quoted,) = [line for line in message.text.splitlines() if "Long visit report." in line]
    assert quoted.endswith("…")
