"""Restoring a deleted order, end to end: an admin who deletes an order sees ♻️ Restore under
"deleted" (a salesperson, who may not restore, does not), /restore lists deleted orders with
a Restore button each, in English and Chinese, and the restored order is back on its card."""

from __future__ import annotations

from bot.emulator import BotApiEmulator, BotMessage
from handlers.i18n import Catalogs
from storage.models import Order
from tests.e2e.helpers import join, rows, shown
from tests.e2e.test_deal_flow import add_customer
from tests.e2e.test_order_card import add_order, open_order
from tests.e2e.user import ScriptedUser


async def delete(user: ScriptedUser, order_id: int, lang: str, catalogs: Catalogs) -> BotMessage:
    """Open the order, press Delete, confirm: the question as "deleted" edits it."""
    card = await open_order(user, order_id)
    await user.press(shown(catalogs, lang, "records.button.delete"), message=card)
    question = await user.reply()
    await user.press(shown(catalogs, lang, "records.delete.yes"), message=question)
    return await user.edited(question)


async def test_an_admin_restores_a_just_deleted_order_from_the_same_message(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    customer = add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    order_id = add_order(db_url, admin, customer, "DD-5")
    deleted = await delete(admin, order_id, "en", catalogs)
    assert deleted.text == shown(catalogs, "en", "records.delete.done", name="DD-5")
    assert deleted.button_labels == ["♻️ Restore"]
    assert rows(db_url, Order)[0].deleted_at is not None
    await admin.press("♻️ Restore", message=deleted)
    restored = await admin.reply()
    assert restored.text == shown(catalogs, "en", "records.restore.done", name="DD-5")
    assert rows(db_url, Order)[0].deleted_at is None
    card = await open_order(admin, order_id)
    assert card.text.startswith("📦 Order DD-5")


async def test_a_salesperson_deleting_sees_no_restore_button(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    li = await join(emu, admin, 2002, "李娜", language_code="zh-hans")
    customer = add_customer(db_url, li, "张伟", "+8613800138000")
    order_id = add_order(db_url, li, customer, "DD-6")
    deleted = await delete(li, order_id, "zh", catalogs)
    assert deleted.text == shown(catalogs, "zh", "records.delete.done", name="DD-6")
    assert deleted.button_labels == []
    await li.send("/restore")
    assert (await li.reply()).text == shown(catalogs, "zh", "records.restore.admins_only")
    assert rows(db_url, Order)[0].deleted_at is not None


async def test_restore_lists_deleted_orders_with_a_restore_button_each(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    li = await join(emu, admin, 2002, "李娜", language_code="zh-hans")
    customer = add_customer(db_url, li, "张伟", "+8613800138000")
    kept = add_order(db_url, li, customer, "DD-7")
    gone = add_order(db_url, li, customer, "DD-8")
    await delete(li, gone, "zh", catalogs)
    await admin.send("/restore")
    while True:
        listed = await admin.reply()
        if listed.text == shown(catalogs, "en", "order_restore.title"):
            break
    assert listed.button_labels == ["♻️ DD-8"]
    await admin.press("♻️ DD-8", message=listed)
    await admin.reply()
    assert [o.deleted_at for o in rows(db_url, Order) if o.id in (kept, gone)] == [None, None]
    await admin.send("/restore")
    assert (await admin.reply()).text == shown(catalogs, "en", "records.restore.none")
