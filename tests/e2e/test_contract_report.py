"""/report's contract lines end to end: contracts signed in the period with their amounts per
currency, and those running out within 30 days, for what the member may see, in English and
Chinese."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import Session

from bot.emulator import BotApiEmulator
from handlers.formatting import format_money
from handlers.i18n import Catalogs
from storage.db import Database
from storage.members import get_member_by_telegram_id
from storage.models import Contract, ContractStatus, Member
from storage.parsing import Money
from tests.conftest import RunningBot
from tests.e2e.helpers import pinned, shown
from tests.e2e.test_report import LI, NOW, WU, seed
from tests.e2e.user import ScriptedUser
from tests.factories import make_customer, pk

pytestmark = pytest.mark.usefixtures("parked_tickers")


def contract(session: Session, owner: Member, number: str, **values: object) -> None:
    session.add(
        Contract(
            customer_id=pk(make_customer(session, owner=owner)),
            owner_id=pk(owner),
            created_by_id=pk(owner),
            number=number,
            title="Forklift service",
            status=ContractStatus.ACTIVE,
            **values,
        )
    )
    session.flush()


def with_contracts(session: Session, lang: str) -> None:
    """Li signed two contracts this month (CNY and USD), one of hers ends in 10 days; Wu's
    contract is not Li's."""
    seed(session, lang)
    li, wu = (get_member_by_telegram_id(session, telegram_id=i) for i in (LI, WU))
    assert li is not None
    assert wu is not None
    cny, usd = Decimal(120000), Decimal(900)
    contract(session, li, "HT-1", signed_on=date(2031, 1, 12), amount=cny, currency="CNY")
    contract(session, li, "HT-2", signed_on=date(2031, 1, 13), amount=usd, currency="USD")
    contract(session, li, "HT-3", signed_on=date(2030, 1, 1), ends_on=date(2031, 1, 25))
    contract(session, wu, "HT-4", signed_on=date(2031, 1, 12), amount=cny, currency="CNY")


async def monthly_report(
    emu: BotApiEmulator,
    running_bot: RunningBot,
    database: Database,
    seeder: Callable[[Session, str], None],
    lang: str,
) -> str:
    """Li's `/report month` at `NOW`, in `lang`, on a database `seeder` filled."""
    li = ScriptedUser(emu, LI, "Li", language_code=lang)
    database.run_sync(seeder, lang)
    pinned(running_bot, NOW)
    await li.send("/report month")
    return (await li.reply()).text


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_report_shows_contracted_amounts_and_contracts_expiring_soon(
    emu: BotApiEmulator,
    running_bot: RunningBot,
    database: Database,
    catalogs: Catalogs,
    lang: str,
) -> None:
    text = await monthly_report(emu, running_bot, database, with_contracts, lang)
    amounts = " + ".join(
        format_money(m, lang=lang)
        for m in (Money(Decimal(120000), "CNY"), Money(Decimal(900), "USD"))
    )
    assert (
        shown(catalogs, lang, "contract_reminders.report.signed", count=2, amounts=f"({amounts})")
        in text
    )
    assert shown(catalogs, lang, "contract_reminders.report.expiring", count=1, days=30) in text
