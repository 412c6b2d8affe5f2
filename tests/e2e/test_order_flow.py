"""/order end to end: lines in one message and one at a time, in English and Chinese, a deal
link, the currency step, a total typed directly, bad input that keeps earlier lines, Back,
Skip, cancel and a restart; nothing is saved before Save."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlmodel import col, select

from bot.emulator import BotApiEmulator
from handlers.formatting import format_date
from handlers.i18n import Catalogs
from storage.db import Database
from storage.models import Order, OrderLine, OrderStatusChange
from tests.conftest import RunningBot
from tests.e2e.helpers import answer, join, rows, shown
from tests.e2e.test_deal_flow import add_customer, add_deal, pick_customer, today
from tests.e2e.test_order_card import add_order
from tests.e2e.user import ScriptedUser


def lines_of(
    db_url: str, order_id: int | None
) -> list[tuple[str, Decimal | None, Decimal | None]]:
    db = Database(db_url)
    found = db.run_sync(
        lambda s: list(
            s.exec(
                select(OrderLine.product, OrderLine.quantity, OrderLine.unit_price)
                .where(OrderLine.order_id == order_id)
                .order_by(col(OrderLine.position))
            )
        )
    )
    db.close()
    return [tuple(row) for row in found]


async def start_order(user: ScriptedUser, search: str, label: str) -> None:
    """/order, the customer picked; at the deal question."""
    await user.send("/order")
    await user.replies(2)
    await pick_customer(user, search, label)


async def test_new_order_with_lines_in_one_message_and_one_more(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    customer = add_customer(db_url, admin, "Zhang Wei", "+8613800138000", company="Acme")
    deal_id = add_deal(db_url, admin, customer)
    due = today() + timedelta(days=14)
    await admin.send("/order")
    title, ask = await admin.replies(2)
    assert (title.text, ask.text) == (
        shown(catalogs, "en", "order.title"),
        shown(catalogs, "en", "order.ask.customer"),
    )
    await admin.send("acme")
    matches = await admin.reply()
    await admin.press("Zhang Wei · Acme", message=matches)
    deal_question = await admin.reply()
    assert deal_question.text == shown(catalogs, "en", "order.ask.deal")
    assert deal_question.button_labels == ["50 chairs", "Skip »", "« Back"]
    await admin.press("50 chairs", message=deal_question)
    contract_question = await admin.reply()
    assert contract_question.text == shown(catalogs, "en", "order.ask.contract")
    await admin.press("Skip »", message=contract_question)
    assert (await admin.reply()).text == shown(catalogs, "en", "order.ask.lines")
    more = await answer(admin, "50 x X2 @ 1200, 10 x cable @ 30")
    assert more.startswith(shown(catalogs, "en", "order.ask.more"))
    await admin.press("➕ Add another line")
    assert (await admin.reply()).text.startswith(shown(catalogs, "en", "order.ask.lines"))
    await answer(admin, "2 x wall mount @ 15.5")
    await admin.press("✅ That's all")
    currency = await admin.reply()
    assert currency.text == shown(catalogs, "en", "order.ask.currency")
    assert currency.button_labels[:2] == ["CNY ¥", "USD $"]
    await admin.press("CNY ¥", message=currency)
    await admin.reply()
    await admin.press("Today")
    await admin.reply()
    await answer(admin, due.isoformat())
    assert admin.last_bot_message is not None
    await admin.press("Skip »")  # the number: the next one is given at Save
    summary = (await admin.reply()).text
    assert summary.splitlines() == [
        "New order — please check:",
        "Customer: Zhang Wei · Acme",
        "Deal: 50 chairs",
        "Lines: ",
        "  • 50 × X2 @ 1,200 = 60,000",
        "  • 10 × cable @ 30 = 300",
        "  • 2 × wall mount @ 15.5 = 31",
        "Currency: CNY ¥",
        f"Order date: {format_date(today(), lang='en')}",
        f"Promised delivery: {format_date(due, lang='en')}",
        "Total: CN¥60,331",
        "Order number: the next one, given at Save",
    ]
    assert rows(db_url, Order) == []  # nothing saved before Save
    await admin.press("✅ Save")
    saved = (await admin.reply()).text
    (order,) = rows(db_url, Order)
    assert saved.splitlines() == [
        shown(catalogs, "en", "order.saved", number=order.number, customer="Zhang Wei · Acme"),
        shown(catalogs, "en", "order.saved_total", total="CN¥60,331"),
    ]
    assert order.number == f"DD-{today().year}-0001"
    assert (order.status, order.total, order.currency) == ("ordered", Decimal("60331.00"), "CNY")
    assert (order.deal_id, order.ordered_on, order.delivery_due_on) == (deal_id, today(), due)
    assert lines_of(db_url, order.id) == [
        ("X2", Decimal("50.000"), Decimal("1200.00")),
        ("cable", Decimal("10.000"), Decimal("30.00")),
        ("wall mount", Decimal("2.000"), Decimal("15.50")),
    ]
    (move,) = rows(db_url, OrderStatusChange)
    assert (move.from_status, move.to_status) == (None, "ordered")


async def test_new_order_in_chinese_with_prices_in_yuan(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    li = await join(emu, admin, 2002, "李娜", language_code="zh-hans")
    add_customer(db_url, li, "张伟", "+8613800138000")
    await start_order(li, "8000", "张伟")
    await li.press("跳过 »")  # deal
    await li.reply()
    await li.press("跳过 »")  # contract
    await li.reply()
    more = await answer(li, "50个X2 单价1200元，电缆 10条 30元")
    assert more.startswith(shown(catalogs, "zh", "order.ask.more"))
    await li.press("✅ 就这些")
    date_question = await li.reply()  # the prices said yuan: no currency question
    assert date_question.text == shown(catalogs, "zh", "order.ask.ordered_on")
    await li.press("今天", message=date_question)
    await li.reply()
    await li.press("跳过 »")  # delivery
    await li.reply()
    summary = await answer(li, "PO-88123")
    assert summary.splitlines()[1:] == [
        "客户：张伟",
        "明细：",
        "  • 50 × X2 @ 1,200 = 60,000",
        "  • 10 × 电缆 @ 30 = 300",
        f"下单日期：{format_date(today(), lang='zh')}",
        "订单号：PO-88123",
        "总额：¥60,300",
    ]
    await li.press("✅ 保存")
    saved = (await li.reply()).text
    (order,) = rows(db_url, Order)
    assert saved.splitlines()[0] == shown(
        catalogs, "zh", "order.saved", number="PO-88123", customer="张伟"
    )
    assert (order.total, order.currency, order.number) == (Decimal("60300.00"), "CNY", "PO-88123")


async def test_bad_lines_currency_and_dates_ask_again_keeping_earlier_lines(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    await start_order(admin, "Zhang", "Zhang Wei")
    for _ in range(2):
        await admin.press("Skip »")
        await admin.reply()
    reply = await answer(admin, "0 x X2 @ 1200")
    assert reply.startswith(shown(catalogs, "en", "parse.quantity.not_positive"))
    await answer(admin, "50 x X2 @ 1200")
    await admin.press("➕ Add another line")
    await admin.reply()
    reply = await answer(admin, "lots of cable for cheap @ ???")
    expected = shown(
        catalogs, "en", "parse.order_line.invalid", line="lots of cable for cheap @ ???"
    )
    assert reply.startswith(expected)
    assert "50 × X2 @ 1,200 = 60,000" in reply  # the line already entered is kept
    await answer(admin, "10 x cable")
    await admin.press("✅ That's all")
    await admin.reply()
    reply = await answer(admin, "doubloons")
    assert reply.startswith(shown(catalogs, "en", "parse.currency.unknown", currency="doubloons"))
    await answer(admin, "usd")
    reply = await answer(admin, "tomorrow")  # the order date: not after today
    assert reply.startswith(shown(catalogs, "en", "parse.when.in_future"))
    await answer(admin, "yesterday")
    reply = await answer(admin, "yesterday")  # the promised delivery: not before today
    past = format_date(today() - timedelta(days=1), lang="en")
    assert reply.startswith(f"{past} has already passed")  # tests/e2e/test_order_dates.py
    await answer(admin, (today() + timedelta(days=4)).isoformat())
    summary = await answer(admin, "A-1")
    assert "  • 50 × X2 @ 1,200 = 60,000" in summary.splitlines()
    assert "  • 10 × cable" in summary.splitlines()
    assert "Total: $60,000" in summary.splitlines()
    await admin.press("✅ Save")
    await admin.reply()
    (order,) = rows(db_url, Order)
    assert (order.currency, order.total, order.number) == ("USD", Decimal("60000.00"), "A-1")
    assert order.delivery_due_on == today() + timedelta(days=4)


async def test_total_typed_directly_when_no_line_has_a_price(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    await start_order(admin, "Zhang", "Zhang Wei")
    for _ in range(2):
        await admin.press("Skip »")
        await admin.reply()
    await answer(admin, "X2 x 50, cable")
    await admin.press("✅ That's all")
    assert (await admin.reply()).text == shown(catalogs, "en", "order.ask.total")
    assert (await answer(admin, "$8,000")) == shown(catalogs, "en", "order.ask.ordered_on")
    await admin.press("Today")
    await admin.reply()
    await admin.press("Skip »")
    await admin.reply()
    await admin.press("Skip »")
    summary = (await admin.reply()).text
    assert "Total: $8,000" in summary.splitlines()
    await admin.press("✅ Save")
    await admin.reply()
    (order,) = rows(db_url, Order)
    assert (order.total, order.currency) == (Decimal("8000.00"), "USD")
    assert lines_of(db_url, order.id) == [("X2", Decimal("50.000"), None), ("cable", None, None)]


async def test_cancel_saves_nothing(admin: ScriptedUser, catalogs: Catalogs, db_url: str):
    add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    await start_order(admin, "Zhang", "Zhang Wei")
    await admin.press("Skip »")
    await admin.reply()
    await admin.press("Skip »")
    await admin.reply()
    await answer(admin, "50 x X2 @ 1200")
    await admin.send("/cancel")
    assert (await admin.reply()).text == shown(catalogs, "en", "cancel.done")
    assert rows(db_url, Order) == []


async def test_entry_continues_after_a_restart(
    admin: ScriptedUser, running_bot: RunningBot, db_url: str
):
    add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    await start_order(admin, "Zhang", "Zhang Wei")
    for _ in range(2):
        await admin.press("Skip »")
        await admin.reply()
    await answer(admin, "50 x X2 @ 1200")
    await running_bot.restart()
    await answer(admin, "done")  # the "another line?" step, where we were
    await answer(admin, "CNY")
    await admin.press("Today")
    await admin.reply()
    for _ in range(2):
        await admin.press("Skip »")
        await admin.reply()
    await admin.press("✅ Save")
    await admin.reply()
    (order,) = rows(db_url, Order)
    assert lines_of(db_url, order.id) == [("X2", Decimal("50.000"), Decimal("1200.00"))]


async def test_a_number_already_used_is_asked_again(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    customer = add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    add_order(db_url, admin, customer, "PO-1")
    await start_order(admin, "Zhang", "Zhang Wei")
    for _ in range(2):
        await admin.press("Skip »")
        await admin.reply()
    await answer(admin, "50 x X2 @ 1200")
    await answer(admin, "done")
    await answer(admin, "CNY")
    await admin.press("Today")
    await admin.reply()
    await admin.press("Skip »")
    await admin.reply()
    await admin.send("po-1")  # the same number to whoever looks it up
    warning = await admin.reply()
    assert warning.text == shown(catalogs, "en", "order.number_taken", number="po-1")
    assert warning.button_labels == ["✏️ Change it"]  # no adding it anyway
    await admin.press("✏️ Change it", message=warning)
    await admin.reply()
    summary = await answer(admin, "PO-2")
    assert "Order number: PO-2" in summary.splitlines()
    await admin.press("✅ Save")
    await admin.reply()
    assert sorted(o.number for o in rows(db_url, Order)) == ["PO-1", "PO-2"]
