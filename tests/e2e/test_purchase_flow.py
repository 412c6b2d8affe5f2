"""/purchase end to end: the happy path in both languages with the customer's total, the
Today button, bad input, Skip, Back, Edit, cancel, starting from a customer or a won deal,
other salespeople's customers, restarts. What it saves is an order delivered and paid, with
one line (storage/purchases.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlmodel import Session

from bot.emulator import BotApiEmulator
from handlers.formatting import format_date
from handlers.i18n import Catalogs
from storage.models import Customer, Member, Order, OrderLine
from storage.purchases import PurchaseCreate, create_purchase
from tests.conftest import RunningBot
from tests.e2e.helpers import answer, join, rows, shown
from tests.e2e.test_deal_flow import (
    add_customer,
    add_deal,
    open_card,
    pick_customer,
    today,
    with_member,
)
from tests.e2e.user import ScriptedUser


@dataclass(frozen=True)
class Bought:
    """A saved purchase as the old purchase row read: its order and its one line."""

    id: int
    customer_id: int
    deal_id: int | None
    product: str
    quantity: Decimal | None
    amount: Decimal | None
    currency: str | None
    purchased_on: date
    status: str


def purchases(db_url: str) -> list[Bought]:
    lines = {line.order_id: line for line in rows(db_url, OrderLine)}
    return [
        Bought(
            o.id,
            o.customer_id,
            o.deal_id,
            lines[o.id].product,
            lines[o.id].quantity,
            o.total,
            o.currency,
            o.ordered_on,
            o.status,
        )  # fmt: skip
        for o in rows(db_url, Order)
    ]


def add_purchase(db_url: str, user: ScriptedUser, customer_id: int, amount: str) -> None:
    def make(session: Session, member: Member) -> None:
        data = PurchaseCreate(
            customer_id=customer_id,
            product="Desk",
            purchased_on=today(),
            amount=Decimal(amount),
            currency="CNY",
        )
        create_purchase(session, actor=member, data=data)

    with_member(db_url, user, make)


async def test_new_purchase_with_every_field(admin: ScriptedUser, catalogs: Catalogs, db_url: str):
    add_customer(db_url, admin, "Zhang Wei", "+8613800138000", company="Acme")
    await admin.send("/purchase")
    title, ask = await admin.replies(2)
    assert (title.text, ask.text) == (
        shown(catalogs, "en", "purchase.title"),
        shown(catalogs, "en", "purchase.ask.customer"),
    )
    await pick_customer(admin, "acme", "Zhang Wei · Acme")
    await answer(admin, "Office chair")
    await answer(admin, "50 units")
    await admin.send("¥12,000.50")
    date_question = await admin.reply()
    assert date_question.text == shown(catalogs, "en", "purchase.ask.date")
    assert date_question.button_labels == ["Today", "« Back"]  # no Skip: a date is needed
    await admin.press("Today", message=date_question)
    summary = (await admin.reply()).text
    assert summary.splitlines() == [
        "New purchase — please check:",
        "Customer: Zhang Wei · Acme",
        "Product: Office chair",
        "Quantity: 50",
        "Amount: CN¥12,000.50",
        f"Date: {format_date(today(), lang='en')}",
    ]
    await admin.press("✅ Save")
    saved = await admin.reply()
    (purchase,) = purchases(db_url)
    assert saved.text.splitlines() == [
        shown(catalogs, "en", "purchase.saved", id=purchase.id, customer="Zhang Wei · Acme"),
        shown(catalogs, "en", "purchase.total", total="CN¥12,000.50"),
    ]
    assert (purchase.product, purchase.quantity) == ("Office chair", Decimal("50"))
    assert (purchase.amount, purchase.currency) == (Decimal("12000.50"), "CNY")
    assert (purchase.purchased_on, purchase.deal_id) == (today(), None)
    assert purchase.status == "paid"


async def test_new_purchase_in_chinese_adds_to_the_customers_total(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    li = await join(emu, admin, 2002, "李娜", language_code="zh-hans")
    customer = add_customer(db_url, li, "张伟", "+8613800138000")
    add_purchase(db_url, li, customer, "3000")
    await li.send("/purchase")
    await li.replies(2)
    await pick_customer(li, "8000", "张伟")
    await answer(li, "办公椅")
    await answer(li, "五十台")
    await answer(li, "1.2万元")
    summary = await answer(li, "昨天")
    yesterday = today() - timedelta(days=1)
    assert summary.splitlines()[1:] == [
        "客户：张伟",
        "产品：办公椅",
        "数量：50",
        "金额：¥12,000",
        f"日期：{format_date(yesterday, lang='zh')}",
    ]
    await li.press("✅ 保存")
    saved = await li.reply()
    purchase = purchases(db_url)[-1]
    assert saved.text.splitlines() == [
        shown(catalogs, "zh", "purchase.saved", id=purchase.id, customer="张伟"),
        shown(catalogs, "zh", "purchase.total", total="¥15,000"),
    ]
    assert (purchase.amount, purchase.purchased_on) == (Decimal("12000.00"), yesterday)


async def test_bad_amount_and_date_are_explained_and_earlier_answers_kept(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    await admin.send("/purchase")
    await admin.replies(2)
    await pick_customer(admin, "Zhang", "Zhang Wei")
    await answer(admin, "Office chair")
    await admin.press("Skip »")  # quantity
    await admin.reply()
    reply = await answer(admin, "a lot")
    assert reply.startswith(shown(catalogs, "en", "parse.amount.invalid"))
    assert reply.endswith(shown(catalogs, "en", "purchase.ask.amount"))
    await admin.press("Skip »")
    await admin.reply()
    reply = await answer(admin, "tomorrow")
    assert reply.startswith(shown(catalogs, "en", "parse.when.in_future"))
    reply = await answer(admin, "the thirty-second of Smarch")
    assert reply.startswith(shown(catalogs, "en", "parse.when.invalid"))
    assert reply.endswith(shown(catalogs, "en", "purchase.ask.date"))
    summary = await answer(admin, "today")
    assert summary.splitlines()[1:] == [
        "Customer: Zhang Wei",
        "Product: Office chair",
        f"Date: {format_date(today(), lang='en')}",
    ]
    await admin.press("✅ Save")
    saved = await admin.reply()
    assert len(saved.text.splitlines()) == 1  # no amounts yet: no total line
    (purchase,) = purchases(db_url)
    assert (purchase.quantity, purchase.amount, purchase.currency) == (None, None, None)


async def test_back_edit_and_cancel(admin: ScriptedUser, catalogs: Catalogs, db_url: str):
    add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    await admin.send("/purchase")
    await admin.replies(2)
    await pick_customer(admin, "Zhang", "Zhang Wei")
    await answer(admin, "Office chair")
    await admin.press("« Back")
    back_at_product = await admin.reply()
    assert "Now: Office chair" in back_at_product.text
    await answer(admin, "Desk")
    await answer(admin, "2")
    await answer(admin, "5000")
    await admin.press("Today")
    summary = await admin.reply()
    await admin.press("✏️ Edit a field", message=summary)
    which = await admin.reply()
    assert which.button_labels == ["Customer", "Product", "Quantity", "Amount", "Date", "« Back"]
    await admin.press("Quantity", message=which)
    await admin.reply()
    summary_text = await answer(admin, "3")
    assert "Quantity: 3" in summary_text
    assert "Product: Desk" in summary_text
    assert await answer(admin, "/cancel") == shown(catalogs, "en", "cancel.done")
    assert purchases(db_url) == []


async def test_purchase_from_the_customers_button(admin: ScriptedUser, db_url: str):
    await admin.send("/newcustomer")
    await admin.replies(2)
    await answer(admin, "Li Na")
    await admin.press("Review ✓")
    await admin.reply()
    await admin.press("✅ Save")
    saved = await admin.reply()
    await admin.press("🧾 Purchase", message=saved)
    _, ask = await admin.replies(2)
    assert ask.text.startswith("What did they buy?")
    await answer(admin, "Desk")
    await admin.press("Skip »")
    await admin.reply()
    await admin.press("Skip »")
    await admin.reply()
    await admin.press("Today")
    await admin.reply()
    await admin.press("✅ Save")
    await admin.reply()
    (purchase,) = purchases(db_url)
    (customer,) = rows(db_url, Customer)
    assert purchase.customer_id == customer.id


async def test_purchase_offered_by_a_won_deal_is_linked_to_it(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    customer = add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    deal_id = add_deal(db_url, admin, customer)
    card = await open_card(admin, deal_id)
    await admin.press("Won", message=card)
    await admin.replies(2)
    await answer(admin, "Best price")
    await admin.press("✅ Save")
    won = await admin.reply()
    await admin.press(shown(catalogs, "en", "deal.button.purchase"), message=won)
    title, ask = await admin.replies(2)
    assert (title.text, ask.text) == (
        shown(catalogs, "en", "purchase.title"),
        shown(catalogs, "en", "purchase.ask.product"),
    )
    await answer(admin, "50 chairs")
    await answer(admin, "50")
    await answer(admin, "50k")
    await admin.press("Today")
    summary = (await admin.reply()).text
    assert summary.splitlines()[1:3] == ["Customer: Zhang Wei", "Product: 50 chairs"]
    await admin.press("✅ Save")
    await admin.reply()
    (purchase,) = purchases(db_url)
    assert (purchase.customer_id, purchase.deal_id) == (customer, deal_id)
    assert (purchase.amount, purchase.currency) == (Decimal("50000.00"), "CNY")


async def test_salesperson_cannot_pick_a_colleagues_customer(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    sam = await join(emu, admin, 2002, "Sam")
    ann = await join(emu, admin, 3003, "Ann")
    add_customer(db_url, sam, "Zhang Wei", "+8613800138000")
    await ann.send("/purchase")
    await ann.replies(2)
    reply = await answer(ann, "Zhang")
    assert reply.startswith(shown(catalogs, "en", "flow.search_none", query="Zhang"))
    assert ann.last_bot_message is not None
    assert ann.last_bot_message.button_labels == []


async def test_entry_continues_after_a_restart(
    admin: ScriptedUser, running_bot: RunningBot, db_url: str
):
    add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    await admin.send("/purchase")
    await admin.replies(2)
    await pick_customer(admin, "Zhang", "Zhang Wei")
    await answer(admin, "Desk")
    await running_bot.restart()
    await answer(admin, "2")  # the quantity step, where we were
    await answer(admin, "5000")
    await admin.press("Today")
    await admin.reply()
    await admin.press("✅ Save")
    await admin.reply()
    (purchase,) = purchases(db_url)
    assert (purchase.product, purchase.quantity) == ("Desk", Decimal("2"))
