"""The order card end to end: an order through every status with its history, Cancel with a
reason, delete and restore, the customer card's latest orders and the paged list, and every
forged or foreign press refused like an unknown one."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import Session

from bot.emulator import BotApiEmulator
from handlers.callback_data import OrderAction, pack
from handlers.formatting import format_date
from handlers.i18n import Catalogs
from storage.models import Member, Order, OrderStatusChange
from storage.orders import OrderCreate, OrderLineCreate, create_order
from tests.e2e.helpers import eventually, join, rows, shown
from tests.e2e.test_deal_flow import add_customer, today, with_member
from tests.e2e.user import ScriptedUser


def add_order(
    db_url: str, user: ScriptedUser, customer_id: int, number: str, on: date | None = None
) -> int:
    def make(session: Session, member: Member) -> int:
        data = OrderCreate(
            customer_id=customer_id,
            ordered_on=on or today(),
            lines=(
                OrderLineCreate("X2", Decimal(50), Decimal(1200)),
                OrderLineCreate("cable", Decimal(10), Decimal(30)),
            ),
            currency="CNY",
            number=number,
            delivery_due_on=today() + timedelta(days=7),
        )
        order = create_order(session, actor=member, data=data)
        assert order.id is not None
        return order.id

    return with_member(db_url, user, make)


async def open_order(user: ScriptedUser, order_id: int) -> Any:
    await user.send("/help")
    anchor = await user.reply()
    await user.press_data(pack(OrderAction("open", order_id)), anchor)
    return await user.reply()


def status_of(db_url: str, order_id: int) -> str:
    (order,) = [o for o in rows(db_url, Order) if o.id == order_id]
    return str(order.status)


async def test_order_goes_through_every_status_with_its_history(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    customer = add_customer(db_url, admin, "Zhang Wei", "+8613800138000", company="Acme")
    order_id = add_order(db_url, admin, customer, "DD-1")
    card = await open_order(admin, order_id)
    due = format_date(today() + timedelta(days=7), lang="en")
    assert card.text.splitlines()[:6] == [
        "📦 Order DD-1 · Zhang Wei · Acme",
        "Status: Ordered",
        f"Ordered: {format_date(today(), lang='en')} · Delivery promised: {due}",
        "  • 50 × X2 @ 1,200 = 60,000",
        "  • 10 × cable @ 30 = 300",
        "Total: CN¥60,300",
    ]
    assert card.button_labels == ["✅ Confirm", "✖️ Cancel order", "✏️ Edit", "🗑 Delete"]
    for label, status in (
        ("✅ Confirm", "confirmed"),
        ("🚚 Shipped", "shipped"),
        ("📬 Delivered", "delivered"),
        ("💰 Paid", "paid"),
    ):
        await admin.press(label, message=card)
        card = await admin.edited(card)
        assert status_of(db_url, order_id) == status
    assert card.button_labels == ["🗑 Delete"]  # paid: nothing more to move, nor to cancel
    history = card.text.splitlines()[-5:]
    assert [line.split(": ", 1)[1] for line in history] == [
        "Ordered (Ada)",
        "Ordered → Confirmed (Ada)",
        "Confirmed → Shipped (Ada)",
        "Shipped → Delivered (Ada)",
        "Delivered → Paid (Ada)",
    ]
    moves = rows(db_url, OrderStatusChange)
    assert [m.to_status for m in moves] == ["ordered", "confirmed", "shipped", "delivered", "paid"]


async def test_cancel_asks_why_and_shows_it_on_the_card_in_chinese(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    li = await join(emu, admin, 2002, "李娜", language_code="zh-hans")
    customer = add_customer(db_url, li, "张伟", "+8613800138000")
    order_id = add_order(db_url, li, customer, "DD-2")
    card = await open_order(li, order_id)
    assert card.text.splitlines()[1] == "状态：已下单"
    await li.press("✖️ 取消订单", message=card)
    title, ask = await li.replies(2)
    assert ask.text == shown(catalogs, "zh", "order_cancel.ask.reason")
    await li.send("客户换了供应商")
    summary = await li.reply()
    assert status_of(db_url, order_id) == "ordered"  # nothing before Save
    await li.press("✅ 保存", message=summary)
    cancelled = await li.reply()
    assert "状态：已取消" in cancelled.text.splitlines()
    assert "取消原因：客户换了供应商" in cancelled.text.splitlines()
    assert cancelled.button_labels == ["🗑 删除"]
    (order,) = rows(db_url, Order)
    assert (order.status, order.cancel_reason) == ("cancelled", "客户换了供应商")


async def test_customer_card_lists_latest_orders_and_pages_through_all(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    customer = add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    for n in range(7):
        add_order(db_url, admin, customer, f"DD-{n}", on=today() - timedelta(days=10 - n))
    await admin.send(f"/customer {customer}")
    card = await admin.reply()
    listed = [line for line in card.text.splitlines() if line.startswith("DD-")]
    assert [line.split(" · ")[0] for line in listed] == ["DD-6", "DD-5", "DD-4"]
    assert [b for b in card.button_labels if b.startswith("📦")] == [
        "📦 DD-6",
        "📦 DD-5",
        "📦 DD-4",
        "📦 All orders",
    ]
    await admin.press("📦 All orders", message=card)
    first = await admin.reply()
    assert first.text.splitlines()[0] == shown(
        catalogs, "en", "order.list.title", customer="Zhang Wei", total=7
    )
    assert first.button_labels[-1] == "Older »"
    await admin.press("Older »", message=first)
    second = await admin.reply()
    assert [line.split(" · ")[0] for line in second.text.splitlines()[1:]] == ["DD-1", "DD-0"]
    await admin.press("📦 DD-0", message=second)
    opened = await admin.reply()
    assert opened.text.splitlines()[0] == "📦 Order DD-0 · Zhang Wei"


async def test_delete_asks_first_and_an_admin_restores(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    sam = await join(emu, admin, 2002, "Sam")
    customer = add_customer(db_url, sam, "Zhang Wei", "+8613800138000")
    order_id = add_order(db_url, sam, customer, "DD-3")
    card = await open_order(sam, order_id)
    await sam.press("🗑 Delete", message=card)
    question = await sam.reply()
    assert question.text == shown(catalogs, "en", "order.delete.confirm", name="DD-3")
    await sam.press(shown(catalogs, "en", "records.delete.yes"), message=question)
    await sam.edited(question)
    (order,) = rows(db_url, Order)
    assert order.deleted_at is not None
    await sam.press_data(pack(OrderAction("restore", order_id)), question)  # not an admin
    await sam.send("/help")
    await sam.reply()
    assert rows(db_url, Order)[0].deleted_at is not None
    await admin.send("/help")
    anchor = await admin.reply()
    await admin.press_data(pack(OrderAction("restore", order_id)), anchor)
    await admin.reply()
    assert rows(db_url, Order)[0].deleted_at is None


@pytest.mark.parametrize(
    "action",
    [
        OrderAction("open", 0),
        OrderAction("move", 0, "1"),
        OrderAction("cancel", 0),
        OrderAction("delete", 0, "1"),
        OrderAction("list", 0),
    ],
)
async def test_a_colleagues_order_is_refused_like_an_unknown_one(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str, action: OrderAction
):
    sam = await join(emu, admin, 2002, "Sam")
    ann = await join(emu, admin, 3003, "Ann")
    customer = add_customer(db_url, sam, "Zhang Wei", "+8613800138000")
    order_id = add_order(db_url, sam, customer, "DD-4")
    target = customer if action.action == "list" else order_id
    forged = pack(OrderAction(action.action, target, action.value))
    unknown = pack(OrderAction(action.action, order_id + 1000, action.value))
    await ann.send("/help")
    anchor = await ann.reply()
    earlier = set(emu.callback_answers)
    for data in (forged, unknown, "v1:ord:ship:1"):
        await ann.press_data(data, anchor)
    await eventually(lambda: len(set(emu.callback_answers) - earlier) >= 3)
    answers = [a.get("text") for i, a in emu.callback_answers.items() if i not in earlier]
    not_found = shown(catalogs, "en", "common.not_found")
    assert answers[:2] == [not_found, not_found]
    assert answers[2] == shown(catalogs, "en", "common.stale_button")
    (order,) = rows(db_url, Order)
    assert (order.status, order.deleted_at) == ("ordered", None)
    assert ann.last_bot_message is not None
    assert ann.last_bot_message.message_id == anchor.message_id  # nothing was sent
