"""/order's dates end to end: a promised delivery already past, or before the order date, is
refused with what is wrong and an example, and asked again with the entry kept, in English
and Chinese; a date in range goes on to the order number. The rule itself (delivered and paid
orders may have a past promise) is `storage.orders.delivery_due_problem`."""

from __future__ import annotations

from datetime import date, timedelta

from bot.emulator import BotApiEmulator
from handlers.formatting import format_date
from handlers.i18n import Catalogs
from storage.models import Order
from storage.orders import delivery_due_problem
from tests.e2e.helpers import answer, join, rows, shown
from tests.e2e.test_deal_flow import add_customer, today
from tests.e2e.test_order_flow import start_order
from tests.e2e.user import ScriptedUser


async def at_delivery(user: ScriptedUser, skip: str, ordered_on: str | None = None) -> None:
    """From the deal question to the delivery question: one priced line, ordered today or on
    `ordered_on`."""
    for _ in range(2):  # deal, contract
        await user.press(skip)
        await user.reply()
    await answer(user, "2 x X2 @ 100 元")
    await user.press("✅ That's all" if skip == "Skip »" else "✅ 就这些")
    await user.reply()
    if ordered_on is None:
        await user.press("Today" if skip == "Skip »" else "今天")
        await user.reply()
    else:
        await answer(user, ordered_on)


def said(catalogs: Catalogs, lang: str, key: str, due: date, ordered: date | None = None) -> str:
    return shown(
        catalogs,
        lang,
        key,
        due=format_date(due, lang=lang),
        ordered=format_date(ordered, lang=lang) if ordered else "",
        example=format_date(today() + timedelta(days=14), lang=lang),
    )


async def test_a_past_promised_delivery_is_asked_again_then_saved(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    add_customer(db_url, admin, "Zhang Wei", "+8613800138000", company="Acme")
    await start_order(admin, "acme", "Zhang Wei · Acme")
    await at_delivery(admin, "Skip »")
    past = today() - timedelta(days=3)
    refused = await answer(admin, past.isoformat())
    assert refused == (
        said(catalogs, "en", "order.delivery.past", past)
        + "\n\n"
        + shown(catalogs, "en", "order.ask.delivery_due_on")
    )
    assert rows(db_url, Order) == []
    due = today() + timedelta(days=5)
    assert await answer(admin, due.isoformat()) == shown(catalogs, "en", "order.ask.number")
    await admin.press("Skip »")
    await admin.reply()
    await admin.press("✅ Save")
    await admin.reply()
    (order,) = rows(db_url, Order)
    assert order.delivery_due_on == due


async def test_today_is_a_promise_not_yet_past(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    add_customer(db_url, admin, "Zhang Wei", "+8613800138000", company="Acme")
    await start_order(admin, "acme", "Zhang Wei · Acme")
    await at_delivery(admin, "Skip »")
    reply = await answer(admin, today().isoformat())
    assert reply == shown(catalogs, "en", "order.ask.number")


async def test_in_chinese_a_past_promise_is_refused_and_cancel_saves_nothing(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    li = await join(emu, admin, 2002, "李娜", language_code="zh-hans")
    add_customer(db_url, li, "张伟", "+8613800138000")
    await start_order(li, "8000", "张伟")
    ordered = today() - timedelta(days=10)
    await at_delivery(li, "跳过 »", ordered_on=ordered.isoformat())
    for past in (today() - timedelta(days=1), today() - timedelta(days=20)):
        refused = await answer(li, past.isoformat())
        assert refused == (
            said(catalogs, "zh", "order.delivery.past", past)
            + "\n\n"
            + shown(catalogs, "zh", "order.ask.delivery_due_on")
        )
    await li.send("/cancel")
    await li.reply()
    assert rows(db_url, Order) == []


def test_only_a_finished_order_may_have_a_past_promise() -> None:
    """Delivered, paid and cancelled orders remind nobody: an imported one keeps its promise."""
    day = date(2026, 12, 7)
    past = day - timedelta(days=1)
    for status in ("ordered", "confirmed", "shipped"):
        assert delivery_due_problem(due=past, ordered_on=None, status=status, today=day) == "past"
    for status in ("delivered", "paid", "cancelled"):
        assert delivery_due_problem(due=past, ordered_on=None, status=status, today=day) is None
    assert delivery_due_problem(due=past, ordered_on=day, status="paid", today=day) == (
        "before_order"
    )
    assert delivery_due_problem(due=day, ordered_on=past, status="ordered", today=day) is None
