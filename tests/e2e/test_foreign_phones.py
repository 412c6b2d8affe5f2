"""Foreign numbers typed without "+": a number that is not valid in the team's region is
refused with a request for the country code; one that is valid there but typed the way
another country writes it ("(415) 253-0000" is also a Dandong landline) is accepted with how
it was read said at once, so Back and "+1 ..." fixes it before anything is saved."""

from __future__ import annotations

from bot.emulator import BotApiEmulator
from handlers.i18n import Catalogs
from tests.e2e.helpers import answer, join, shown
from tests.e2e.test_customer_flow import customers, phones_of
from tests.e2e.user import ScriptedUser


async def test_american_format_is_read_back_and_corrected_with_the_country_code(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    await admin.send("/newcustomer")
    await admin.replies(2)
    await answer(admin, "Sarah Connor")
    reply = await answer(admin, "(415) 253-0000")
    notice = shown(
        catalogs, "en", "parse.phone.read_as_local", region="China", numbers="+86 415 253 0000"
    )
    assert reply == notice + "\n\n" + shown(catalogs, "en", "customer.ask.email")
    await admin.press("« Back")
    assert (await admin.reply()).text.startswith(shown(catalogs, "en", "customer.ask.phones"))
    reply = await answer(admin, "+1 415 253 0000")
    assert reply == shown(catalogs, "en", "customer.ask.email")
    await admin.press("Review ✓")
    summary = await admin.reply()
    assert "Phones: +1 415-253-0000" in summary.text.splitlines()
    await admin.press("✅ Save", message=summary)
    await admin.reply()
    (customer,) = customers(db_url)
    assert phones_of(db_url, customer.id) == ["+14152530000"]


async def test_chinese_mobile_and_landline_with_trunk_prefix_say_nothing_more(
    admin: ScriptedUser, catalogs: Catalogs
):
    await admin.send("/newcustomer")
    await admin.replies(2)
    await answer(admin, "Zhang Wei")
    reply = await answer(admin, "138 0013 8000, 0415 253 0000")
    assert reply == shown(catalogs, "en", "customer.ask.email")


async def test_number_invalid_in_china_asks_for_the_country_code_in_chinese(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    li = await join(emu, admin, 2002, "李娜", language_code="zh-hans")
    await li.send("/newcustomer")
    await li.replies(2)
    await answer(li, "王芳")
    reply = await answer(li, "02 9374 4000")
    assert reply.startswith("这不是有效的中国号码。")
    assert reply.startswith(shown(catalogs, "zh", "parse.phone.invalid", region="中国"))
    assert reply.endswith(shown(catalogs, "zh", "customer.ask.phones"))
    await answer(li, "+61 2 9374 4000")
    await li.press("完成并查看 ✓")
    summary = await li.reply()
    assert summary.text.splitlines()[1:] == ["姓名：王芳", "电话：+61 2 9374 4000"]
    await li.press("✅ 保存", message=summary)
    await li.reply()
    (customer,) = customers(db_url)
    assert phones_of(db_url, customer.id) == ["+61293744000"]


async def test_ten_digits_without_trunk_prefix_are_read_back_in_chinese(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs
):
    li = await join(emu, admin, 2002, "李娜", language_code="zh-hans")
    await li.send("/newcustomer")
    await li.replies(2)
    await answer(li, "王芳")
    reply = await answer(li, "4152530000")
    assert reply.startswith("📞 已按中国号码读取：+86 415 253 0000。")
    assert reply.endswith(shown(catalogs, "zh", "customer.ask.email"))


async def test_log_says_how_an_american_looking_number_was_read(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    await admin.send("/log Met Sarah Lee at Globex, (415) 253-0000")
    _, card = await admin.replies(2)
    notice = shown(
        catalogs, "en", "quick_log.phone_read_as_local", region="China", numbers="+86 415 253 0000"
    )
    assert card.text.startswith(notice + "\n\n")
    await admin.press("✏️ Edit a field", message=card)
    await admin.reply()
    await admin.press("Phones")
    await admin.reply()
    card = await answer(admin, "+1 415 253 0000")
    assert "Phones: +1 415-253-0000" in card.splitlines()
    await admin.press("✅ Save")
    await admin.reply()
    (customer,) = customers(db_url)
    assert phones_of(db_url, customer.id) == ["+14152530000"]


async def test_log_in_chinese_says_how_ten_digits_were_read(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs
):
    li = await join(emu, admin, 2002, "李娜", language_code="zh-hans")
    await li.send("/log 拜访了Acme的张伟，电话4152530000")
    _, card = await li.replies(2)
    assert card.text.startswith("📞 已按中国号码读取：+86 415 253 0000。")
    await li.send("/cancel")
    await li.reply()
    await li.send("/log 拜访了Acme的王芳，电话13800138000")
    _, card = await li.replies(2)
    assert "📞" not in card.text


async def test_log_says_a_number_invalid_in_china_was_left_out(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    await admin.send("/log Met Sarah Lee at Globex, 02 9374 4000")
    _, card = await admin.replies(2)
    notice = shown(
        catalogs, "en", "quick_log.phone_invalid", region="China", numbers="02 9374 4000"
    )
    assert card.text.startswith(notice + "\n\n")
    assert "Phones: —" in card.text.splitlines()
    await admin.press("✏️ Edit a field", message=card)
    await admin.reply()
    await admin.press("Phones")
    await admin.reply()
    card = await answer(admin, "+61 2 9374 4000")
    assert "Phones: +61 2 9374 4000" in card.splitlines()
    await admin.press("✅ Save")
    await admin.reply()
    (customer,) = customers(db_url)
    assert phones_of(db_url, customer.id) == ["+61293744000"]


async def test_log_in_chinese_says_a_number_invalid_in_china_was_left_out(
    emu: BotApiEmulator, admin: ScriptedUser
):
    li = await join(emu, admin, 2002, "李娜", language_code="zh-hans")
    await li.send("/log 拜访了Acme的张伟，电话 07911 123456")
    _, card = await li.replies(2)
    assert card.text.startswith("📞 07911 123456：不是有效的中国号码，未记入电话。")
