"""/deals and /pipeline end to end: grouping, totals per currency, scope, and the deal card."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import Session, select

from bot.emulator import BotApiEmulator
from handlers.formatting import format_money
from handlers.i18n import Catalogs
from storage.customers import CustomerCreate, create_customer
from storage.db import Database
from storage.deals import DealCreate, create_deal
from storage.models import Member
from storage.parsing import Money
from tests.e2e.helpers import join, shown
from tests.e2e.user import ScriptedUser


def add_deal(
    db_url: str,
    telegram_id: int,
    title: str,
    stage: str,
    amount: str | None,
    currency: str = "CNY",
) -> int:
    def add(session: Session) -> int:
        owner = session.exec(select(Member).where(Member.telegram_id == telegram_id)).one()
        customer = create_customer(session, actor=owner, data=CustomerCreate(name=f"{title} Co"))
        assert customer.id is not None
        data = DealCreate(
            customer_id=customer.id,
            title=title,
            stage=stage,
            amount=Decimal(amount) if amount else None,
            currency=currency if amount else None,
        )
        deal = create_deal(session, actor=owner, data=data)
        assert deal.id is not None
        return deal.id

    db = Database(db_url)
    try:
        return db.run_sync(add)
    finally:
        db.close()


@pytest.fixture
async def sales(emu: BotApiEmulator, admin: ScriptedUser) -> ScriptedUser:
    await admin.send("/help")
    await admin.reply()
    return await join(emu, admin, 2002, "Li Na")


def money(amount: str, currency: str = "CNY") -> str:
    return format_money(Money(Decimal(amount), currency), lang="en")


async def test_deals_grouped_by_stage_with_totals_and_buttons(
    admin: ScriptedUser, sales: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    add_deal(db_url, 2002, "Chairs", "lead", "100")
    add_deal(db_url, 2002, "Desks", "lead", "50", "USD")
    add_deal(db_url, 2002, "Lamps", "proposal", None)
    add_deal(db_url, 2002, "Sold", "won", "999")
    add_deal(db_url, 1001, "Not Mine", "lead", "7")
    await sales.send("/deals")
    listing = await sales.reply()
    lines = listing.text.splitlines()
    assert lines[0] == shown(catalogs, "en", "deals.title", count=3)
    total = f"{money('100')}, {money('50', 'USD')}"
    assert lines[1] == shown(catalogs, "en", "deals.stage", stage="Lead", count=2, total=total)
    assert lines[2] == shown(
        catalogs,
        "en",
        "deals.stage",
        stage="Proposal",
        count=1,
        total=shown(catalogs, "en", "pipeline.no_amount"),
    )
    edit, delete = (shown(catalogs, "en", f"records.button.{b}_short") for b in ("edit", "delete"))
    labels = listing.button_labels
    assert sorted(labels[i : i + 3] for i in range(0, len(labels), 3)) == [
        [deal, edit, delete]
        for deal in (
            "Lead · Chairs · Chairs Co",
            "Lead · Desks · Desks Co",
            "Proposal · Lamps · Lamps Co",
        )
    ]
    await sales.press("Lead · Chairs · Chairs Co", message=listing)
    card = await sales.reply()
    assert "Chairs" in card.text


async def test_deals_when_there_are_none(sales: ScriptedUser, catalogs: Catalogs) -> None:
    await sales.send("/deals")
    assert (await sales.reply()).text == shown(catalogs, "en", "deals.none")


async def test_pipeline_for_admin_totals_by_stage_and_salesperson(
    admin: ScriptedUser, sales: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    add_deal(db_url, 2002, "Chairs", "lead", "100")
    add_deal(db_url, 1001, "Tables", "lead", "20")
    add_deal(db_url, 2002, "Lamps", "negotiation", "5")
    await admin.send("/pipeline")
    lines = (await admin.reply()).text.splitlines()

    def line(name: str, count: int, amount: str) -> str:
        return shown(catalogs, "en", "pipeline.line", name=name, count=count, total=money(amount))

    assert lines == [
        shown(catalogs, "en", "pipeline.title_all"),
        "",
        shown(catalogs, "en", "pipeline.by_stage"),
        line("Lead", 2, "120"),
        line("Negotiation", 1, "5"),
        "",
        shown(catalogs, "en", "pipeline.by_owner"),
        line("Ada", 1, "20"),
        line("Li Na", 2, "105"),
    ]


async def test_pipeline_for_a_manager_covers_only_the_team(
    emu: BotApiEmulator, admin: ScriptedUser, sales: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    mia = await join(emu, admin, 3003, "Mia", "A manager")
    add_deal(db_url, 2002, "Outside Team", "lead", "100")
    await mia.send("/pipeline")
    lines = (await mia.reply()).text.splitlines()
    assert lines == [
        shown(catalogs, "en", "pipeline.title_team"),
        "",
        shown(catalogs, "en", "pipeline.none"),
    ]


async def test_pipeline_for_sales_is_refused(sales: ScriptedUser, catalogs: Catalogs) -> None:
    await sales.send("/pipeline")
    assert (await sales.reply()).text == shown(catalogs, "en", "pipeline.leads_only")
