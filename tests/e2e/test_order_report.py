"""/report's order lines end to end: the orders placed in the period by the status they are
in now, with their amounts per currency, for what the member may see (another salesperson's
orders, a deleted one and one from before the period are left out), in English and Chinese."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import Session

from bot.emulator import BotApiEmulator
from handlers.formatting import format_money
from handlers.i18n import Catalogs
from storage.db import Database
from storage.members import get_member_by_telegram_id
from storage.models import Member, OrderStatus
from storage.orders import OrderCreate, OrderLineCreate, archive_order, cancel_order, create_order
from storage.parsing import Money
from tests.conftest import RunningBot
from tests.e2e.helpers import shown
from tests.e2e.test_contract_report import monthly_report
from tests.e2e.test_report import LI, WU, seed
from tests.factories import make_customer, pk

pytestmark = pytest.mark.usefixtures("parked_tickers")


def order(
    session: Session, owner: Member, on: date, total: int, currency: str = "CNY", **values: object
) -> int:
    data = OrderCreate(
        customer_id=pk(make_customer(session, owner=owner)),
        ordered_on=on,
        lines=(OrderLineCreate("X2"),),
        total=Decimal(total),
        currency=currency,
        **values,  # type: ignore[arg-type]  # status only
    )
    return pk(create_order(session, actor=owner, data=data))


def with_orders(session: Session, lang: str) -> None:
    """Li placed four orders this month (two paid, CNY and USD; one ordered; one cancelled),
    one deleted, one last year; Wu's order is not Li's."""
    seed(session, lang)
    li, wu = (get_member_by_telegram_id(session, telegram_id=i) for i in (LI, WU))
    assert li is not None
    assert wu is not None
    this_month = date(2031, 1, 12)
    order(session, li, this_month, 1000, status=OrderStatus.PAID)
    order(session, li, this_month, 50, "USD", status=OrderStatus.PAID)
    order(session, li, this_month, 700)
    cancelled = order(session, li, this_month, 300)
    cancel_order(session, actor=li, order_id=cancelled, reason="price")
    deleted = order(session, li, this_month, 9999)
    archive_order(session, actor=li, order_id=deleted)
    order(session, li, date(2030, 1, 12), 8888)
    order(session, wu, this_month, 7777)


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_report_shows_orders_by_status_with_their_amounts(
    emu: BotApiEmulator,
    running_bot: RunningBot,
    database: Database,
    catalogs: Catalogs,
    lang: str,
) -> None:
    text = await monthly_report(emu, running_bot, database, with_orders, lang)

    def money(*amounts: Money) -> str:
        return "(" + " + ".join(format_money(m, lang=lang) for m in amounts) + ")"

    def status(code: str, count: int, amounts: str) -> str:
        label = shown(catalogs, lang, f"order.status.{code}")
        return shown(
            catalogs, lang, "order_report.status", status=label, count=count, amounts=amounts
        )

    expected = [
        shown(catalogs, lang, "order_report.title", count=4),
        status("ordered", 1, money(Money(Decimal(700), "CNY"))),
        status("paid", 2, money(Money(Decimal(1000), "CNY"), Money(Decimal(50), "USD"))),
        status("cancelled", 1, money(Money(Decimal(300), "CNY"))),
    ]
    lines = text.splitlines()
    start = lines.index(expected[0])
    assert lines[start : start + 4] == expected


async def test_report_without_orders_in_the_period_has_no_order_lines(
    emu: BotApiEmulator, running_bot: RunningBot, database: Database, catalogs: Catalogs
) -> None:
    text = await monthly_report(emu, running_bot, database, seed, "en")
    assert "📦" not in text
