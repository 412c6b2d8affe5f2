"""/settings end to end: timezone and working hours by button and typed, rows checked, and a
planned birthday follows the new timezone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from bot import scheduler
from bot.app import CrmApplication, services_of
from bot.emulator import BotApiEmulator
from handlers.i18n import Catalogs
from storage.db import Database
from storage.members import get_member_by_telegram_id
from storage.models import Member, Reminder
from tests.conftest import ADMIN_ID, RunningBot
from tests.e2e.helpers import join, retime, shown
from tests.e2e.user import ScriptedUser
from tests.factories import make_customer

NOW = datetime(2031, 1, 15, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai


@pytest.fixture(autouse=True)
def parked_ticker(monkeypatch: pytest.MonkeyPatch) -> None:
    retime(monkeypatch, scheduler.DELIVER_JOB, scheduler.PLAN_JOB, every=timedelta(hours=1))


@pytest.fixture
def app(running_bot: RunningBot) -> CrmApplication:
    assert running_bot.application is not None
    services_of(running_bot.application).clock = lambda: NOW
    return running_bot.application


def member(database: Database) -> Member:
    def load(session: Session) -> Member:
        found = get_member_by_telegram_id(session, telegram_id=ADMIN_ID)
        assert found is not None
        return found

    return database.read_sync(load)


async def test_settings_shows_defaults_and_changes_timezone_by_button(
    app: CrmApplication, admin: ScriptedUser, db: Database, catalogs: Catalogs
) -> None:
    del app
    await admin.send("/settings")
    menu = await admin.reply()
    assert (
        menu.text.splitlines()[:4]
        == shown(
            catalogs,
            "en",
            "settings.menu",
            tz="China (Shanghai) Time",  # named, not "Asia/Shanghai"
            hours="09:00–19:00",
            lang_name="English",
        ).splitlines()[:4]
    )
    await admin.press("🌍 Timezone", message=menu)
    zones = await admin.edited(menu)
    assert "United States (New York) Time" in zones.button_labels
    await admin.press("United States (New York) Time", message=zones)
    saved = await admin.edited(zones)
    assert "Timezone: United States (New York) Time" in saved.text
    assert member(db).timezone == "America/New_York"


async def test_settings_hours_preset_and_typed_range(
    app: CrmApplication, admin: ScriptedUser, db: Database, catalogs: Catalogs
) -> None:
    del app
    await admin.send("/settings")
    menu = await admin.reply()
    await admin.press("🕘 Working hours", message=menu)
    presets = await admin.edited(menu)
    await admin.press("08:00–18:00", message=presets)
    saved = await admin.edited(presets)
    assert (member(db).work_start, member(db).work_end) == ("08:00", "18:00")
    await admin.press("🕘 Working hours", message=saved)
    await admin.press("⌨️ Type one…", message=await admin.edited(saved))
    title, ask = await admin.replies(2)
    assert ask.text == shown(catalogs, "en", "settings_hours.ask.hours")
    await admin.send("nine to five")
    assert (await admin.reply()).text.startswith(
        shown(catalogs, "en", "settings.invalid_hours").splitlines()[0]
    )
    await admin.send("9:00-18:30")
    card = await admin.reply()
    await admin.press("✅ Save", message=card)
    after = await admin.reply()
    assert "09:00–18:30" in after.text
    assert (member(db).work_start, member(db).work_end) == ("09:00", "18:30")
    del title


async def test_typed_timezone_is_validated_and_the_birthday_follows(
    app: CrmApplication, admin: ScriptedUser, db: Database
) -> None:
    await admin.send("/settings")
    menu = await admin.reply()

    def birthday(session: Session) -> None:
        owner = get_member_by_telegram_id(session, telegram_id=ADMIN_ID)
        assert owner is not None
        customer = make_customer(session, owner=owner)
        customer.birthday_month, customer.birthday_day = 1, 15

    db.run_sync(birthday)
    assert await scheduler.plan_due_nudges(app) == 1
    [before] = db.read_sync(lambda s: list(s.exec(select(Reminder))))
    assert before.due_at == datetime(2031, 1, 15, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    await admin.press("🌍 Timezone", message=menu)
    await admin.press("⌨️ Type one…", message=await admin.edited(menu))
    await admin.replies(2)
    await admin.send("Mars/Olympus")
    await admin.reply()
    await admin.send("Asia/Tokyo")
    card = await admin.reply()
    assert "Japan Time" in card.text  # what was understood, named
    await admin.press("✅ Save", message=card)
    assert "Japan Time" in (await admin.reply()).text
    assert member(db).timezone == "Asia/Tokyo"
    [after] = db.read_sync(lambda s: list(s.exec(select(Reminder))))
    assert after.due_at == datetime(2031, 1, 15, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


async def test_settings_in_chinese_names_the_timezone_in_chinese(
    app: CrmApplication, emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs
) -> None:
    """ "时区：Asia/Shanghai" read as a code: the zone is its region and city, in Chinese."""
    del app
    wang = await join(emu, admin, 2006, "Wang", language_code="zh")
    await wang.send("/settings")
    menu = await wang.reply()
    assert "时区：中国（上海）时间" in menu.text
    assert "Asia/" not in menu.text
    await wang.press(shown(catalogs, "zh", "settings.button.tz"), message=menu)
    zones = await wang.edited(menu)
    assert "美国（纽约）时间" in zones.button_labels
    assert not [label for label in zones.button_labels if "/" in label]
