"""/settings end to end: timezone and working hours by button and typed, working days
toggled and saved (in English and Chinese, across a restart, and left unchanged by Back),
rows checked, and a planned birthday follows the new timezone and days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from bot import digest_jobs, scheduler
from bot.app import CrmApplication, services_of
from bot.emulator import BotApiEmulator, BotMessage
from handlers.callback_data import SettingsAction, pack
from handlers.i18n import Catalogs
from storage.db import Database
from storage.members import get_member_by_telegram_id
from storage.models import Member, Reminder
from tests.conftest import ADMIN_ID, RunningBot
from tests.e2e.helpers import join, retime, shown
from tests.e2e.test_records import callback_answer
from tests.e2e.user import ScriptedUser
from tests.factories import make_customer

NOW = datetime(2031, 1, 15, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai


@pytest.fixture(autouse=True)
def parked_ticker(monkeypatch: pytest.MonkeyPatch) -> None:
    """The clock is fixed at 08:00 in Shanghai: moving to Tokyo makes it 09:00, past the
    08:30 digest, which the notifications ticker would send in the middle of a test."""
    retime(
        monkeypatch,
        scheduler.DELIVER_JOB,
        scheduler.PLAN_JOB,
        digest_jobs.JOB,
        every=timedelta(hours=1),
    )


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
            days="Mon, Tue, Wed, Thu, Fri",
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


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_typed_setting_cards_render_their_title_not_its_tags(
    app: CrmApplication,
    emu: BotApiEmulator,
    admin: ScriptedUser,
    catalogs: Catalogs,
    lang: str,
) -> None:
    """The check card's title was shown as "🌍 <b>Timezone</b> — please check:" (issue 16)."""
    del app
    user = admin if lang == "en" else await join(emu, admin, 2002, "李娜", language_code="zh-hans")
    typed_settings = (
        ("tz", "settings_tz", "Asia/Tokyo"),
        ("hours", "settings_hours", "9:00-18:00"),
    )
    for button, flow, typed in typed_settings:
        await user.send("/settings")
        menu = await user.reply()
        await user.press(shown(catalogs, lang, f"settings.button.{button}"), message=menu)
        await user.press(
            shown(catalogs, lang, "settings.button.type"), message=await user.edited(menu)
        )
        title, _ask = await user.replies(2)
        assert title.text == shown(catalogs, lang, f"{flow}.title")
        await user.send(typed)
        card = await user.reply()
        heading = card.text.splitlines()[0]
        assert heading == shown(
            catalogs, lang, "flow.summary_title", title=shown(catalogs, lang, f"{flow}.title")
        )
        assert "<" not in heading
        await user.send("/cancel")
        await user.reply()


# --- working days -------------------------------------------------------------------------------

WEEKDAYS = {"en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}
WEEKDAYS["zh"] = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


def day_buttons(catalogs: Catalogs, lang: str, on: set[int]) -> list[str]:
    return [
        shown(catalogs, lang, "settings.days.on" if i in on else "settings.days.off", day=day)
        for i, day in enumerate(WEEKDAYS[lang])
    ]


async def open_days(user: ScriptedUser, catalogs: Catalogs, lang: str) -> BotMessage:
    await user.send("/settings")
    menu = await user.reply()
    await user.press(shown(catalogs, lang, "settings.button.days"), message=menu)
    return await user.edited(menu)


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_working_days_are_toggled_then_saved_and_the_birthday_follows(
    app: CrmApplication, emu: BotApiEmulator, db: Database, catalogs: Catalogs, lang: str
) -> None:
    user = ScriptedUser(emu, ADMIN_ID, "Ada", language_code=lang)
    await user.send("/help")
    await user.reply()

    def saturday_birthday(session: Session) -> None:
        owner = get_member_by_telegram_id(session, telegram_id=ADMIN_ID)
        assert owner is not None
        customer = make_customer(session, owner=owner)
        customer.birthday_month, customer.birthday_day = 1, 18  # Saturday 18 January 2031

    db.run_sync(saturday_birthday)
    assert await scheduler.plan_due_nudges(app) == 0  # not yet: three days ahead
    days = await open_days(user, catalogs, lang)
    weekdays = "、" if lang == "zh" else ", "
    assert (
        days.text.splitlines()[0]
        == shown(
            catalogs, lang, "settings.days.pick", days=weekdays.join(WEEKDAYS[lang][:5])
        ).splitlines()[0]
    )
    assert days.button_labels[:7] == day_buttons(catalogs, lang, {0, 1, 2, 3, 4})
    on, off = "settings.days.on", "settings.days.off"
    await user.press(shown(catalogs, lang, off, day=WEEKDAYS[lang][5]), message=days)
    days = await user.edited(days)
    await user.press(shown(catalogs, lang, on, day=WEEKDAYS[lang][0]), message=days)
    days = await user.edited(days)
    assert days.button_labels[:7] == day_buttons(catalogs, lang, {1, 2, 3, 4, 5})
    assert member(db).work_days is None  # nothing is stored before Save
    await user.press(shown(catalogs, lang, "flow.button.save"), message=days)
    saved = await user.edited(days)
    assert weekdays.join(WEEKDAYS[lang][1:6]) in saved.text
    assert shown(catalogs, lang, "settings.saved") in saved.text
    assert member(db).work_days == "1,2,3,4,5"
    saturday = datetime(2031, 1, 18, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    services_of(app).clock = lambda: saturday
    assert await scheduler.plan_due_nudges(app) == 1
    [nudge] = db.read_sync(lambda s: list(s.exec(select(Reminder))))
    assert nudge.due_at == saturday  # a working day now: at the check time, not on Monday


async def test_working_days_none_is_refused_and_back_changes_nothing(
    app: CrmApplication, admin: ScriptedUser, emu: BotApiEmulator, db: Database, catalogs: Catalogs
) -> None:
    del app
    days = await open_days(admin, catalogs, "en")
    for day in WEEKDAYS["en"][:5]:
        await admin.press(f"✅ {day}", message=days)
        days = await admin.edited(days)
    assert days.button_labels[:7] == day_buttons(catalogs, "en", set())
    await admin.press("✅ Save", message=days)
    assert await callback_answer(emu) == shown(catalogs, "en", "settings.days.none")
    assert member(db).work_days is None
    await admin.press("⬅️ Back", message=days)
    menu = await admin.edited(days)
    assert "Working days: Mon, Tue, Wed, Thu, Fri" in menu.text
    assert member(db).work_days is None


async def test_working_days_picked_before_a_restart_are_saved_after_it(
    app: CrmApplication, admin: ScriptedUser, running_bot: RunningBot, db: Database,
    catalogs: Catalogs,
) -> None:  # fmt: skip
    del app
    days = await open_days(admin, catalogs, "en")
    await admin.press("▫️ Sat", message=days)
    days = await admin.edited(days)
    await running_bot.restart()
    await admin.press("✅ Save", message=days)
    saved = await admin.edited(days)
    assert "Working days: Mon, Tue, Wed, Thu, Fri, Sat" in saved.text
    assert member(db).work_days == "0,1,2,3,4,5"


async def test_a_forged_working_days_button_is_stale(
    app: CrmApplication, admin: ScriptedUser, emu: BotApiEmulator, db: Database, catalogs: Catalogs
) -> None:
    del app
    days = await open_days(admin, catalogs, "en")
    await admin.press_data(pack(SettingsAction("daysave", "999")), days)
    assert await callback_answer(emu) == shown(catalogs, "en", "common.stale_button")
    assert member(db).work_days is None


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
