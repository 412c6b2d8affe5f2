"""The completeness score on the customer card and its "Fill gaps" flow: only the missing
fields, the required ones without Skip, with the entry's validation; /cancel, forged ids and
both languages."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.config import QualityConfig
from bot.emulator import BotApiEmulator
from handlers.callback_data import CustomerAction, pack
from handlers.i18n import Catalogs
from storage.models import Customer
from tests.conftest import ADMIN_ID, RunningBot
from tests.e2e.helpers import answer, join, rows, shown
from tests.e2e.test_lookup import seed
from tests.e2e.test_records import callback_answer
from tests.e2e.user import ScriptedUser

# Only four fields count: the name, and the three the team requires.
WEIGHTS = {
    "name": 1, "phone": 3, "company": 2, "region": 2, "source": 2, "email": 0, "position": 0,
    "industry": 0, "birthday": 0, "category": 0, "needs": 0,
}  # fmt: skip
REQUIRED = {"customer": ["name", "phone", "company", "source"], "deal": ["title", "stage"]}


@pytest.fixture
async def team_bot(emu: BotApiEmulator, db_url: str) -> AsyncIterator[RunningBot]:
    bot = RunningBot(emu, db_url, quality=QualityConfig(required=REQUIRED, weights=WEIGHTS))
    await bot.start()
    yield bot
    await bot.stop()
    assert not bot.errors


@pytest.fixture
def ada(emu: BotApiEmulator, team_bot: RunningBot) -> ScriptedUser:
    return ScriptedUser(emu, ADMIN_ID, "Ada", language_code="en")


async def open_card(user: ScriptedUser, customer_id: int):  # type: ignore[no-untyped-def]
    await user.send(f"/customer {customer_id}")
    return await user.reply()


async def test_card_shows_the_score_and_what_is_missing(ada: ScriptedUser, db_url: str):
    await ada.send("/help")
    await ada.reply()
    customer_id = seed(db_url, ADMIN_ID, "Zhang Wei", phones=["+8613800138000"])
    card = await open_card(ada, customer_id)
    assert card.text.splitlines()[1] == "Complete: 40% — missing: Company, Source, Region"
    assert card.button_labels[-1] == "🧩 Fill gaps"


async def test_fill_gaps_asks_only_the_missing_fields_and_rescores(
    ada: ScriptedUser, catalogs: Catalogs, db_url: str
):
    await ada.send("/help")
    await ada.reply()
    customer_id = seed(db_url, ADMIN_ID, "Zhang Wei", phones=["+8613800138000"])
    card = await open_card(ada, customer_id)
    await ada.press("🧩 Fill gaps", message=card)
    title, ask_company = await ada.replies(2)
    assert title.text == shown(catalogs, "en", "fill_gaps.title")
    assert ask_company.text == shown(catalogs, "en", "fill_gaps.ask.company")
    assert "Skip »" not in ask_company.button_labels  # required
    reply = await answer(ada, "x" * 151)  # the entry's validation
    assert reply.startswith(shown(catalogs, "en", "parse.text.too_long", max=150, length=151))
    ask_region_text = await answer(ada, "Acme")  # in the entry's order
    assert ask_region_text == shown(catalogs, "en", "fill_gaps.ask.region")
    assert "Skip »" in ada.last_bot_message.button_labels  # counted, not required
    await answer(ada, "沪")
    assert "Skip »" not in ada.last_bot_message.button_labels  # source: required
    await ada.press("Referral")
    summary = (await ada.reply()).text
    assert summary.splitlines()[1:] == ["Company: Acme", "Region: Shanghai", "Source: Referral"]
    await ada.press("✅ Save")
    saved, card = await ada.replies(2)
    assert saved.text == shown(catalogs, "en", "quality.gaps.saved", name="Zhang Wei")
    assert card.text.splitlines()[1] == "Complete: 100%"
    assert "🧩 Fill gaps" not in card.button_labels
    (customer,) = rows(db_url, Customer)
    assert (customer.company, customer.source, customer.region) == ("Acme", "referral", "上海")


async def test_cancel_in_fill_gaps_changes_nothing(
    ada: ScriptedUser, catalogs: Catalogs, db_url: str
):
    await ada.send("/help")
    await ada.reply()
    customer_id = seed(db_url, ADMIN_ID, "Zhang Wei", phones=["+8613800138000"])
    await ada.press("🧩 Fill gaps", message=await open_card(ada, customer_id))
    await ada.replies(2)
    await answer(ada, "Acme")
    assert await answer(ada, "/cancel") == shown(catalogs, "en", "cancel.done")
    assert [c.company for c in rows(db_url, Customer)] == [None]


async def test_fill_gaps_continues_after_a_restart(
    ada: ScriptedUser, team_bot: RunningBot, db_url: str
):
    await ada.send("/help")
    await ada.reply()
    customer_id = seed(db_url, ADMIN_ID, "Zhang Wei", phones=["+8613800138000"])
    await ada.press("🧩 Fill gaps", message=await open_card(ada, customer_id))
    await ada.replies(2)
    await answer(ada, "Acme")
    await team_bot.restart()
    await ada.press("Skip »")  # region
    await ada.reply()
    await ada.press("Event")
    await ada.reply()
    await ada.press("✅ Save")
    await ada.replies(2)
    (customer,) = rows(db_url, Customer)
    assert (customer.company, customer.source, customer.region) == ("Acme", "event", None)


async def test_a_forged_fill_gaps_button_is_not_found(
    emu: BotApiEmulator, ada: ScriptedUser, catalogs: Catalogs, db_url: str
):
    sales = await join(emu, ada, 2002, "Sam")
    theirs = seed(db_url, ADMIN_ID, "Secret Customer")
    await sales.send("/help")
    message = await sales.reply()
    await sales.press_data(pack(CustomerAction("gaps", theirs)), message)
    assert await callback_answer(emu) == shown(catalogs, "en", "common.not_found")
    assert "Secret" not in sales.transcript()


async def test_the_score_in_chinese(emu: BotApiEmulator, ada: ScriptedUser, db_url: str):
    li = await join(emu, ada, 2003, "李娜", language_code="zh-hans")
    customer_id = seed(db_url, 2003, "张伟", phones=["+8613800138000"], region="Atlantis")
    card = await open_card(li, customer_id)
    assert card.text.splitlines()[1] == "完整度：60% — 缺少：公司, 来源"
    assert "地区：Atlantis ⚠️ 不在列表中" in card.text.splitlines()
    assert card.button_labels[-1] == "🧩 补全信息"
