"""An order's Edit end to end: the lines typed again (the total recomputed on the card), a
promised delivery already past refused with an example then a good one, Back, /cancel and a
restart in the middle of an edit, and another salesperson's forged Edit refused like an
unknown order; a paid order offers no Edit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session

from bot.emulator import BotApiEmulator
from handlers.callback_data import OrderAction, pack
from handlers.formatting import format_date
from handlers.i18n import Catalogs
from storage.models import AuditEntry, Member, Order, OrderLine
from storage.orders import FORWARD, advance_order
from tests.conftest import RunningBot
from tests.e2e.helpers import answer, join, rows, shown
from tests.e2e.test_contract_edit_place import add_deal
from tests.e2e.test_deal_flow import add_customer, today, with_member
from tests.e2e.test_order_card import add_order, open_order, status_of
from tests.e2e.user import ScriptedUser


async def edit_field(user: ScriptedUser, card: object, label: str) -> str:
    """Edit on the card, then the field: its question's text."""
    return (await _question(user, card, label)).text


async def edit_field_buttons(user: ScriptedUser, card: object, label: str) -> list[str]:
    """Edit on the card, then the field: its question's buttons."""
    return (await _question(user, card, label)).button_labels


async def _question(user: ScriptedUser, card: object, label: str) -> Any:
    await user.press("✏️ Edit", message=card)
    which = await user.reply()
    await user.press(label, message=which)
    return (await user.replies(3))[-1]


async def test_lines_and_delivery_are_edited_with_the_entrys_rules(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    customer = add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    order_id = add_order(db_url, admin, customer, "DD-1")
    card = await open_order(admin, order_id)
    assert card.button_labels == ["✅ Confirm", "✖️ Cancel order", "✏️ Edit", "🗑 Delete"]
    await edit_field(admin, card, "Promised delivery")
    refused = await answer(admin, "2020-01-02")
    example = format_date(today() + timedelta(days=14), lang="en")
    assert example in refused
    later = today() + timedelta(days=30)
    assert format_date(later, lang="en") in await answer(admin, later.isoformat())
    await admin.press("✅ Save")
    saved, card = await admin.replies(2)
    assert saved.text == shown(catalogs, "en", "records.edit.saved", name="DD-1")
    assert f"Delivery promised: {format_date(later, lang='en')}" in card.text

    await edit_field(admin, card, "Lines")
    assert "Add another line?" in await answer(admin, "60 x X2 @ 1000")
    await admin.press("✅ That's all")
    summary = await admin.reply()  # the order's currency kept: not asked again
    assert "60 × X2 @ 1,000 = 60,000" in summary.text
    assert "Total: CN¥60,000" in summary.text
    await admin.press("✅ Save")
    _, card = await admin.replies(2)
    assert "Total: CN¥60,000" in card.text
    assert "cable" not in card.text
    (order,) = rows(db_url, Order)
    assert (order.total, order.delivery_due_on) == (60000, later)
    assert [line.product for line in rows(db_url, OrderLine)] == ["X2"]
    updates = [a.changes for a in rows(db_url, AuditEntry) if a.entity_type == "order"]
    assert any("lines" in (changes or {}) for changes in updates)


async def test_back_cancel_and_a_restart_mid_edit(
    admin: ScriptedUser, running_bot: RunningBot, catalogs: Catalogs, db_url: str
):
    customer = add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    order_id = add_order(db_url, admin, customer, "DD-2")
    card = await open_order(admin, order_id)
    await edit_field(admin, card, "Lines")
    await answer(admin, "5 x A @ 10")
    await admin.press("« Back")  # from "another line?" to the lines
    assert "replace" in (await admin.reply()).text
    await running_bot.restart()
    assert "Add another line?" in await answer(admin, "7 x B @ 2 元")
    await admin.press("✅ That's all")
    assert "7 × B @ 2 = 14" in (await admin.reply()).text
    assert await answer(admin, "/cancel") == shown(catalogs, "en", "cancel.done")
    assert [line.product for line in rows(db_url, OrderLine)] == ["X2", "cable"]
    (order,) = rows(db_url, Order)
    assert order.total == 60300
    deal_id = add_deal(db_url, admin, customer, "50 forklifts")
    assert "50 forklifts" in (await edit_field_buttons(admin, card, "Deal"))
    await admin.press("50 forklifts")
    await admin.reply()
    await admin.press("✅ Save")
    await admin.replies(2)
    await edit_field(admin, card, "Total")  # priced lines make the total: a typed one refused
    await answer(admin, "5000")
    await admin.press("✅ Save")
    refused, _ = await admin.replies(2)
    assert refused.text == shown(catalogs, "en", "edit_order.refused")
    (order,) = rows(db_url, Order)
    assert (order.deal_id, order.total) == (deal_id, 60300)


async def test_a_colleagues_edit_is_not_found_and_a_paid_order_is_closed(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    sam = await join(emu, admin, 2002, "Sam")
    ann = await join(emu, admin, 3003, "Ann")
    customer = add_customer(db_url, sam, "Zhang Wei", "+8613800138000")
    order_id = add_order(db_url, sam, customer, "DD-4")
    not_found = shown(catalogs, "en", "common.not_found")
    await ann.send("/help")
    anchor = await ann.reply()
    for target in (order_id, order_id + 1000):
        for field in ("", "2"):  # the list, the lines
            data = pack(OrderAction("edit", target, field))
            query = await emu.press_button(ann.user_id, anchor.message_id, data)
            assert (await emu.wait_for_callback_answer(query)).get("text") == not_found
    assert ann.last_bot_message is not None
    assert ann.last_bot_message.message_id == anchor.message_id  # nothing was sent

    def pay(session: Session, member: Member) -> None:
        for status in FORWARD[1:]:
            advance_order(session, actor=member, order_id=order_id, status=status)

    with_member(db_url, sam, pay)
    card = await open_order(sam, order_id)
    assert status_of(db_url, order_id) == "paid"
    assert "✏️ Edit" not in card.button_labels
    await sam.press_data(pack(OrderAction("edit", order_id, "2")), card)
    assert (await sam.reply()).text == shown(catalogs, "en", "edit_order.closed")
