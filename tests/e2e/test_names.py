"""A customer's name needs a letter or a Chinese character: "😀", "123" and "!!!" are refused
with an example and the entry goes on at the name, in English and Chinese; a contact card
named only by an emoji asks for the name instead of prefilling it."""

from __future__ import annotations

from bot.emulator import BotApiEmulator
from handlers.i18n import Catalogs
from tests.e2e.helpers import answer, join, shown
from tests.e2e.test_customer_flow import customers
from tests.e2e.user import ScriptedUser


async def test_name_without_a_letter_is_refused_with_an_example(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    await admin.send("/newcustomer")
    await admin.replies(2)
    for typed in ("😀", "123", "!!!"):
        reply = await answer(admin, typed)
        assert reply == "\n\n".join(
            [
                shown(catalogs, "en", "parse.name.no_letter"),
                shown(catalogs, "en", "customer.ask.name"),
            ]
        )
    assert "Zhang Wei" in shown(catalogs, "en", "parse.name.no_letter")
    reply = await answer(admin, "Zhang Wei 😀")
    assert reply.startswith(shown(catalogs, "en", "customer.ask.phones"))
    await admin.send("/cancel")
    await admin.reply()
    assert customers(db_url) == []


async def test_name_without_a_letter_is_refused_in_chinese(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    li = await join(emu, admin, 2002, "李娜", language_code="zh-hans")
    await li.send("/newcustomer")
    await li.replies(2)
    reply = await answer(li, "😀😀")
    assert reply.startswith("姓名中至少要有一个汉字或字母，例如：张伟")
    assert reply.endswith(shown(catalogs, "zh", "customer.ask.name"))
    await answer(li, "张伟")
    await li.press("完成并查看 ✓")
    summary = await li.reply()
    assert summary.text.splitlines()[1:] == ["姓名：张伟"]
    await li.press("✅ 保存", message=summary)
    await li.reply()
    assert [c.name for c in customers(db_url)] == ["张伟"]


async def test_contact_card_named_by_an_emoji_asks_for_the_name(
    admin: ScriptedUser, catalogs: Catalogs
):
    await admin.share_contact("+86 139 1234 5678", "😀")
    _, ask = await admin.replies(2)
    assert ask.text == shown(catalogs, "en", "customer.ask.name")


async def test_log_edit_of_the_name_refuses_digits_only(admin: ScriptedUser, catalogs: Catalogs):
    await admin.send("/log Met Li Na at Beta")
    _, card = await admin.replies(2)
    await admin.press("✏️ Edit a field", message=card)
    await admin.reply()
    await admin.press("New customer")
    await admin.reply()
    reply = await answer(admin, "123")
    assert reply.startswith(shown(catalogs, "en", "parse.name.no_letter"))
