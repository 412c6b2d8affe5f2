"""/report and /subscribe end to end: a salesperson and their manager read different numbers,
month and quarter, the usage on a bad period, a friendly text when nothing happened, in
English and Chinese; the charts arrive as real PNG photos. A weekly subscription is sent once by
the digest pass on the weekly day, stops when unsubscribed and survives a restart.
The tickers are parked and the clock pinned, as in test_digest."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import BytesIO

import pytest
from matplotlib.image import imread
from sqlmodel import Session

from bot import digest_jobs
from bot.emulator import BotApiEmulator
from bot.emulator.messages import BotMessage
from handlers.formatting import format_money
from handlers.i18n import Catalogs
from storage.db import Database
from storage.models import Role
from storage.notification_models import Subscription
from storage.parsing import Money
from tests.conftest import RunningBot
from tests.e2e.helpers import pinned, rows, shown
from tests.e2e.user import ScriptedUser
from tests.factories import make_member
from tests.storage.test_reports import customer, deal, note

# Wednesday 15 Jan 2031, 09:00 in Shanghai; the data is from Sunday 12 Jan, 12:00.
NOW = datetime(2031, 1, 15, 1, 0, tzinfo=UTC)
MONDAY = NOW - timedelta(days=2)  # the weekly slot's day (config default "mon"), 09:00
IN_PERIOD = datetime(2031, 1, 12, 4, 0, tzinfo=UTC)
PERIOD_START = datetime(2031, 4, 1, 1, 0, tzinfo=UTC)  # Tuesday 1 Apr, 09:00 in Shanghai
MIA, LI, WU = 2001, 2002, 2003
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CHARTS = 3


pytestmark = pytest.mark.usefixtures("parked_tickers")


def seed(session: Session, li_language: str = "en") -> None:
    """Mia manages Li; Wu is in no team. Li: 3 new customers (2 by referral), a deal won for
    1,000 CNY, 3 calls. Mia: a new customer with an open deal. Wu: 4 new customers."""
    mia = make_member(session, role=Role.MANAGER, telegram_id=MIA, display_name="Mia")
    li = make_member(session, manager=mia, telegram_id=LI, display_name="Li")
    li.language = li_language
    wu = make_member(session, telegram_id=WU, display_name="Wu")
    for _ in range(2):
        customer(session, li, source="referral", region="上海", at=IN_PERIOD)
    deal(session, li, ["lead", "proposal", "won"], "1000", at=IN_PERIOD)
    for _ in range(3):
        note(session, li, at=IN_PERIOD)
    deal(session, mia, ["lead"], "500", at=IN_PERIOD)
    for _ in range(4):
        customer(session, wu, at=IN_PERIOD)


def summary(catalogs: Catalogs, lang: str, customers: int, deals: int, activities: int) -> str:
    won = f"({format_money(Money(Decimal(1000), 'CNY'), lang=lang)})"
    return shown(
        catalogs,
        lang,
        "report.summary",
        customers=customers,
        deals=deals,
        won=1,
        won_amounts=won,
        activities=activities,
    )


def title(catalogs: Catalogs, lang: str, period: str) -> str:
    """The report's title up to its dates (which depend on the day)."""
    text = shown(catalogs, lang, f"report.title.{period}", first="", last="")
    return re.split(r"[(（]", text)[0]


def assert_png_photos(emu: BotApiEmulator, messages: list[BotMessage]) -> None:
    """The charts: one album of PNGs 1080 px wide."""
    assert len({m.raw.get("media_group_id") for m in messages} - {None}) == 1
    for message in messages:
        assert message.photo is not None, message
        content = emu.state.files[message.photo.file_id].content
        assert content.startswith(PNG_MAGIC)
        assert imread(BytesIO(content), format="png").shape[1] == 1080


@pytest.mark.parametrize(
    ("lang", "command", "period"),
    [
        ("en", "/report", "week"),
        ("zh", "/report", "week"),
        ("en", "/report MONTH", "month"),
        ("en", "/report QUARTER", "quarter"),
    ],
)
async def test_report_for_a_salesperson_shows_their_numbers_and_charts(
    emu: BotApiEmulator,
    running_bot: RunningBot,
    database: Database,
    catalogs: Catalogs,
    lang: str,
    command: str,
    period: str,
) -> None:
    li = ScriptedUser(emu, LI, "Li", language_code=lang)
    database.run_sync(seed, lang)
    pinned(running_bot, NOW)
    await li.send(command)
    text = (await li.reply()).text
    assert text.startswith(title(catalogs, lang, period))
    assert shown(catalogs, lang, "report.scope.sales") in text
    assert summary(catalogs, lang, customers=3, deals=1, activities=3) in text
    assert_png_photos(emu, await li.replies(CHARTS))


@pytest.mark.parametrize("period", ["week", "month", "quarter"])
async def test_report_on_the_first_morning_of_a_period_shows_its_numbers(
    emu: BotApiEmulator,
    running_bot: RunningBot,
    database: Database,
    catalogs: Catalogs,
    period: str,
) -> None:
    li = ScriptedUser(emu, LI, "Li")

    def won_last_night(session: Session) -> None:
        member = make_member(session, telegram_id=LI, display_name="Li")
        deal(session, member, ["lead", "won"], "1000", at=PERIOD_START - timedelta(hours=1))
        note(session, member, at=PERIOD_START - timedelta(hours=1))

    database.run_sync(won_last_night)
    pinned(running_bot, PERIOD_START)
    await li.send(f"/report {period}")
    text = (await li.reply()).text
    assert text.startswith(title(catalogs, "en", period))
    assert summary(catalogs, "en", customers=1, deals=1, activities=1) in text
    assert_png_photos(emu, await li.replies(CHARTS))


async def test_report_for_a_manager_adds_up_the_team(
    emu: BotApiEmulator, running_bot: RunningBot, database: Database, catalogs: Catalogs
) -> None:
    mia = ScriptedUser(emu, MIA, "Mia")
    database.run_sync(seed)
    pinned(running_bot, NOW)
    await mia.send("/report week")
    text = (await mia.reply()).text
    assert shown(catalogs, "en", "report.scope.manager") in text
    assert summary(catalogs, "en", customers=4, deals=2, activities=3) in text
    assert_png_photos(emu, await mia.replies(CHARTS))


async def test_report_with_an_unknown_period_explains_with_an_example(
    emu: BotApiEmulator, running_bot: RunningBot, database: Database, catalogs: Catalogs
) -> None:
    li = ScriptedUser(emu, LI, "Li")
    database.run_sync(seed)
    await li.send("/report year")
    assert (await li.reply()).text == shown(catalogs, "en", "report.usage")
    await li.send("/report week month")
    assert (await li.reply()).text == shown(catalogs, "en", "report.usage")
    assert all(m.photo is None for m in emu.bot_messages(LI))


async def test_report_of_a_quiet_period_is_one_friendly_text(
    emu: BotApiEmulator, running_bot: RunningBot, database: Database, catalogs: Catalogs
) -> None:
    wu = ScriptedUser(emu, WU, "Wu")
    database.run_sync(seed)
    pinned(running_bot, NOW + timedelta(days=30))  # a month later: nothing new
    await wu.send("/report")
    assert shown(catalogs, "en", "report.empty") in (await wu.reply()).text
    await wu.send("/subscribe")  # the next reply is the answer to this, not a chart
    assert shown(catalogs, "en", "subscribe.usage") in (await wu.reply()).text
    assert all(m.photo is None for m in emu.bot_messages(WU))


async def test_subscribe_alone_shows_usage_and_whether_subscribed(
    emu: BotApiEmulator, running_bot: RunningBot, database: Database, catalogs: Catalogs
) -> None:
    li = ScriptedUser(emu, LI, "Li")
    database.run_sync(seed)
    await li.send("/subscribe")
    text = (await li.reply()).text
    assert shown(catalogs, "en", "subscribe.current.none") in text
    assert shown(catalogs, "en", "subscribe.usage") in text
    await li.send("/subscribe report weekly")
    assert (await li.reply()).text == shown(
        catalogs, "en", "subscribe.done", day="Monday", time="08:30"
    )
    await li.send("/subscribe")
    assert shown(catalogs, "en", "subscribe.current.weekly") in (await li.reply()).text


async def test_weekly_report_is_sent_once_by_the_digest_pass(
    emu: BotApiEmulator,
    running_bot: RunningBot,
    database: Database,
    catalogs: Catalogs,
    db_url: str,
) -> None:
    li = ScriptedUser(emu, LI, "Li")
    database.run_sync(seed)
    for _ in range(2):  # asking twice stores one subscription
        await li.send("/subscribe report weekly")
        await li.reply()
    assert len(rows(db_url, Subscription)) == 1
    await digest_jobs.run_pass(pinned(running_bot, NOW))  # Mia's digest; not the weekly day
    assert len(emu.bot_messages(LI)) == 2
    await digest_jobs.run_pass(pinned(running_bot, MONDAY))
    text = (await li.reply()).text
    assert title(catalogs, "en", "week") in text
    assert summary(catalogs, "en", customers=3, deals=1, activities=3) in text
    assert_png_photos(emu, await li.replies(CHARTS))
    await digest_jobs.run_pass(pinned(running_bot, MONDAY + timedelta(hours=2)))
    assert len(emu.bot_messages(LI)) == 2 + 1 + CHARTS  # two confirmations, one report


async def test_unsubscribing_stops_the_weekly_report(
    emu: BotApiEmulator, running_bot: RunningBot, database: Database, catalogs: Catalogs
) -> None:
    li = ScriptedUser(emu, LI, "Li")
    database.run_sync(seed)
    await li.send("/subscribe report weekly")
    await li.reply()
    await li.send("/subscribe report off")
    assert (await li.reply()).text == shown(catalogs, "en", "subscribe.stopped")
    await li.send("/subscribe report off")
    assert (await li.reply()).text == shown(catalogs, "en", "subscribe.not_subscribed")
    await digest_jobs.run_pass(pinned(running_bot, MONDAY))
    assert len(emu.bot_messages(LI)) == 3


async def test_subscription_survives_a_restart(
    emu: BotApiEmulator, running_bot: RunningBot, database: Database, catalogs: Catalogs
) -> None:
    li = ScriptedUser(emu, LI, "Li")
    database.run_sync(seed)
    await li.send("/subscribe report weekly")
    await li.reply()
    await running_bot.restart()
    await li.send("/subscribe")
    assert shown(catalogs, "en", "subscribe.current.weekly") in (await li.reply()).text
    await digest_jobs.run_pass(pinned(running_bot, MONDAY))
    assert summary(catalogs, "en", customers=3, deals=1, activities=3) in (await li.reply()).text
