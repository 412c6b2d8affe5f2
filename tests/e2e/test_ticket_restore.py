"""Restoring a deleted ticket, end to end: an admin who deletes a ticket sees ♻️ Restore under
"deleted" (a salesperson, who may not restore, does not), /restore lists deleted tickets with
a Restore button each, in English and Chinese, and the restored ticket is back on its card."""

from __future__ import annotations

import pytest

from bot.emulator import BotApiEmulator, BotMessage
from handlers.i18n import Catalogs
from storage.models import Ticket
from tests.conftest import ADMIN_ID, RunningBot
from tests.e2e.helpers import join, rows, shown
from tests.e2e.test_deal_flow import add_customer
from tests.e2e.test_ticket_card import add_ticket, open_ticket
from tests.e2e.user import ScriptedUser


async def delete(user: ScriptedUser, ticket_id: int, lang: str, catalogs: Catalogs) -> BotMessage:
    """Open the ticket, press Delete, confirm: the question as "deleted" edits it."""
    card = await open_ticket(user, ticket_id)
    await user.press(shown(catalogs, lang, "records.button.delete"), message=card)
    question = await user.reply()
    await user.press(shown(catalogs, lang, "records.delete.yes"), message=question)
    return await user.edited(question)


def number_of(db_url: str, ticket_id: int) -> str:
    return next(t.number for t in rows(db_url, Ticket) if t.id == ticket_id)


async def test_an_admin_restores_a_just_deleted_ticket_from_the_same_message(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    customer = add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    ticket_id = add_ticket(db_url, admin, customer)
    number = number_of(db_url, ticket_id)
    deleted = await delete(admin, ticket_id, "en", catalogs)
    assert deleted.text == shown(catalogs, "en", "records.delete.done", name=number)
    assert deleted.button_labels == ["♻️ Restore"]
    assert rows(db_url, Ticket)[0].deleted_at is not None
    await admin.press("♻️ Restore", message=deleted)
    restored = await admin.reply()
    assert restored.text == shown(catalogs, "en", "records.restore.done", name=number)
    assert rows(db_url, Ticket)[0].deleted_at is None
    card = await open_ticket(admin, ticket_id)
    assert card.text.startswith(f"🎫 {number} · Repair")


async def test_a_salesperson_deleting_sees_no_restore_button(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    li = await join(emu, admin, 2002, "李娜", language_code="zh-hans")
    customer = add_customer(db_url, li, "张伟", "+8613800138000")
    ticket_id = add_ticket(db_url, li, customer)
    deleted = await delete(li, ticket_id, "zh", catalogs)
    name = number_of(db_url, ticket_id)
    assert deleted.text == shown(catalogs, "zh", "records.delete.done", name=name)
    assert deleted.button_labels == []
    await li.send("/restore")
    assert (await li.reply()).text == shown(catalogs, "zh", "records.restore.admins_only")
    assert rows(db_url, Ticket)[0].deleted_at is not None


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_restore_lists_deleted_tickets_with_a_restore_button_each(
    emu: BotApiEmulator, running_bot: RunningBot, catalogs: Catalogs, db_url: str, lang: str
) -> None:
    admin = ScriptedUser(emu, ADMIN_ID, "Ada", language_code="zh-hans" if lang == "zh" else "en")
    salesperson = "销售" if lang == "zh" else "A salesperson"  # the admin's /invite button
    li = await join(emu, admin, 2002, "李娜", role_label=salesperson, language_code="zh-hans")
    customer = add_customer(db_url, li, "张伟", "+8613800138000")
    kept = add_ticket(db_url, li, customer)
    gone = add_ticket(db_url, li, customer)
    await delete(li, gone, "zh", catalogs)
    await admin.send("/restore")
    while True:
        listed = await admin.reply()
        if listed.text == shown(catalogs, lang, "ticket_more.restore_title"):
            break
    label = f"♻️ {number_of(db_url, gone)}"
    assert listed.button_labels == [label]
    await admin.press(label, message=listed)
    await admin.reply()
    assert [t.deleted_at for t in rows(db_url, Ticket) if t.id in (kept, gone)] == [None, None]
    await admin.send("/restore")
    assert (await admin.reply()).text == shown(catalogs, lang, "records.restore.none")
