"""Manager digests end to end: the numbers a manager reads match the seeded rows, in English
and in Chinese; a digest is sent once, also after a restart; a weekly summary on its day.
The tickers are parked: each test runs the notification pass itself with the clock pinned."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from bot import digest_jobs
from bot.emulator import BotApiEmulator
from handlers.formatting import format_money
from handlers.i18n import Catalogs
from storage.db import Database
from storage.members import get_member_by_telegram_id, set_reachable
from storage.models import Customer, Deal, Interaction, Role
from storage.parsing import Money
from tests.conftest import RunningBot
from tests.e2e.helpers import pinned, shown
from tests.e2e.user import ScriptedUser
from tests.factories import make_member, pk

# Wednesday 15 Jan 2031, 09:00 in Shanghai: today's 08:30 digest is due.
NOW = datetime(2031, 1, 15, 1, 0, tzinfo=UTC)
SLOT = datetime(2031, 1, 15, 0, 30, tzinfo=UTC)
MONDAY = NOW - timedelta(days=2)
IN_PERIOD = SLOT - timedelta(hours=2)
MANAGER_ID = 2001


pytestmark = pytest.mark.usefixtures("parked_tickers")


def seed_team(session: Session, language: str) -> None:
    """Mia manages Li (2 customers, 3 notes, a deal won for 1,000 CNY) and Wu (blocked the bot,
    a deal lost for 500 USD)."""
    manager = make_member(session, role=Role.MANAGER, telegram_id=MANAGER_ID, display_name="Mia")
    manager.language = language
    li = make_member(session, manager=manager, display_name="Li")
    wu = make_member(session, manager=manager, display_name="Wu")
    wu.unreachable_at = IN_PERIOD
    customers = [
        Customer(owner_id=pk(li), created_by_id=pk(li), name=f"C{i}", created_at=IN_PERIOD)
        for i in range(2)
    ]
    session.add_all(customers)
    session.flush()
    for _ in range(3):
        session.add(
            Interaction(
                customer_id=pk(customers[0]),
                owner_id=pk(li),
                created_by_id=pk(li),
                kind="call",
                happened_at=IN_PERIOD,
                created_at=IN_PERIOD,
            )
        )
    for owner, stage, amount, currency in ((li, "won", 1000, "CNY"), (wu, "lost", 500, "USD")):
        session.add(
            Deal(
                customer_id=pk(customers[1]),
                owner_id=pk(owner),
                created_by_id=pk(owner),
                title="Order",
                stage=stage,
                amount=Decimal(amount),
                currency=currency,
                created_at=IN_PERIOD,
                closed_at=IN_PERIOD,
            )
        )


def expected_lines(catalogs: Catalogs, lang: str) -> list[str]:
    def amounts(value: int, currency: str) -> str:
        money = format_money(Money(Decimal(value), currency), lang=lang)
        return shown(catalogs, lang, "digest.amounts", amounts=money)

    return [
        shown(catalogs, lang, "digest.new", customers=2, deals=1, notes=3),
        shown(
            catalogs,
            lang,
            "digest.closed",
            won=1,
            won_amounts=amounts(1000, "CNY"),
            lost=0,
            lost_amounts="",
        ),
        shown(catalogs, lang, "digest.new", customers=0, deals=1, notes=0),
        shown(
            catalogs,
            lang,
            "digest.closed",
            won=0,
            won_amounts="",
            lost=1,
            lost_amounts=amounts(500, "USD"),
        ),
        shown(catalogs, lang, "digest.unreachable", names="Wu"),
    ]


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_digest_reaches_manager_with_the_seeded_counts(
    emu: BotApiEmulator, running_bot: RunningBot, database: Database, catalogs: Catalogs, lang: str
) -> None:
    manager = ScriptedUser(emu, MANAGER_ID, "Mia", language_code=lang)
    database.run_sync(seed_team, lang)
    assert await digest_jobs.run_pass(pinned(running_bot, NOW)) == 1
    text = (await manager.reply()).text
    assert shown(catalogs, lang, "digest.member", name="Li") in text
    for line in expected_lines(catalogs, lang):
        assert line in text


async def test_digest_is_not_sent_twice_across_a_restart(
    emu: BotApiEmulator, running_bot: RunningBot, database: Database
) -> None:
    ScriptedUser(emu, MANAGER_ID, "Mia")
    database.run_sync(seed_team, "en")
    assert await digest_jobs.run_pass(pinned(running_bot, NOW)) == 1
    assert await digest_jobs.run_pass(pinned(running_bot, NOW)) == 0
    await running_bot.restart()
    assert await digest_jobs.run_pass(pinned(running_bot, NOW + timedelta(hours=3))) == 0
    assert len(emu.bot_messages(MANAGER_ID)) == 1


async def test_digest_waits_for_the_managers_working_hours(
    emu: BotApiEmulator, running_bot: RunningBot, database: Database
) -> None:
    """Digest time 08:30, working hours from 09:00 (the defaults): it goes out at 09:00."""
    ScriptedUser(emu, MANAGER_ID, "Mia")
    database.run_sync(seed_team, "en")
    before_work = NOW - timedelta(minutes=15)  # 08:45 in Shanghai
    assert await digest_jobs.run_pass(pinned(running_bot, before_work)) == 0
    assert emu.bot_messages(MANAGER_ID) == []
    assert await digest_jobs.run_pass(pinned(running_bot, NOW)) == 1  # 09:00


async def test_digest_missed_while_down_is_sent_once_at_the_next_pass(
    emu: BotApiEmulator, running_bot: RunningBot, database: Database, catalogs: Catalogs
) -> None:
    manager = ScriptedUser(emu, MANAGER_ID, "Mia")
    database.run_sync(seed_team, "en")
    await running_bot.stop()
    await running_bot.start()  # back at 11:00, two and a half hours after the slot
    assert await digest_jobs.run_pass(pinned(running_bot, NOW + timedelta(hours=2))) == 1
    assert shown(catalogs, "en", "digest.member", name="Li") in (await manager.reply()).text


async def test_next_digest_starts_where_the_last_one_ended(
    emu: BotApiEmulator, running_bot: RunningBot, database: Database, catalogs: Catalogs
) -> None:
    manager = ScriptedUser(emu, MANAGER_ID, "Mia")
    database.run_sync(seed_team, "en")
    await digest_jobs.run_pass(pinned(running_bot, NOW))
    await manager.reply()
    assert await digest_jobs.run_pass(pinned(running_bot, NOW + timedelta(days=1))) == 1
    text = (await manager.reply()).text
    assert shown(catalogs, "en", "digest.new", customers=0, deals=0, notes=0) in text
    assert shown(catalogs, "en", "digest.unreachable", names="Wu") in text


async def test_weekly_summary_is_sent_on_the_configured_day(
    emu: BotApiEmulator, running_bot: RunningBot, database: Database, catalogs: Catalogs
) -> None:
    manager = ScriptedUser(emu, MANAGER_ID, "Mia")
    database.run_sync(seed_team, "en")
    assert await digest_jobs.run_pass(pinned(running_bot, MONDAY)) == 2  # the default: "mon"
    weekly = shown(catalogs, "en", "digest.weekly_title", since="", until="").split("·")[0]
    titles = [m.text.splitlines()[0] for m in await manager.replies(2)]
    assert sum(title.startswith(weekly) for title in titles) == 1


async def test_digest_refused_with_403_is_not_retried_and_marks_manager_unreachable(
    emu: BotApiEmulator, running_bot: RunningBot, database: Database
) -> None:
    ScriptedUser(emu, MANAGER_ID, "Mia")
    database.run_sync(seed_team, "en")
    emu.faults.fail(
        "sendMessage", error_code=403, description="Forbidden: bot was blocked by the user"
    )
    assert await digest_jobs.run_pass(pinned(running_bot, NOW)) == 0
    manager = database.read_sync(get_member_by_telegram_id, telegram_id=MANAGER_ID)
    assert manager is not None
    assert manager.unreachable_at is not None
    database.run_sync(set_reachable, member_id=pk(manager), reachable=True)
    assert await digest_jobs.run_pass(pinned(running_bot, NOW)) == 0  # that day's digest is final
    assert emu.bot_messages(MANAGER_ID) == []


def works_on(days: str) -> Callable[[Session], None]:
    def change(session: Session) -> None:
        manager = get_member_by_telegram_id(session, telegram_id=MANAGER_ID)
        assert manager is not None
        manager.work_days = days
        session.add(manager)

    return change


async def test_a_weekend_digest_is_not_sent_and_monday_brings_the_weekend(
    emu: BotApiEmulator, running_bot: RunningBot, database: Database, catalogs: Catalogs
) -> None:
    manager = ScriptedUser(emu, MANAGER_ID, "Mia")
    database.run_sync(seed_team, "en")
    friday, saturday = NOW + timedelta(days=2), NOW + timedelta(days=3)
    assert await digest_jobs.run_pass(pinned(running_bot, friday)) == 1
    await manager.reply()

    def add_customer_on_saturday(session: Session) -> None:
        li = session.exec(select(Customer).where(Customer.name == "C0")).one().owner_id
        session.add(Customer(owner_id=li, created_by_id=li, name="Weekend", created_at=saturday))

    database.run_sync(add_customer_on_saturday)
    for day in (saturday, saturday + timedelta(hours=6), saturday + timedelta(days=1)):
        assert await digest_jobs.run_pass(pinned(running_bot, day)) == 0
    assert len(emu.bot_messages(MANAGER_ID)) == 1
    monday = saturday + timedelta(days=2)
    assert await digest_jobs.run_pass(pinned(running_bot, monday)) == 2  # daily and weekly
    weekly = shown(catalogs, "en", "digest.weekly_title", since="", until="").split("·")[0]
    [daily] = [m.text for m in await manager.replies(2) if not m.text.startswith(weekly)]
    weekend = shown(catalogs, "en", "digest.new", customers=1, deals=0, notes=0)
    assert weekend in daily  # Friday's digest to Monday's: Saturday's customer


async def test_weekly_summary_of_a_manager_off_on_its_day_comes_on_their_next_working_day(
    emu: BotApiEmulator, running_bot: RunningBot, database: Database, catalogs: Catalogs
) -> None:
    manager = ScriptedUser(emu, MANAGER_ID, "Mia")
    database.run_sync(seed_team, "en")
    database.run_sync(works_on("1,2,3,4,5"))  # Tuesday to Saturday; the weekly day is Monday
    monday = NOW + timedelta(days=5)
    assert await digest_jobs.run_pass(pinned(running_bot, monday)) == 0
    assert await digest_jobs.run_pass(pinned(running_bot, monday + timedelta(days=1))) == 2
    weekly = shown(catalogs, "en", "digest.weekly_title", since="", until="").split("·")[0]
    titles = [m.text.splitlines()[0] for m in await manager.replies(2)]
    assert sum(title.startswith(weekly) for title in titles) == 1
    assert await digest_jobs.run_pass(pinned(running_bot, monday + timedelta(days=2))) == 1
    saturday = monday + timedelta(days=5)
    assert await digest_jobs.run_pass(pinned(running_bot, saturday)) == 1  # a working day
