"""/log end to end: one message lands on the summary card; Save creates the customer, note,
deal and reminder together; Cancel creates nothing; a known phone reuses the customer.
"Now" is pinned to Mon 13 Jan 2025 10:00 in Asia/Shanghai."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from bot.emulator import BotApiEmulator, BotMessage
from handlers.formatting import format_date
from handlers.i18n import Catalogs
from storage.models import Customer, CustomerPhone, Deal, Interaction, Reminder
from storage.satisfaction_models import SatisfactionScore
from tests.conftest import RunningBot
from tests.e2e.helpers import join, rows, shown
from tests.e2e.test_note_flow import NOW, when_text
from tests.e2e.user import ScriptedUser

# Clocks here are pinned past the digests' hour: no ticker may deliver mid-test.
pytestmark = pytest.mark.usefixtures("parked_tickers")

EN = "Met Zhang Wei at Acme, 138 0013 8000, budget 50k for 50 units, follow up next Tue 3pm"
ZH = "拜访了Acme的张伟，电话13800138000，预算5万，想要50台，下周二下午3点跟进"


@pytest.fixture(autouse=True)
def pinned_clock(running_bot: RunningBot) -> None:
    assert running_bot.application is not None
    running_bot.application.bot_data["services"].clock = lambda: NOW


async def test_log_in_english_saves_customer_note_deal_and_reminder(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    await admin.send(f"/log {EN}")
    title, card = await admin.replies(2)
    assert title.text == shown(catalogs, "en", "quick_log.title")
    assert card.text.splitlines() == [
        shown(catalogs, "en", "flow.summary_title", title="Quick log"),
        f"Note: {EN}",
        "Type: Meeting",
        "When: " + when_text(NOW),
        "Deal amount: CN¥50,000",
        "Follow-up: " + when_text(datetime(2025, 1, 14, 7, 0, tzinfo=UTC)),
        "New customer: Zhang Wei",
        "Company: Acme",
        "Phones: 138 0013 8000",
        "Email: —",
    ]
    assert card.button_labels == ["✅ Save", "✏️ Edit a field", "✖️ Cancel"]
    await admin.press("✅ Save", message=card)
    saved = (await admin.reply()).text
    assert saved.splitlines()[:2] == [
        shown(catalogs, "en", "quick_log.saved_customer", name="Zhang Wei"),
        shown(catalogs, "en", "quick_log.saved_deal", title="50 units"),
    ]
    (customer,) = rows(db_url, Customer)
    assert (customer.name, customer.company) == ("Zhang Wei", "Acme")
    assert [p.e164 for p in rows(db_url, CustomerPhone)] == ["+8613800138000"]
    (note,) = rows(db_url, Interaction)
    assert (note.customer_id, note.kind, note.summary) == (customer.id, "meeting", EN)
    (deal,) = rows(db_url, Deal)
    assert (deal.customer_id, deal.title, deal.amount, deal.currency, deal.stage) == (
        customer.id,
        "50 units",
        Decimal("50000.00"),
        "CNY",
        "lead",
    )
    (reminder,) = rows(db_url, Reminder)
    assert reminder.due_at.replace(tzinfo=UTC) == datetime(2025, 1, 14, 7, 0, tzinfo=UTC)
    assert (reminder.exact_time, reminder.customer_id) == (True, customer.id)


async def test_log_in_chinese_is_a_visit(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    li = await join(emu, admin, 2002, "李娜", language_code="zh-hans")
    await li.send(f"/log {ZH}")
    title, card = await li.replies(2)
    assert title.text == shown(catalogs, "zh", "quick_log.title")
    lines = card.text.splitlines()
    assert "方式：拜访" in lines
    assert "商机金额：¥50,000" in lines
    assert "下次跟进：" + when_text(datetime(2025, 1, 21, 7, 0, tzinfo=UTC), "zh") in lines
    assert "新客户：张伟" in lines
    await li.press("✅ 保存", message=card)
    await li.reply()
    (customer,) = rows(db_url, Customer)
    assert (customer.name, customer.company) == ("张伟", "Acme")
    (note,) = rows(db_url, Interaction)
    assert (note.kind, note.summary) == ("visit", ZH)
    # a visit: the customer's satisfaction is asked as after /note, scored with a comment
    ask = await li.reply()
    assert ask.text == shown(catalogs, "zh", "satisfaction.ask.visit", label="张伟")
    await li.press(shown(catalogs, "zh", "ticket.score.4"), message=ask)
    await li.edited(ask)
    await li.replies(2)  # the title and the comment question
    await li.send("很满意新报价")
    assert (await li.reply()).text == shown(catalogs, "zh", "satisfaction.kept", score=4)
    (score,) = rows(db_url, SatisfactionScore)
    assert (score.source_kind, score.source_id, score.score, score.comment) == (
        "visit",
        note.id,
        4,
        "很满意新报价",
    )
    (deal,) = rows(db_url, Deal)
    assert (deal.title, deal.amount) == ("50台", Decimal("50000.00"))
    (reminder,) = rows(db_url, Reminder)
    assert reminder.due_at.replace(tzinfo=UTC) == datetime(2025, 1, 21, 7, 0, tzinfo=UTC)


async def test_log_cancel_creates_nothing(admin: ScriptedUser, catalogs: Catalogs, db_url: str):
    await admin.send(f"/log {EN}")
    _, card = await admin.replies(2)
    await admin.press("✖️ Cancel", message=card)
    assert (await admin.edited(card)).text.endswith(shown(catalogs, "en", "cancel.done"))
    for model in (Customer, Interaction, Deal, Reminder):
        assert rows(db_url, model) == []


async def test_log_with_a_known_phone_uses_that_customer(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    await admin.send("/log Met Zhang Wei at Acme, 13800138000")
    await admin.replies(2)
    await admin.press("✅ Save")
    await admin.reply()
    await admin.send("/log called Mr Zhang, +86 138 0013 8000, tomorrow")
    _, card = await admin.replies(2)
    assert "Customer: Zhang Wei · Acme" in card.text.splitlines()
    await admin.press("✅ Save", message=card)
    saved = (await admin.reply()).text
    assert shown(catalogs, "en", "quick_log.saved_customer", name="Zhang Wei") not in saved
    (customer,) = rows(db_url, Customer)
    notes = rows(db_url, Interaction)
    assert [(n.customer_id, n.kind) for n in notes] == [
        (customer.id, "meeting"),
        (customer.id, "call"),
    ]
    (reminder,) = rows(db_url, Reminder)
    assert reminder.exact_time is False


async def test_log_edit_adds_what_the_message_lacked(admin: ScriptedUser, db_url: str):
    await admin.send("/log Met Li Na at Beta")
    _, card = await admin.replies(2)
    assert "Follow-up: —" in card.text.splitlines()
    await admin.press("✏️ Edit a field", message=card)
    await admin.reply()
    await admin.press("Follow-up")
    await admin.reply()
    await admin.send("next Tue 3pm")
    card = await admin.reply()
    assert "Follow-up: " + when_text(datetime(2025, 1, 14, 7, 0, tzinfo=UTC)) in card.text
    await admin.press("✅ Save", message=card)
    await admin.reply()
    assert len(rows(db_url, Reminder)) == 1
    assert rows(db_url, Deal) == []


async def test_log_without_a_customer_asks_which_one(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    await admin.send("/log Met Zhang Wei at Acme")
    await admin.replies(2)
    await admin.press("✅ Save")
    await admin.reply()
    await admin.send("/log talked about the price, follow up tomorrow")
    _, ask = await admin.replies(2)
    assert ask.text == shown(catalogs, "en", "quick_log.ask.customer")
    await admin.press("Zhang Wei · Acme", message=ask)
    card = (await admin.reply()).text
    assert "Customer: Zhang Wei · Acme" in card
    await admin.press("✅ Save")
    await admin.reply()
    assert len(rows(db_url, Customer)) == 1
    assert len(rows(db_url, Interaction)) == 2


PAST_FOLLOW_UPS = [  # (language, message, the past follow-up as written, typed again)
    ("en", "/log Met Zhang Wei at Acme, follow up yesterday 3pm", "tomorrow 3pm"),
    ("en", "Met Zhang Wei at Acme, follow up yesterday 3pm", "tomorrow 3pm"),  # plain text
    ("zh", "/log 拜访了Acme的张伟，昨天下午3点跟进", "明天下午3点"),
    ("zh", "拜访了Acme的张伟，昨天下午3点跟进", "明天下午3点"),
]


async def save_follow_up(
    user: ScriptedUser, catalogs: Catalogs, lang: str, card: BotMessage, db_url: str, due: datetime
) -> None:
    """Save the card: one note that happened now, one reminder at `due`."""
    await user.press(shown(catalogs, lang, "flow.button.save"), message=card)
    await user.reply()
    (reminder,) = rows(db_url, Reminder)
    assert reminder.due_at.replace(tzinfo=UTC) == due
    (note,) = rows(db_url, Interaction)
    assert note.happened_at.replace(tzinfo=UTC) == NOW


@pytest.mark.parametrize(("lang", "message", "typed"), PAST_FOLLOW_UPS)
async def test_log_follow_up_in_the_past_says_so_and_asks_again(
    emu: BotApiEmulator,
    admin: ScriptedUser,
    catalogs: Catalogs,
    db_url: str,
    lang: str,
    message: str,
    typed: str,
):
    user = admin if lang == "en" else await join(emu, admin, 2002, "李娜", language_code="zh-hans")
    await user.send(message)
    _, ask = await user.replies(2)
    past = when_text(datetime(2025, 1, 12, 7, 0, tzinfo=UTC), lang)  # yesterday 15:00
    assert ask.text.startswith(  # then what the card holds now: no follow-up
        "\n\n".join(
            [
                shown(catalogs, lang, "quick_log.follow_up_in_past", when=past),
                shown(catalogs, lang, "quick_log.ask.follow_up"),
            ]
        )
    )
    await user.send(typed)
    card = await user.reply()
    due = datetime(2025, 1, 14, 7, 0, tzinfo=UTC)  # tomorrow 15:00
    assert when_text(due, lang) in card.text
    assert past not in card.text  # not taken as when it happened either
    await save_follow_up(user, catalogs, lang, card, db_url, due)


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        ("en", "/log Met Zhang Wei at Acme, follow up Monday"),
        ("zh", "/log 拜访了Acme的张伟，周一跟进"),
        ("zh", "/log 拜访了Acme的张伟，星期一再联系"),
    ],
)
async def test_log_follow_up_on_todays_weekday_is_next_week(
    emu: BotApiEmulator,
    admin: ScriptedUser,
    catalogs: Catalogs,
    db_url: str,
    lang: str,
    message: str,
):
    """It is Monday: "周一跟进" means next Monday, in Chinese as in English, never "already
    past" (a Chinese weekday used to resolve to today and was refused)."""
    user = admin if lang == "en" else await join(emu, admin, 2002, "李娜", language_code="zh-hans")
    await user.send(message)
    _, card = await user.replies(2)
    due = datetime(2025, 1, 20, 1, 0, tzinfo=UTC)  # next Monday 09:00 in Shanghai
    follow_up = shown(catalogs, lang, "quick_log.field.follow_up")
    shown_date = format_date(date(2025, 1, 20), lang=lang)
    assert f"{follow_up}: {shown_date}" in card.text.replace("：", ": ")
    assert shown(catalogs, lang, "quick_log.ask.follow_up") not in card.text
    await save_follow_up(user, catalogs, lang, card, db_url, due)


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_log_sent_twice_schedules_the_follow_up_once(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str, lang: str
):
    """Same customer, same time, same text: a second note, but no second reminder."""
    user = admin if lang == "en" else await join(emu, admin, 2002, "李娜", language_code="zh-hans")
    for _ in range(2):
        await user.send(f"/log {EN if lang == 'en' else ZH}")
        await user.replies(2)
        await user.press(shown(catalogs, lang, "flow.button.save"))
        await user.replies(1 if lang == "en" else 2)  # a visit: the satisfaction question too
    assert len(rows(db_url, Customer)) == 1  # the second found by its phone
    assert len(rows(db_url, Interaction)) == 2
    (reminder,) = rows(db_url, Reminder)
    day = 14 if lang == "en" else 21  # next Tue / 下周二 (Tuesday of next week)
    assert reminder.due_at.replace(tzinfo=UTC) == datetime(2025, 1, day, 7, 0, tzinfo=UTC)


async def test_log_without_text_explains_with_an_example(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    await admin.send("/log")
    assert (await admin.reply()).text == shown(catalogs, "en", "quick_log.usage")
    assert rows(db_url, Interaction) == []
