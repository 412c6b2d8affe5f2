"""Duplicates warned when they are typed: right after the phone, the email, or the name at a
company, with Open it / Add anyway / Change it; again at Save for one added meanwhile; /log
with a colleague's phone; the header says whose customer it is; restart and /cancel there."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.app import services_of
from bot.emulator import BotApiEmulator, BotMessage
from handlers.i18n import Catalogs
from storage.drafts import CANCELLED
from storage.models import Customer, Draft, Interaction
from tests.conftest import RunningBot
from tests.e2e.helpers import join, rows, shown
from tests.e2e.user import ScriptedUser

LANGUAGE_CODES = {"en": "en", "zh": "zh-hans"}


MONDAY = datetime(2031, 1, 13, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


@pytest.fixture(params=["en", "zh"])
def lang(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def member(
    emu: BotApiEmulator, admin: ScriptedUser, lang: str, user_id: int, name: str
) -> ScriptedUser:
    return await join(emu, admin, user_id, name, language_code=LANGUAGE_CODES[lang])


async def add_customer(
    user: ScriptedUser, catalogs: Catalogs, lang: str, *answers: str | None
) -> None:
    """/newcustomer answered in order (None: Skip), then Review and Save."""
    await user.send("/newcustomer")
    await user.replies(2)
    for text in answers:
        if text is None:
            await user.press(shown(catalogs, lang, "flow.button.skip"))
        else:
            await user.send(text)
        await user.reply()
    await review_and_save(user, catalogs, lang)


async def review_and_save(user: ScriptedUser, catalogs: Catalogs, lang: str) -> BotMessage:
    """Review, then Save on the summary: the answer to Save."""
    await user.press(shown(catalogs, lang, "flow.button.finish"))
    summary = await user.reply()
    await user.press(shown(catalogs, lang, "flow.button.save"), message=summary)
    return await user.reply()


async def begin(user: ScriptedUser, name: str) -> None:
    await user.send("/newcustomer")
    await user.replies(2)
    await user.send(name)
    await user.reply()


async def type_known_phone(
    user: ScriptedUser, catalogs: Catalogs, lang: str, typed: str = "13800138000"
) -> BotMessage:
    """The user's Zhang Wei with 13800138000, then a new customer typing that phone: the
    warning."""
    await add_customer(user, catalogs, lang, "Zhang Wei", "13800138000")
    await begin(user, "Wei Zhang")
    await user.send(typed)
    return await user.reply()


def other_owners_buttons(catalogs: Catalogs, lang: str) -> list[str]:
    """A colleague's customer is not offered to open."""
    return [
        shown(catalogs, lang, "flow.button.add_anyway"),
        shown(catalogs, lang, "flow.button.change_it"),
    ]


async def test_own_phone_warns_at_the_phone_step_and_change_it_asks_again(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str, lang: str
):
    li = await member(emu, admin, lang, 2002, "Li")
    warning = await type_known_phone(li, catalogs, lang, "138 0013 8000")
    assert warning.text.splitlines() == [
        shown(catalogs, lang, "customer.dup.title"),
        shown(catalogs, lang, "customer.dup.phone", name="Zhang Wei", company="—"),
    ]
    assert warning.button_labels == [
        shown(catalogs, lang, "customer.dup.open", name="Zhang Wei"),
        shown(catalogs, lang, "flow.button.add_anyway"),
        shown(catalogs, lang, "flow.button.change_it"),
    ]
    await li.press(shown(catalogs, lang, "flow.button.change_it"), message=warning)
    again = await li.reply()
    assert again.text.startswith(shown(catalogs, lang, "customer.ask.phones"))
    await li.send("139 1234 5678")
    assert (await li.reply()).text.startswith(shown(catalogs, lang, "customer.ask.email"))
    await review_and_save(li, catalogs, lang)
    assert [c.name for c in rows(db_url, Customer)] == ["Zhang Wei", "Wei Zhang"]


async def test_colleagues_email_names_the_owner_and_nothing_else(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str, lang: str
):
    sam = await member(emu, admin, lang, 2002, "Sam")
    ann = await member(emu, admin, lang, 3003, "Ann")
    await add_customer(sam, catalogs, lang, "Zhang Wei", "13800138000", "zw@secret-corp.cn")
    await begin(ann, "Zhang")
    await ann.press(shown(catalogs, lang, "flow.button.skip"))
    await ann.reply()
    await ann.send("ZW@secret-corp.cn")
    warning = await ann.reply()
    assert warning.text.splitlines() == [
        shown(catalogs, lang, "customer.dup.title_of", owner="Sam"),
        shown(catalogs, lang, "customer.dup.email_other", owner="Sam"),
    ]
    assert warning.button_labels == other_owners_buttons(catalogs, lang)
    await ann.press(shown(catalogs, lang, "flow.button.add_anyway"), message=warning)
    assert (await ann.reply()).text.startswith(shown(catalogs, lang, "customer.ask.company"))
    await review_and_save(ann, catalogs, lang)  # saved: Add anyway is not asked again at Save
    assert len(rows(db_url, Customer)) == 2


async def test_similar_name_at_the_company_warns_after_the_company(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str, lang: str
):
    li = await member(emu, admin, lang, 2002, "Li")
    await add_customer(li, catalogs, lang, "Zhang Wei", None, None, "Acme")
    await begin(li, "Zhang Wei.")
    for _ in range(2):  # phones, email
        await li.press(shown(catalogs, lang, "flow.button.skip"))
        await li.reply()
    await li.send("ACME")
    warning = await li.reply()
    assert shown(catalogs, lang, "customer.dup.name", name="Zhang Wei", company="Acme") in (
        warning.text
    )
    await li.press(shown(catalogs, lang, "customer.dup.open", name="Zhang Wei"), message=warning)
    card = await li.reply()
    (existing,) = rows(db_url, Customer)
    assert card.text.splitlines() == [f"Zhang Wei #{existing.id}", "Acme"]
    assert rows(db_url, Draft) == []  # Open it ends the entry


async def test_save_still_warns_of_a_customer_added_after_the_phone_step(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    sam = await member(emu, admin, "en", 2002, "Sam")
    await begin(admin, "Zhang Wei")
    await admin.send("13800138000")
    await admin.reply()  # no duplicate yet: the email question
    await add_customer(sam, catalogs, "en", "Zhang", "138 0013 8000")
    warning = await review_and_save(admin, catalogs, "en")
    assert warning.text.splitlines()[0] == shown(
        catalogs, "en", "customer.dup.title_of", owner="Sam"
    )
    assert warning.button_labels == ["Open Zhang", "Add anyway", "« Back"]
    await admin.press("Add anyway", message=warning)
    await admin.reply()
    assert len(rows(db_url, Customer)) == 2


@pytest.mark.usefixtures("parked_tickers")  # the pinned clock is past the digests' hour
async def test_log_with_a_colleagues_phone_warns_instead_of_a_second_customer(
    emu: BotApiEmulator,
    admin: ScriptedUser,
    catalogs: Catalogs,
    db_url: str,
    lang: str,
    running_bot: RunningBot,
):
    # "Tuesday" / "周二" from a Monday: run on a Tuesday, 周二 was today, already past, and the
    # bot rightly said so first
    assert running_bot.application is not None
    services_of(running_bot.application).clock = lambda: MONDAY
    sam = await member(emu, admin, lang, 2002, "Sam")
    ann = await member(emu, admin, lang, 3003, "Ann")
    await add_customer(
        sam, catalogs, lang, "Zhang Wei", "13800138000", "zw@secret-corp.cn", "Secret Corp"
    )
    text = {
        "en": "/log Met Zhang at Acme, 13800138000, follow up Tuesday",
        "zh": "/log 拜访了Acme的张总，电话13800138000，周二跟进",
    }[lang]
    await ann.send(text)
    _, warning = await ann.replies(2)
    assert warning.text.splitlines() == [
        shown(catalogs, lang, "customer.dup.title_of", owner="Sam"),
        shown(catalogs, lang, "customer.dup.phone_other", owner="Sam"),
    ]
    assert warning.button_labels == other_owners_buttons(catalogs, lang)
    assert [c.name for c in rows(db_url, Customer)] == ["Zhang Wei"]
    await ann.press(shown(catalogs, lang, "flow.button.change_it"), message=warning)
    await ann.reply()
    await ann.send("139 1234 5678")
    card = await ann.reply()  # the card, with the corrected phone
    assert "139 1234 5678" in card.text, ann.transcript()
    assert "139 1234 5678" in card.text
    assert "secret" not in card.text.casefold()


async def test_warning_survives_a_restart_and_cancel_discards_the_entry(
    admin: ScriptedUser, running_bot: RunningBot, catalogs: Catalogs, db_url: str
):
    warning = await type_known_phone(admin, catalogs, "en")
    await running_bot.restart()
    await admin.press("Add anyway", message=warning)
    assert (await admin.reply()).text.startswith(shown(catalogs, "en", "customer.ask.email"))
    await review_and_save(admin, catalogs, "en")
    assert len(rows(db_url, Customer)) == 2


async def test_cancel_at_the_warning_saves_nothing(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str, lang: str
):
    li = await member(emu, admin, lang, 2002, "Li")
    warning = await type_known_phone(li, catalogs, lang)
    assert warning.text.splitlines()[0] == shown(catalogs, lang, "customer.dup.title")
    await li.send("/cancel")
    assert (await li.reply()).text == shown(catalogs, lang, "cancel.done")
    assert [d.flow for d in rows(db_url, Draft)] == [CANCELLED]  # its cards say it was cancelled
    assert len(rows(db_url, Customer)) == 1


async def test_log_with_ones_own_customers_phone_offers_logging_onto_it(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str, lang: str
):
    li = await member(emu, admin, lang, 2002, "Li")
    await add_customer(li, catalogs, lang, "Zhang Wei", "13800138000")
    await li.send("/log Met Li Na at Beta")
    _, card = await li.replies(2)
    await li.press(shown(catalogs, lang, "flow.button.edit"), message=card)
    await li.reply()
    await li.press(shown(catalogs, lang, "quick_log.field.phones"))
    await li.reply()
    await li.send("138 0013 8000")
    warning = await li.reply()
    assert warning.text.splitlines()[0] == shown(catalogs, lang, "customer.dup.title")
    use_it = shown(catalogs, lang, "quick_log.dup.use", name="Zhang Wei")
    assert warning.button_labels[0] == use_it
    await li.press(use_it, message=warning)
    card = await li.reply()
    customer_line = shown(
        catalogs,
        lang,
        "flow.summary_line",
        label=shown(catalogs, lang, "quick_log.field.customer"),
        value="Zhang Wei",
    )
    assert customer_line in card.text.splitlines()
    await li.press(shown(catalogs, lang, "flow.button.save"), message=card)
    await li.reply()
    (customer,) = rows(db_url, Customer)
    assert [n.customer_id for n in rows(db_url, Interaction)] == [customer.id]


async def test_shared_contact_with_a_known_phone_warns_at_once(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, lang: str
):
    li = await member(emu, admin, lang, 2002, "Li")
    await add_customer(li, catalogs, lang, "Zhang Wei", "13800138000")
    await li.share_contact("+86 138 0013 8000", "Wei")
    _, warning = await li.replies(2)
    assert shown(catalogs, lang, "customer.dup.phone", name="Zhang Wei", company="—") in (
        warning.text
    )
    await li.press(shown(catalogs, lang, "flow.button.add_anyway"), message=warning)
    assert (await li.reply()).text.startswith(shown(catalogs, lang, "customer.ask.email"))
