"""/newcustomer end to end: the happy path in both languages, every kind of bad input, Skip,
Back, Review, Edit a field, cancel, duplicates, contact cards, photos, restarts, repeats."""

from __future__ import annotations

from sqlmodel import select

from bot.emulator import BotApiEmulator
from handlers.i18n import Catalogs
from storage.db import Database
from storage.models import Attachment, Customer, CustomerPhone
from tests.conftest import RunningBot
from tests.e2e.helpers import answer, eventually, join, shown
from tests.e2e.user import ScriptedUser


def customers(db_url: str) -> list[Customer]:
    db = Database(db_url)
    rows = db.run_sync(lambda s: list(s.exec(select(Customer).order_by(Customer.id))))
    db.close()
    return rows


def phones_of(db_url: str, customer_id: int) -> list[str]:
    db = Database(db_url)
    rows = db.run_sync(
        lambda s: list(
            s.exec(select(CustomerPhone.e164).where(CustomerPhone.customer_id == customer_id))
        )
    )
    db.close()
    return rows


async def quick_customer(user: ScriptedUser, name: str, phone: str, email: str | None = None):
    """Name and phone (and email), then Review and Save; returns the save reply."""
    await user.send("/newcustomer")
    await user.replies(2)
    await answer(user, name)
    await answer(user, phone)
    if email:
        await answer(user, email)
    await user.press("Review ✓")
    summary = await user.reply()
    await user.press("✅ Save", message=summary)
    return await user.reply()


async def test_new_customer_with_every_field(admin: ScriptedUser, catalogs: Catalogs, db_url: str):
    await admin.send("/newcustomer")
    title, ask_name = await admin.replies(2)
    assert title.text == shown(catalogs, "en", "customer.title")
    assert ask_name.text == shown(catalogs, "en", "customer.ask.name")
    await answer(admin, "Zhang Wei")
    await answer(admin, "138-0013-8000, +1 650 253 0000")
    await answer(admin, "Zhang.Wei@ACME.cn")
    await answer(admin, "Acme Trading")
    await answer(admin, "Purchasing manager")
    await answer(admin, "Retail")
    await answer(admin, "Shanghai")
    await admin.press("Male")
    await admin.reply()
    await answer(admin, "March 5")
    await admin.press("Referral")
    await admin.reply()
    await admin.press("Loyal")
    await admin.reply()
    await answer(admin, "vip, wholesale #vip")
    summary = await answer(admin, "Wants 50 units in Q3")
    assert summary.splitlines() == [
        "New customer — please check:",
        "Name: Zhang Wei",
        "Phones: 138 0013 8000, +1 650-253-0000",
        "Email: Zhang.Wei@acme.cn",
        "Company: Acme Trading",
        "Position: Purchasing manager",
        "Industry: Retail",
        "Region: Shanghai",
        "Gender: Male",
        "Birthday: 5 March",
        "Source: Referral",
        "Category: Loyal",
        "Tags: vip, wholesale",
        "Needs: Wants 50 units in Q3",
    ]
    await admin.press("✅ Save")
    saved = await admin.reply()
    (customer,) = customers(db_url)
    assert saved.text == shown(catalogs, "en", "customer.saved", name="Zhang Wei", id=customer.id)
    assert (customer.company, customer.gender, customer.source, customer.category) == (
        "Acme Trading",
        "male",
        "referral",
        "loyal",
    )
    assert (customer.birthday_month, customer.birthday_day, customer.birthday_year) == (3, 5, None)
    assert customer.tags == ["vip", "wholesale"]
    assert sorted(phones_of(db_url, customer.id)) == ["+16502530000", "+8613800138000"]


async def test_new_customer_in_chinese(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    li = await join(emu, admin, 2002, "李娜", language_code="zh-hans")
    await li.send("/newcustomer")
    title, ask = await li.replies(2)
    assert (title.text, ask.text) == (
        shown(catalogs, "zh", "customer.title"),
        shown(catalogs, "zh", "customer.ask.name"),
    )
    await answer(li, "张伟")
    await answer(li, "13800138000")
    await li.press("完成并查看 ✓")
    summary = await li.reply()
    assert summary.text.splitlines()[1:] == ["姓名：张伟", "电话：138 0013 8000"]
    await li.press("✅ 保存", message=summary)
    saved = await li.reply()
    (customer,) = customers(db_url)
    assert saved.text == shown(catalogs, "zh", "customer.saved", name="张伟", id=customer.id)


async def test_bad_answers_are_explained_and_earlier_answers_kept(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    await admin.send("/newcustomer")
    await admin.replies(2)
    too_long = "x" * 101
    reply = await answer(admin, too_long)
    assert reply.startswith(shown(catalogs, "en", "parse.text.too_long", max=100, length=101))
    assert reply.endswith(shown(catalogs, "en", "customer.ask.name"))
    await answer(admin, "Zhang Wei")
    reply = await answer(admin, "12345")
    assert reply.startswith(shown(catalogs, "en", "parse.phone.invalid", region="China"))
    await answer(admin, "13800138000")
    reply = await answer(admin, "zhang@")
    assert reply.startswith(shown(catalogs, "en", "parse.email.invalid"))
    await admin.send_sticker()
    assert (await admin.reply()).text.startswith(shown(catalogs, "en", "flow.wrong_type"))
    await admin.press("Skip »")  # email
    for _ in range(4):  # company, position, industry, region
        await admin.reply()
        await admin.press("Skip »")
    await admin.reply()
    await admin.press("Skip »")  # gender
    await admin.reply()
    reply = await answer(admin, "the thirty-second of Smarch")
    assert reply.startswith(shown(catalogs, "en", "parse.birthday.invalid"))
    await admin.press("Review ✓")
    summary = (await admin.reply()).text
    assert "Name: Zhang Wei" in summary
    assert "Phones: 138 0013 8000" in summary
    assert customers(db_url) == []  # nothing is a record before Save


async def test_back_and_edit_a_field_from_the_summary(admin: ScriptedUser, db_url: str):
    await admin.send("/newcustomer")
    await admin.replies(2)
    await answer(admin, "Zhang Wei")
    await admin.press("« Back")
    back_at_name = await admin.reply()
    assert "Now: Zhang Wei" in back_at_name.text
    await answer(admin, "Zhang Wei Jr")
    await answer(admin, "13800138000")
    await admin.press("Review ✓")
    summary = await admin.reply()
    await admin.press("✏️ Edit a field", message=summary)
    which = await admin.reply()
    await admin.press("Company", message=which)
    await admin.reply()
    summary = await answer(admin, "Acme")
    assert "Name: Zhang Wei Jr" in summary
    assert "Company: Acme" in summary
    await admin.press("✅ Save")
    await admin.reply()
    assert [c.company for c in customers(db_url)] == ["Acme"]


async def test_cancel_command_and_button_discard_the_entry(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    await admin.send("/newcustomer")
    await admin.replies(2)
    await answer(admin, "Zhang Wei")
    assert await answer(admin, "/cancel") == shown(catalogs, "en", "cancel.done")
    await admin.send("hello")  # no draft any more: not taken as an answer
    assert (await admin.reply()).text == shown(catalogs, "en", "plain.hint")
    await admin.send("/newcustomer")
    await admin.replies(2)
    await answer(admin, "Li Na")
    await admin.press("Review ✓")
    summary = await admin.reply()
    await admin.press("✖️ Cancel", message=summary)
    assert (await admin.edited(summary)).text.endswith(shown(catalogs, "en", "cancel.done"))
    assert customers(db_url) == []


async def test_duplicate_phone_of_own_customer_offers_open_or_add_anyway(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    await quick_customer(admin, "Zhang Wei", "13800138000")
    await admin.send("/newcustomer")
    await admin.replies(2)
    await answer(admin, "Wei Zhang")
    await admin.send("+86 138 0013 8000")
    warning = await admin.reply()  # at once, not after the last question
    assert warning.text.splitlines()[0] == shown(catalogs, "en", "customer.dup.title")
    assert (
        shown(catalogs, "en", "customer.dup.phone", name="Zhang Wei", company="—") in warning.text
    )
    assert warning.button_labels == ["Open Zhang Wei", "Add anyway", "✏️ Change it"]
    await admin.press("Add anyway", message=warning)
    ask = await admin.reply()
    assert ask.text.startswith(shown(catalogs, "en", "customer.ask.email"))
    await admin.press("Review ✓")
    summary = await admin.reply()
    await admin.press("✅ Save", message=summary)  # the same match is not warned about again
    await admin.reply()
    assert [c.name for c in customers(db_url)] == ["Zhang Wei", "Wei Zhang"]


async def test_open_the_duplicate_instead_of_adding(admin: ScriptedUser, db_url: str):
    await quick_customer(admin, "Zhang Wei", "13800138000", "zw@acme.cn")
    await admin.send("/newcustomer")
    await admin.replies(2)
    await answer(admin, "Someone Else")
    await admin.press("Skip »")
    await admin.reply()
    await answer(admin, "ZW@acme.CN")  # the warning, right after the email
    await admin.press("Open Zhang Wei")
    card = await admin.reply()
    assert card.text.splitlines()[0].startswith("Zhang Wei #")
    assert "zw@acme.cn" in card.text
    assert len(customers(db_url)) == 1


async def test_duplicate_owned_by_a_colleague_names_the_owner_only(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs
):
    sam = await join(emu, admin, 2002, "Sam")
    ann = await join(emu, admin, 3003, "Ann")
    await quick_customer(sam, "Zhang Wei", "13800138000", "zw@secret-corp.cn")
    await ann.send("/newcustomer")
    await ann.replies(2)
    await answer(ann, "Zhang")
    await ann.send("138 0013 8000")
    warning = await ann.reply()
    assert warning.text.splitlines()[0] == shown(
        catalogs, "en", "customer.dup.title_of", owner="Sam"
    )
    assert shown(catalogs, "en", "customer.dup.phone_other", owner="Sam") in warning.text
    assert "Zhang Wei" not in warning.text
    assert "secret-corp" not in warning.text
    assert warning.button_labels == ["Add anyway", "✏️ Change it"]


async def test_contact_card_starts_a_prefilled_customer(
    admin: ScriptedUser, db_url: str, catalogs: Catalogs
):
    await admin.share_contact("+86 139 1234 5678", "Li", last_name="Na")
    title, ask = await admin.replies(2)
    assert ask.text.startswith(shown(catalogs, "en", "customer.ask.email"))
    await admin.press("Review ✓")
    summary = await admin.reply()
    assert summary.text.splitlines()[1:] == ["Name: Li Na", "Phones: 139 1234 5678"]
    await admin.press("✅ Save", message=summary)
    await admin.reply()
    (customer,) = customers(db_url)
    assert phones_of(db_url, customer.id) == ["+8613912345678"]


async def test_photo_during_the_flow_is_attached(
    admin: ScriptedUser, db_url: str, catalogs: Catalogs
):
    await admin.send("/newcustomer")
    await admin.replies(2)
    await answer(admin, "Zhang Wei")
    await admin.upload_photo(b"\x89PNG business card")
    assert (await admin.reply()).text == shown(catalogs, "en", "flow.photo_attached")
    await admin.press("Review ✓")
    summary = await admin.reply()
    assert "Photos: 1" in summary.text
    await admin.press("✅ Save", message=summary)
    await admin.reply()
    db = Database(db_url)
    attachments = db.run_sync(lambda s: list(s.exec(select(Attachment))))
    db.close()
    assert [(a.kind, a.customer_id) for a in attachments] == [("photo", customers(db_url)[0].id)]


async def test_entry_continues_after_a_restart(
    admin: ScriptedUser, running_bot: RunningBot, db_url: str
):
    await admin.send("/newcustomer")
    await admin.replies(2)
    await answer(admin, "Zhang Wei")
    await answer(admin, "13800138000")
    await running_bot.restart()
    await answer(admin, "zw@acme.cn")  # the email step, where we were
    await admin.press("Review ✓")
    summary = (await admin.reply()).text
    assert summary.splitlines()[1:] == [
        "Name: Zhang Wei",
        "Phones: 138 0013 8000",
        "Email: zw@acme.cn",
    ]


async def test_redelivered_answer_changes_nothing(
    emu: BotApiEmulator, admin: ScriptedUser, db_url: str
):
    await admin.send("/newcustomer")
    await admin.replies(2)
    await answer(admin, "Zhang Wei")
    name_update = emu.update_history()[-1]["update_id"]
    await answer(admin, "13800138000")
    sent = len(emu.bot_messages(admin.chat_id))
    emu.redeliver(name_update)
    await answer(admin, "zw@acme.cn")  # answered after the repeat was seen
    assert len(emu.bot_messages(admin.chat_id)) == sent + 1
    await admin.press("Review ✓")
    summary = (await admin.reply()).text
    assert "Name: Zhang Wei" in summary
    assert "Email: zw@acme.cn" in summary


async def test_double_save_creates_one_customer(
    emu: BotApiEmulator, admin: ScriptedUser, db_url: str, catalogs: Catalogs
):
    await admin.send("/newcustomer")
    await admin.replies(2)
    await answer(admin, "Zhang Wei")
    await admin.press("Review ✓")
    summary = await admin.reply()
    await admin.press("✅ Save", message=summary)
    await admin.press("✅ Save", message=summary)
    # Only once the second press is answered does the count say anything about it.
    stale = shown(catalogs, "en", "common.stale_button")
    await eventually(lambda: any(a.get("text") == stale for a in emu.callback_answers.values()))
    assert len(customers(db_url)) == 1


async def test_stale_button_on_an_old_question_is_refused(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs
):
    await admin.send("/newcustomer")
    await admin.replies(2)
    await answer(admin, "Zhang Wei")
    phone_question = admin.last_bot_message
    assert phone_question is not None
    await answer(admin, "13800138000")
    earlier = set(emu.callback_answers)
    await admin.press("Skip »", message=phone_question)
    await eventually(lambda: set(emu.callback_answers) - earlier)
    (answered,) = [a for i, a in emu.callback_answers.items() if i not in earlier]
    assert answered.get("text") == shown(catalogs, "en", "common.stale_button")


async def test_new_entry_while_one_is_open_offers_continue_or_discard(
    admin: ScriptedUser, catalogs: Catalogs
):
    await admin.send("/newcustomer")
    await admin.replies(2)
    await answer(admin, "Zhang Wei")
    await admin.send("/newcustomer")
    offer = await admin.reply()
    assert offer.text == shown(catalogs, "en", "flow.unfinished", title="New customer")
    await admin.press("Continue it", message=offer)
    again = await admin.reply()
    assert again.text.startswith(shown(catalogs, "en", "customer.ask.phones").split("\n")[0])
    await admin.send("/newcustomer")
    offer = await admin.reply()
    await admin.press("Discard it", message=offer)
    title, ask = await admin.replies(2)
    assert ask.text == shown(catalogs, "en", "customer.ask.name")


async def test_names_with_html_characters_are_shown_as_typed(admin: ScriptedUser, db_url: str):
    await admin.send("/newcustomer")
    await admin.replies(2)
    await answer(admin, "Li <Lee> & Sons")
    await admin.press("Review ✓")
    summary = await admin.reply()
    assert "Name: Li <Lee> & Sons" in summary.text
    await admin.press("✅ Save", message=summary)
    saved = await admin.reply()
    assert "Li <Lee> & Sons" in saved.text
    assert [c.name for c in customers(db_url)] == ["Li <Lee> & Sons"]


async def test_answering_while_asked_to_continue_continues(
    admin: ScriptedUser, catalogs: Catalogs
):
    await admin.send("/newcustomer")
    await admin.replies(2)
    await answer(admin, "Zhang Wei")
    await admin.send("/newcustomer")
    await admin.reply()  # continue or discard?
    reply = await answer(admin, "13800138000")
    assert reply == shown(catalogs, "en", "customer.ask.email")
