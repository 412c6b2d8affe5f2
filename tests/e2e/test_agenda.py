"""/today and /week end to end: follow-ups (overdue too), birthdays and expected closes in the
member's timezone, each a working button; empty states in both languages."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session

from bot.app import CrmApplication, services_of
from bot.emulator import BotApiEmulator
from handlers.i18n import Catalogs
from storage.db import Database
from storage.members import get_member_by_telegram_id
from storage.models import Deal, Member
from storage.reminders import create_follow_up
from tests.conftest import ADMIN_ID, RunningBot
from tests.e2e.helpers import shown
from tests.e2e.user import ScriptedUser
from tests.factories import make_customer

NOW = datetime(2031, 1, 15, 6, 0, tzinfo=UTC)  # Wednesday 15 Jan, 14:00 in Shanghai

# The pinned clock makes yesterday's follow-up due: a ticker would deliver it mid-test.
pytestmark = pytest.mark.usefixtures("parked_tickers")


@pytest.fixture
def app(running_bot: RunningBot) -> CrmApplication:
    assert running_bot.application is not None
    services_of(running_bot.application).clock = lambda: NOW
    return running_bot.application


def _owner(session: Session) -> Member:
    owner = get_member_by_telegram_id(session, telegram_id=ADMIN_ID)
    assert owner is not None
    return owner


def fill_agenda(db: Database) -> None:
    def fill(session: Session) -> None:
        owner = _owner(session)
        zhang = make_customer(session, owner=owner, name="Zhang Wei")
        li = make_customer(session, owner=owner, name="Li Na")
        li.birthday_month, li.birthday_day, li.birthday_year = 1, 15, 1990
        wang = make_customer(session, owner=owner, name="Wang Fang")
        wang.birthday_month, wang.birthday_day = 1, 19
        for due, text in (
            (NOW - timedelta(days=1), "Send the quote"),
            (NOW + timedelta(days=3), "Visit"),
        ):
            create_follow_up(
                session, actor=owner, due_at=due, text=text, customer_id=zhang.id, exact_time=True
            )
        for title, closes in (("Big order", date(2031, 1, 15)), ("Renewal", date(2031, 1, 20))):
            assert owner.id is not None
            assert zhang.id is not None
            session.add(
                Deal(
                    customer_id=zhang.id,
                    owner_id=owner.id,
                    title=title,
                    stage="proposal",
                    expected_close_date=closes,
                    created_by_id=owner.id,
                )
            )

    db.run_sync(fill)


async def test_today_with_nothing_says_so(
    app: CrmApplication, admin: ScriptedUser, catalogs: Catalogs
) -> None:
    del app
    await admin.send("/today")
    message = await admin.reply()
    assert message.text.splitlines()[-1] == shown(catalogs, "en", "agenda.empty")
    assert message.button_labels == []


async def test_week_with_nothing_says_so_in_chinese(
    app: CrmApplication, emu: BotApiEmulator, catalogs: Catalogs
) -> None:
    del app
    user = ScriptedUser(emu, ADMIN_ID, "Ada", language_code="zh")
    await user.send("/week")
    message = await user.reply()
    assert message.text.startswith("📅 未来7天 · ")  # the next 7 days, not the calendar week
    assert message.text.splitlines()[-1] == shown(catalogs, "zh", "agenda.empty")


async def test_today_lists_overdue_follow_up_birthday_and_deal_with_buttons(
    app: CrmApplication, admin: ScriptedUser, db: Database
) -> None:
    del app
    await admin.send("/help")
    await admin.reply()
    fill_agenda(db)
    await admin.send("/today")
    message = await admin.reply()
    assert "Overdue since" in message.text
    assert "Send the quote" in message.text
    assert "Visit" not in message.text
    assert "Li Na" in message.text
    assert "turns 41" in message.text
    assert "Wang Fang" not in message.text
    assert "Big order" in message.text
    assert "Renewal" not in message.text
    assert message.button_labels == ["👤 Zhang Wei", "🎂 Li Na", "💼 Big order"]
    await admin.press("🎂 Li Na", message=message)
    assert "Li Na" in (await admin.reply()).text
    await admin.press("💼 Big order", message=message)
    assert "Big order" in (await admin.reply()).text


async def test_week_adds_the_next_seven_days(
    app: CrmApplication, admin: ScriptedUser, db: Database
) -> None:
    del app
    await admin.send("/help")
    await admin.reply()
    fill_agenda(db)
    await admin.send("/week")
    message = await admin.reply()
    assert message.text.startswith("📅 Next 7 days · ")  # not "This week": today + 6 days
    for text in ("Send the quote", "Visit", "Li Na", "Wang Fang", "Big order", "Renewal"):
        assert text in message.text
    assert message.button_labels == [
        "👤 Zhang Wei",
        "👤 Zhang Wei",
        "🎂 Li Na",
        "🎂 Wang Fang",
        "💼 Big order",
        "💼 Renewal",
    ]
