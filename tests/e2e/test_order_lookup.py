"""/find and inline mode find orders by number, end to end, through the access rule:
another salesperson's order number finds what an unknown one finds, a deleted order is not
found, and a reassignment moves the order from one side's results to the other's."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlmodel import Session

from handlers.callback_data import OrderAction, pack
from handlers.i18n import Catalogs
from storage.db import Database
from storage.models import Order
from storage.orders import OrderCreate, OrderLineCreate, archive_order, create_order
from tests.e2e.helpers import shown
from tests.e2e.test_contract_lookup import (  # noqa: F401 (team: a fixture)
    LI_ID,
    SAM_ID,
    data_of,
    found,
    hand_over,
    member,
    team,
)
from tests.e2e.user import ScriptedUser
from tests.factories import make_customer, pk


def add_order(database: Database, owner: int, number: str, customer: str = "张伟") -> int:
    def add(session: Session) -> int:
        owner_member = member(session, owner)
        data = OrderCreate(
            customer_id=pk(make_customer(session, owner=owner_member, name=customer)),
            ordered_on=date(2026, 11, 2),
            lines=(OrderLineCreate("X2", Decimal(50), Decimal(1200)),),
            currency="CNY",
            number=number,
            delivery_due_on=date(2027, 1, 15),
        )
        return pk(create_order(session, actor=owner_member, data=data))

    return database.run_sync(add)


async def test_find_by_number_opens_the_order_in_chinese_and_english(
    team: tuple[ScriptedUser, ScriptedUser],  # noqa: F811
    admin: ScriptedUser,
    database: Database,
    catalogs: Catalogs,
) -> None:
    li, _ = team
    order_id = add_order(database, LI_ID, "DD-2026-0007")
    results = await found(li, "dd-2026-0007")
    assert results.text == shown(catalogs, "zh", "lookup.results", query="dd-2026-0007", page=1)  # type: ignore[attr-defined]
    assert results.button_labels == ["📦 DD-2026-0007 · 张伟 · 已下单"]  # type: ignore[attr-defined]
    assert data_of(results) == [pack(OrderAction("open", order_id))]
    by_prefix = await found(admin, "DD-2026")
    assert by_prefix.button_labels == ["📦 DD-2026-0007 · 张伟 · Ordered"]  # type: ignore[attr-defined]
    await admin.press_data(pack(OrderAction("open", order_id)), by_prefix)
    card = await admin.reply()
    assert card.text.startswith("📦 Order DD-2026-0007 · 张伟")


async def test_another_salespersons_order_number_finds_what_an_unknown_one_finds(
    team: tuple[ScriptedUser, ScriptedUser],  # noqa: F811
    database: Database,
) -> None:
    _, sam = team
    add_order(database, LI_ID, "DD-2026-0001")
    foreign = await found(sam, "DD-2026-0001")
    unknown = await found(sam, "DD-2026-0002")
    assert foreign.text.replace("0001", "0002") == unknown.text  # type: ignore[attr-defined]
    assert foreign.button_labels == unknown.button_labels == []  # type: ignore[attr-defined]
    assert await sam.inline("DD-2026-0001") == []


async def test_a_deleted_order_is_not_found(
    team: tuple[ScriptedUser, ScriptedUser],  # noqa: F811
    database: Database,
) -> None:
    li, _ = team
    order_id = add_order(database, LI_ID, "DD-2026-0003")
    database.run_sync(lambda s: archive_order(s, actor=member(s, LI_ID), order_id=order_id))
    assert data_of(await found(li, "DD-2026-0003")) == []
    assert await li.inline("DD-2026-0003") == []


async def test_a_reassignment_moves_the_order_between_searches_both_ways(
    team: tuple[ScriptedUser, ScriptedUser],  # noqa: F811
    database: Database,
) -> None:
    li, sam = team
    order_id = add_order(database, LI_ID, "DD-2026-0001")
    opens = pack(OrderAction("open", order_id))
    hand_over(database, order_id, SAM_ID, Order)
    assert data_of(await found(sam, "DD-2026-0001")) == [opens]
    assert data_of(await found(li, "DD-2026-0001")) == []
    assert await li.inline("DD-2026") == []
    hand_over(database, order_id, LI_ID, Order)
    assert data_of(await found(li, "DD-2026-0001")) == [opens]
    assert data_of(await found(sam, "DD-2026-0001")) == []


async def test_inline_mode_offers_the_order_with_an_open_button(
    team: tuple[ScriptedUser, ScriptedUser],  # noqa: F811
    database: Database,
    catalogs: Catalogs,
) -> None:
    li, sam = team
    order_id = add_order(database, LI_ID, "DD-2026-0001")
    [result] = await li.inline("DD-2026")
    assert result["title"] == "📦 DD-2026-0001 · 张伟 · 已下单"
    assert result["reply_markup"]["inline_keyboard"] == [
        [
            {
                "text": shown(catalogs, "zh", "order_lookup.open"),
                "callback_data": pack(OrderAction("open", order_id)),
            }
        ]
    ]
    text = result["input_message_content"]["message_text"]
    assert "DD-2026-0001" in text
    assert "60,000" in text
    add_order(database, SAM_ID, "DD-2026-0009", customer="Acme")
    [english] = await sam.inline("dd-2026-0009")
    assert english["title"] == "📦 DD-2026-0009 · Acme · Ordered"
