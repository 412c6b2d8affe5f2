"""Required customer fields in the quick entries: a /log (or a plain sentence) making a new
customer asks the team's required fields the message did not give, without Skip, before the
card; a shared contact card runs the customer entry, which asks them the same way. Nothing is
saved before Save; /cancel discards; a restart continues at the same question. A team
without its own list (the default requires only the name) sees the card at once. A /log
that makes a deal asks the deal's required fields the same way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from bot.config import QualityConfig
from bot.emulator import BotApiEmulator
from handlers.i18n import Catalogs
from storage.models import Customer, CustomerPhone, Deal, Interaction
from tests.conftest import ADMIN_ID, RunningBot
from tests.e2e.helpers import answer, join, rows, shown
from tests.e2e.user import ScriptedUser

EN = "Met Zhang Wei at Acme, wants 50 units"
ZH = "拜访了Acme的张伟，想要50台"


@asynccontextmanager
async def team_requiring(
    emu: BotApiEmulator, db_url: str, required: dict[str, list[str]]
) -> AsyncIterator[RunningBot]:
    """The bot of a team with its own `[quality] required` lists."""
    bot = RunningBot(emu, db_url, quality=QualityConfig(required=required))
    await bot.start()
    yield bot
    await bot.stop()
    assert not bot.errors


@pytest.fixture
async def strict_bot(emu: BotApiEmulator, db_url: str) -> AsyncIterator[RunningBot]:
    """A team that requires a phone, a company and a source for every customer."""
    required = {"customer": ["name", "phone", "company", "source"]}
    async with team_requiring(emu, db_url, required) as bot:
        yield bot


@pytest.fixture
def strict_admin(emu: BotApiEmulator, strict_bot: RunningBot) -> ScriptedUser:
    return ScriptedUser(emu, ADMIN_ID, "Ada", language_code="en")


async def test_log_asks_the_missing_required_fields_before_the_card(
    strict_admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    user = strict_admin
    await user.send(f"/log {EN}")
    title, ask_phone = await user.replies(2)
    assert title.text == shown(catalogs, "en", "quick_log.title")
    notice = shown(catalogs, "en", "quick_log.gaps.notice", fields="Phones, Source")
    assert ask_phone.text.startswith(notice)
    assert ask_phone.text.endswith(shown(catalogs, "en", "quick_log.ask.phones"))
    assert "Skip »" not in ask_phone.button_labels
    reply = await answer(user, "12345")  # bad input: asked again, still without Skip
    assert reply.startswith(shown(catalogs, "en", "parse.phone.invalid", region="China"))
    await answer(user, "138 0013 8000")
    ask_source = user.last_bot_message
    assert ask_source is not None
    assert ask_source.text == shown(catalogs, "en", "quick_log.ask.source")
    assert "Skip »" not in ask_source.button_labels
    assert rows(db_url, Customer) == []  # nothing before Save
    await user.press("Referral", message=ask_source)
    card = await user.reply()
    lines = card.text.splitlines()
    assert "Company: Acme" in lines
    assert "Phones: 138 0013 8000" in lines
    assert "Source: Referral" in lines
    await user.press("✅ Save", message=card)
    await user.reply()
    (customer,) = rows(db_url, Customer)
    assert (customer.name, customer.company, customer.source) == ("Zhang Wei", "Acme", "referral")
    assert [p.e164 for p in rows(db_url, CustomerPhone)] == ["+8613800138000"]
    (note,) = rows(db_url, Interaction)
    assert note.customer_id == customer.id


async def test_a_plain_sentence_in_chinese_asks_them_too(
    emu: BotApiEmulator, strict_admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    li = await join(emu, strict_admin, 2002, "李娜", language_code="zh-hans")
    await li.send(ZH)
    title, ask_phone = await li.replies(2)
    assert title.text == shown(catalogs, "zh", "quick_log.title")
    notice = shown(catalogs, "zh", "quick_log.gaps.notice", fields="电话、来源")
    assert ask_phone.text.startswith(notice)
    assert "跳过 »" not in ask_phone.button_labels
    await answer(li, "13800138000")
    ask_source = li.last_bot_message
    assert ask_source is not None
    assert ask_source.text == shown(catalogs, "zh", "quick_log.ask.source")
    await li.press(shown(catalogs, "zh", "customer.source.referral"), message=ask_source)
    card = await li.reply()
    await li.press("✅ 保存", message=card)
    await li.reply()
    (customer,) = rows(db_url, Customer)
    assert (customer.name, customer.company, customer.source) == ("张伟", "Acme", "referral")


async def test_cancel_on_a_required_question_saves_nothing(
    strict_admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    await strict_admin.send(f"/log {EN}")
    await strict_admin.replies(2)
    assert await answer(strict_admin, "/cancel") == shown(catalogs, "en", "cancel.done")
    assert rows(db_url, Customer) == []
    assert rows(db_url, Interaction) == []


async def test_a_restart_continues_at_the_required_question(
    strict_admin: ScriptedUser, strict_bot: RunningBot, catalogs: Catalogs, db_url: str
):
    user = strict_admin
    await user.send(f"/log {EN}")
    await user.replies(2)
    await answer(user, "13800138000")
    await strict_bot.restart()
    ask_source = user.last_bot_message
    assert ask_source is not None
    await user.press("Referral", message=ask_source)
    card = await user.reply()
    assert "Source: Referral" in card.text.splitlines()
    await user.press("✅ Save", message=card)
    await user.reply()
    (customer,) = rows(db_url, Customer)
    assert customer.source == "referral"


async def test_a_known_customer_is_not_asked(strict_admin: ScriptedUser, db_url: str):
    """The gaps are asked of a new customer only: a /log onto an existing one goes to the card
    (the card's Fill gaps is there for its own gaps)."""
    user = strict_admin
    await user.send(f"/log {EN}, 13800138000")
    _, ask_source = await user.replies(2)  # company and phone were in the message
    await user.press("Referral", message=ask_source)
    card = await user.reply()
    await user.press("✅ Save", message=card)
    await user.reply()
    await user.send("/log Called Zhang Wei, 13800138000")
    _, card = await user.replies(2)
    assert "✅ Save" in card.button_labels
    assert len(rows(db_url, Customer)) == 1


async def test_a_team_without_its_own_list_sees_the_card_at_once(
    admin: ScriptedUser, catalogs: Catalogs
):
    await admin.send(f"/log {EN}")
    _, card = await admin.replies(2)
    assert card.text.startswith(shown(catalogs, "en", "flow.summary_title", title="Quick log"))
    assert "✅ Save" in card.button_labels


async def test_a_shared_contact_asks_the_required_company_without_skip(
    strict_admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    user = strict_admin
    await user.share_contact("+86 139 1234 5678", "Li", last_name="Na")
    await user.replies(2)  # title, email (name and phone came with the card)
    await user.press("Skip »")  # email is optional
    ask_company = await user.reply()
    assert ask_company.text.endswith(shown(catalogs, "en", "customer.ask.company"))
    assert "Skip »" not in ask_company.button_labels
    assert "Review ✓" not in ask_company.button_labels
    assert await answer(user, "/cancel") == shown(catalogs, "en", "cancel.done")
    assert rows(db_url, Customer) == []


async def test_a_past_follow_up_is_asked_first_then_the_gaps(
    strict_admin: ScriptedUser, catalogs: Catalogs
):
    user = strict_admin
    await user.send("/log Met Zhang Wei at Acme, follow up yesterday 3pm")
    _, ask_follow_up = await user.replies(2)
    notice = shown(catalogs, "en", "quick_log.gaps.notice", fields="Phones, Source")
    assert ask_follow_up.text.startswith(notice)
    assert shown(catalogs, "en", "quick_log.ask.follow_up") in ask_follow_up.text
    reply = await answer(user, "next week")
    assert reply.endswith(shown(catalogs, "en", "quick_log.ask.phones"))


@pytest.fixture
async def deal_bot(emu: BotApiEmulator, db_url: str) -> AsyncIterator[RunningBot]:
    """A team that requires an expected close date on every deal."""
    required = {"deal": ["title", "stage", "amount", "close_date"]}
    async with team_requiring(emu, db_url, required) as bot:
        yield bot


async def test_log_making_a_deal_asks_its_required_fields_first(
    emu: BotApiEmulator, deal_bot: RunningBot, catalogs: Catalogs, db_url: str
):
    """An amount makes a deal: its required close date is asked before the card, without
    Skip (and after an amount added on the card); a /log without one asks nothing."""
    user = ScriptedUser(emu, ADMIN_ID, "Ada", language_code="en")
    await user.send(f"/log {EN}")
    _, card = await user.replies(2)
    assert "✅ Save" in card.button_labels
    await user.press(shown(catalogs, "en", "flow.button.edit"), message=card)
    which = await user.reply()
    await user.press(shown(catalogs, "en", "quick_log.field.amount"), message=which)
    await user.reply()
    asked = await answer(user, "20k")  # an amount added on the card makes a deal: asked
    assert asked.endswith(shown(catalogs, "en", "quick_log.ask.close"))
    assert await answer(user, "/cancel") == shown(catalogs, "en", "cancel.done")
    await user.send(f"/log {EN}, budget 50k")
    _, ask_close = await user.replies(2)
    notice = shown(catalogs, "en", "quick_log.deal_gaps.notice", fields="Expected close")
    assert ask_close.text.startswith(notice)
    assert ask_close.text.endswith(shown(catalogs, "en", "quick_log.ask.close"))
    assert "Skip »" not in ask_close.button_labels
    again = await answer(user, "whenever")  # not a date: explained, asked again
    assert again != ask_close.text
    assert again.endswith(shown(catalogs, "en", "quick_log.ask.close"))
    await user.send("end of next month")
    card = await user.reply()
    assert any(line.startswith("Expected close: ") for line in card.text.splitlines())
    await user.press("✅ Save", message=card)
    await user.reply()
    (deal,) = rows(db_url, Deal)
    assert deal.amount == 50_000
    assert deal.expected_close_date is not None
