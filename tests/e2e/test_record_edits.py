"""Changing one field of a saved record, end to end: Skip leaves the value as it is, Clear
empties an optional field only after "Yes, clear", a new phone or email meets the entry
flow's duplicate check, and /cancel or a restart in the middle neither loses nor writes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import select

from bot.emulator import BotApiEmulator, BotMessage
from handlers.i18n import Catalogs
from storage.models import CustomerPhone
from tests.conftest import RunningBot
from tests.e2e.helpers import answer, join, shown
from tests.e2e.test_customer_flow import customers, phones_of
from tests.e2e.test_records import audit, customer, in_db, open_card, seed
from tests.e2e.test_records_deals_notes import deal
from tests.e2e.test_records_deals_notes import seed as seed_deal
from tests.e2e.user import ScriptedUser

PHONES = ["+8613800138000", "+16502530000"]


@pytest.fixture
async def sales(emu: BotApiEmulator, admin: ScriptedUser) -> ScriptedUser:
    await admin.send("/help")
    await admin.reply()
    return await join(emu, admin, 2002, "Li Na")


async def edit(
    user: ScriptedUser, catalogs: Catalogs, customer_id: int, field: str, lang: str = "en"
) -> BotMessage:
    """Card -> Edit -> the field: returns the field's question."""
    await open_card(user, customer_id)
    await user.press(shown(catalogs, lang, "lookup.button.edit"))
    choose = await user.reply()
    await user.press(shown(catalogs, lang, f"customer.field.{field}"), message=choose)
    _intro, _title, question = await user.replies(3)
    return question


async def answer_and_wait(user: ScriptedUser, text: str) -> BotMessage:
    """Send a text and return the bot's next reply (here: the summary)."""
    await user.send(text)
    return await user.reply()


async def save(user: ScriptedUser, catalogs: Catalogs, summary: BotMessage) -> BotMessage:
    """Save on the summary: returns what the bot says (the card follows)."""
    await user.press(shown(catalogs, "en", "flow.button.save"), message=summary)
    said, _card = await user.replies(2)
    return said


async def test_skip_in_an_edit_keeps_both_phones(
    sales: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    customer_id = seed(db_url, 2002, "Two Phones", phones=PHONES)
    question = await edit(sales, catalogs, customer_id, "phones")
    assert "Now: 138 0013 8000, +1 650-253-0000" in question.text
    await sales.press(shown(catalogs, "en", "flow.button.skip"), message=question)
    summary = await sales.reply()
    assert "Phones: 138 0013 8000, +1 650-253-0000" in summary.text
    said = await save(sales, catalogs, summary)
    assert said.text == shown(catalogs, "en", "records.edit.unchanged")
    assert sorted(phones_of(db_url, customer_id)) == sorted(PHONES)
    assert [e.action for e in audit(db_url, customer_id)] == ["create"]


async def test_clear_confirmed_then_save_empties_an_optional_field(
    sales: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    customer_id = seed(db_url, 2002, "Grace", email="grace@navy.mil")
    question = await edit(sales, catalogs, customer_id, "email")
    await sales.press(shown(catalogs, "en", "flow.button.clear"), message=question)
    confirm = await sales.reply()
    assert confirm.text == shown(catalogs, "en", "flow.clear_confirm", field="Email")
    assert confirm.button_labels == ["Yes, clear", "No"]
    assert customer(db_url, customer_id).email == "grace@navy.mil"  # not before Save
    await sales.press(shown(catalogs, "en", "flow.button.clear_yes"), message=confirm)
    summary = await sales.reply()
    assert summary.text.splitlines()[1:] == ["Email: —"]
    said = await save(sales, catalogs, summary)
    assert said.text == shown(catalogs, "en", "records.edit.saved", name="Grace")
    assert customer(db_url, customer_id).email is None
    assert audit(db_url, customer_id)[0].changes == {"email": ["grace@navy.mil", None]}


async def test_clear_answered_no_keeps_the_value(
    sales: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    customer_id = seed(db_url, 2002, "Grace", email="grace@navy.mil")
    question = await edit(sales, catalogs, customer_id, "email")
    await sales.press(shown(catalogs, "en", "flow.button.clear"), message=question)
    confirm = await sales.reply()
    await sales.press(shown(catalogs, "en", "flow.button.clear_no"), message=confirm)
    again = await sales.reply()
    assert again.text == question.text
    await sales.press(shown(catalogs, "en", "flow.button.skip"), message=again)
    said = await save(sales, catalogs, await sales.reply())
    assert said.text == shown(catalogs, "en", "records.edit.unchanged")
    assert customer(db_url, customer_id).email == "grace@navy.mil"


async def test_clear_in_chinese(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    li = await join(emu, admin, 2003, "李娜", language_code="zh-hans")
    customer_id = seed(db_url, 2003, "张伟", phones=PHONES)
    question = await edit(li, catalogs, customer_id, "phones", lang="zh")
    assert shown(catalogs, "zh", "flow.button.clear") in question.button_labels
    await li.press(shown(catalogs, "zh", "flow.button.clear"), message=question)
    confirm = await li.reply()
    assert confirm.text == shown(
        catalogs,
        "zh",
        "flow.clear_confirm",
        field=shown(catalogs, "zh", "edit_customer.field.phones"),
    )
    await li.press(shown(catalogs, "zh", "flow.button.clear_yes"), message=confirm)
    summary = await li.reply()
    await li.press(shown(catalogs, "zh", "flow.button.save"), message=summary)
    said, _card = await li.replies(2)
    assert said.text == shown(catalogs, "zh", "records.edit.saved", name="张伟")
    assert phones_of(db_url, customer_id) == []


async def test_a_required_field_offers_skip_but_no_clear(
    sales: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    customer_id = seed(db_url, 2002, "Grace", email="grace@navy.mil")
    question = await edit(sales, catalogs, customer_id, "name")
    assert shown(catalogs, "en", "flow.button.clear") not in question.button_labels
    await sales.press(shown(catalogs, "en", "flow.button.skip"), message=question)
    said = await save(sales, catalogs, await sales.reply())
    assert said.text == shown(catalogs, "en", "records.edit.unchanged")
    assert customer(db_url, customer_id).name == "Grace"


async def test_a_colleagues_customers_phone_gets_the_duplicate_warning(
    emu: BotApiEmulator, sales: ScriptedUser, admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    await join(emu, admin, 3003, "Sam")
    seed(db_url, 3003, "Secret Zhang", phones=["+8613911112222"], email="z@secret-corp.cn")
    customer_id = seed(db_url, 2002, "Mine", phones=[PHONES[0]])
    await edit(sales, catalogs, customer_id, "phones")
    summary = await answer_and_wait(sales, "139 1111 2222")
    await sales.press(shown(catalogs, "en", "flow.button.save"), message=summary)
    warning = await sales.reply()
    assert shown(catalogs, "en", "customer.dup.phone_other", owner="Sam") in warning.text
    assert "Secret" not in sales.transcript()
    assert "secret-corp" not in sales.transcript()
    assert warning.button_labels == ["Add anyway", "« Back"]
    assert phones_of(db_url, customer_id) == [PHONES[0]]
    await sales.press("Add anyway", message=warning)
    await sales.replies(2)
    assert phones_of(db_url, customer_id) == ["+8613911112222"]


async def test_an_own_customers_email_offers_to_open_it(
    sales: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    seed(db_url, 2002, "Zhang Wei", email="zw@acme.cn")
    customer_id = seed(db_url, 2002, "Wei", email="wei@acme.cn")
    await edit(sales, catalogs, customer_id, "email")
    summary = await answer_and_wait(sales, "ZW@acme.cn")
    await sales.press(shown(catalogs, "en", "flow.button.save"), message=summary)
    warning = await sales.reply()
    assert shown(catalogs, "en", "customer.dup.email", name="Zhang Wei", company="—") in (
        warning.text
    )
    assert warning.button_labels == ["Open Zhang Wei", "Add anyway", "« Back"]
    assert customer(db_url, customer_id).email == "wei@acme.cn"


async def test_keeping_a_phone_another_customer_shares_does_not_warn(
    sales: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    seed(db_url, 2002, "Same Number", phones=[PHONES[0]])
    customer_id = seed(db_url, 2002, "Mine", phones=[PHONES[0]])
    await edit(sales, catalogs, customer_id, "phones")
    summary = await answer_and_wait(sales, "138 0013 8000, +1 650 253 0000")
    said = await save(sales, catalogs, summary)
    assert said.text == shown(catalogs, "en", "records.edit.saved", name="Mine")
    assert sorted(phones_of(db_url, customer_id)) == sorted(PHONES)


async def test_cancel_in_the_middle_of_an_edit_changes_nothing(
    sales: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    customer_id = seed(db_url, 2002, "Two Phones", phones=PHONES)
    question = await edit(sales, catalogs, customer_id, "phones")
    await sales.press(shown(catalogs, "en", "flow.button.clear"), message=question)
    confirm = await sales.reply()
    await sales.press(shown(catalogs, "en", "flow.button.clear_yes"), message=confirm)
    await sales.reply()  # the summary, not saved
    assert await answer(sales, "/cancel") == shown(catalogs, "en", "cancel.done")
    not_found = shown(catalogs, "en", "lookup.none", query="13900000000")
    assert (await answer(sales, "13900000000")).startswith(not_found)  # looked up, not an answer
    assert sorted(phones_of(db_url, customer_id)) == sorted(PHONES)
    assert [e.action for e in audit(db_url, customer_id)] == ["create"]


async def test_an_edit_continues_after_a_restart(
    sales: ScriptedUser, running_bot: RunningBot, catalogs: Catalogs, db_url: str
) -> None:
    customer_id = seed(db_url, 2002, "Grace", email="grace@navy.mil")
    question = await edit(sales, catalogs, customer_id, "email")
    await sales.press(shown(catalogs, "en", "flow.button.clear"), message=question)
    confirm = await sales.reply()
    await running_bot.restart()
    await sales.press(shown(catalogs, "en", "flow.button.clear_no"), message=confirm)
    again = await sales.reply()
    assert again.text == question.text
    await running_bot.restart()
    summary = await answer_and_wait(sales, "grace@acme.com")
    said = await save(sales, catalogs, summary)
    assert said.text == shown(catalogs, "en", "records.edit.saved", name="Grace")
    assert customer(db_url, customer_id).email == "grace@acme.com"


async def test_skip_on_edit_a_field_of_a_new_entry_keeps_the_answer(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    await admin.send("/newcustomer")
    await admin.replies(2)
    await answer(admin, "Zhang Wei")
    await answer(admin, "138 0013 8000, +1 650 253 0000")
    await admin.press("Review ✓")
    summary = await admin.reply()
    await admin.press(shown(catalogs, "en", "flow.button.edit"), message=summary)
    which = await admin.reply()
    await admin.press(shown(catalogs, "en", "customer.field.phones"), message=which)
    question = await admin.reply()
    await admin.press(shown(catalogs, "en", "flow.button.skip"), message=question)
    summary = await admin.reply()
    assert "Phones: 138 0013 8000, +1 650-253-0000" in summary.text
    await admin.press(shown(catalogs, "en", "flow.button.save"), message=summary)
    await admin.reply()
    (saved,) = customers(db_url)
    assert sorted(phones_of(db_url, saved.id)) == sorted(PHONES)


async def test_clear_on_edit_a_field_of_a_new_entry(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    await admin.send("/newcustomer")
    await admin.replies(2)
    await answer(admin, "Zhang Wei")
    await answer(admin, "13800138000")
    await admin.press("Review ✓")
    summary = await admin.reply()
    await admin.press(shown(catalogs, "en", "flow.button.edit"), message=summary)
    await admin.press(shown(catalogs, "en", "customer.field.phones"), message=await admin.reply())
    await admin.press(shown(catalogs, "en", "flow.button.clear"), message=await admin.reply())
    await admin.press(shown(catalogs, "en", "flow.button.clear_yes"), message=await admin.reply())
    summary = await admin.reply()
    assert "Phones" not in summary.text
    await admin.press(shown(catalogs, "en", "flow.button.save"), message=summary)
    await admin.reply()
    assert in_db(db_url, lambda s: list(s.exec(select(CustomerPhone)))) == []


async def test_skip_in_a_deal_edit_keeps_the_amount_and_clear_empties_it(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    await admin.send("/help")
    await admin.reply()
    _customer, deal_id, _note = seed_deal(db_url, 1001, "Grace Hopper")
    for button in ("flow.button.skip", "flow.button.clear"):
        await admin.send("/deals")
        await admin.press(
            shown(catalogs, "en", "records.button.edit_short"), message=await admin.reply()
        )
        await admin.press(shown(catalogs, "en", "deal.field.amount"), message=await admin.reply())
        _intro, _title, question = await admin.replies(3)
        await admin.press(shown(catalogs, "en", button), message=question)
        if button == "flow.button.clear":
            confirm = await admin.reply()
            await admin.press(shown(catalogs, "en", "flow.button.clear_yes"), message=confirm)
        summary = await admin.reply()
        await admin.press(shown(catalogs, "en", "flow.button.save"), message=summary)
        await admin.replies(2)
        if button == "flow.button.skip":
            assert deal(db_url, deal_id).amount == Decimal("100.00")
    assert (deal(db_url, deal_id).amount, deal(db_url, deal_id).currency) == (None, None)
