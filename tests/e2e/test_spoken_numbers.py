"""Amounts and dates as salespeople say them ("3万5千", "十二万五千", "下个月底", "下月5号",
"end of next month", "15th of next month"), echoed on the check card before Save and stored
as echoed, in English and Chinese. "Now" is pinned to Mon 13 Jan 2025 10:00 in Shanghai."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from bot.emulator import BotApiEmulator
from handlers.formatting import format_date
from handlers.i18n import Catalogs
from storage.models import Deal, Reminder
from tests.conftest import RunningBot
from tests.e2e.helpers import answer, join, rows, shown
from tests.e2e.test_deal_flow import add_customer, pick_customer
from tests.e2e.test_note_flow import NOW
from tests.e2e.user import ScriptedUser

# Clocks here are pinned past the digests' hour: no ticker may deliver mid-test.
pytestmark = pytest.mark.usefixtures("parked_tickers")


@pytest.fixture(autouse=True)
def pinned_clock(running_bot: RunningBot) -> None:
    assert running_bot.application is not None
    running_bot.application.bot_data["services"].clock = lambda: NOW


def nine_am(day: date) -> datetime:
    """A date-only follow-up is due at 09:00 in Shanghai."""
    return datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC)


async def test_log_in_chinese_echoes_spoken_amount_and_next_month_end(
    emu: BotApiEmulator, admin: ScriptedUser, db_url: str
):
    li = await join(emu, admin, 2002, "李娜", language_code="zh-hans")
    await li.send("/log 拜访了Acme的张伟，想要20台打印机，预算3万5千，下个月底签约")
    _, card = await li.replies(2)
    lines = card.text.splitlines()
    assert "商机金额：¥35,000" in lines
    assert "下次跟进：" + format_date(date(2025, 2, 28), lang="zh") in lines
    await li.press("✅ 保存", message=card)
    await li.reply()
    (deal,) = rows(db_url, Deal)
    assert (deal.amount, deal.currency) == (Decimal("35000.00"), "CNY")
    (reminder,) = rows(db_url, Reminder)
    assert reminder.due_at.replace(tzinfo=UTC) == nine_am(date(2025, 2, 28))
    assert reminder.exact_time is False


async def test_log_in_english_echoes_end_of_next_month(admin: ScriptedUser, db_url: str):
    await admin.send("/log Met Amy Lee at Globex, budget 1.2万, follow up end of next month")
    _, card = await admin.replies(2)
    lines = card.text.splitlines()
    assert "Deal amount: CN¥12,000" in lines
    assert "Follow-up: " + format_date(date(2025, 2, 28), lang="en") in lines
    await admin.press("✅ Save", message=card)
    await admin.reply()
    (deal,) = rows(db_url, Deal)
    assert deal.amount == Decimal("12000.00")
    (reminder,) = rows(db_url, Reminder)
    assert reminder.due_at.replace(tzinfo=UTC) == nine_am(date(2025, 2, 28))


async def test_new_deal_in_chinese_reads_chinese_numerals_and_next_month_day(
    emu: BotApiEmulator, admin: ScriptedUser, db_url: str
):
    li = await join(emu, admin, 2002, "李娜", language_code="zh-hans")
    add_customer(db_url, li, "张伟", "+8613800138000")
    await li.send("/newdeal")
    await li.replies(2)
    await pick_customer(li, "张伟", "张伟")
    await answer(li, "办公椅")
    await answer(li, "十二万五千")
    await answer(li, "两千五")  # the budget
    await answer(li, "下月5号")  # the decision date
    await li.press("线索")
    await li.reply()
    await li.press("完成并查看 ✓")
    summary = (await li.reply()).text.splitlines()
    assert "金额：¥125,000" in summary
    assert "预算：¥2,500" in summary
    assert "决策日期：" + format_date(date(2025, 2, 5), lang="zh") in summary
    await li.press("✅ 保存")
    await li.reply()
    (deal,) = rows(db_url, Deal)
    assert (deal.amount, deal.budget) == (Decimal("125000.00"), Decimal("2500.00"))
    assert deal.decision_date == date(2025, 2, 5)


async def test_new_deal_in_english_reads_a_day_of_next_month(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    await admin.send("/newdeal")
    await admin.replies(2)
    await pick_customer(admin, "zhang", "Zhang Wei")
    await answer(admin, "50 chairs")
    await answer(admin, "3万5")
    await admin.press("Skip »")  # the budget
    await admin.reply()
    reply = await answer(admin, "the 31st of next month")  # February has no 31st
    assert reply.startswith(shown(catalogs, "en", "parse.when.invalid"))
    await answer(admin, "15th of next month")
    await admin.press("Lead")
    await admin.reply()
    await admin.press("Review ✓")
    summary = (await admin.reply()).text.splitlines()
    assert "Amount: CN¥35,000" in summary
    assert "Decision date: " + format_date(date(2025, 2, 15), lang="en") in summary
    await admin.press("✅ Save")
    await admin.reply()
    (deal,) = rows(db_url, Deal)
    assert (deal.amount, deal.decision_date) == (Decimal("35000.00"), date(2025, 2, 15))
