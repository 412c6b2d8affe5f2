"""/note end to end: both languages, dates echoed in words, follow-ups by button and text, voice
summaries, Back / Edit / cancel, the customer card's button, a shared location, restarts and
re-delivered updates. "Now" is pinned to Mon 13 Jan 2025 10:00 in Asia/Shanghai."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot import scheduler
from bot.emulator import BotApiEmulator
from handlers.formatting import format_date, format_when
from handlers.i18n import Catalogs
from storage.customers import CustomerCreate, create_customer
from storage.db import Database
from storage.interactions import InteractionCreate, create_interaction
from storage.members import get_member_by_telegram_id
from storage.models import Attachment, Interaction, Reminder
from storage.satisfaction_models import SatisfactionScore
from tests.conftest import ADMIN_ID, RunningBot
from tests.e2e.helpers import answer, join, rows, shown
from tests.e2e.user import ScriptedUser

# Clocks here are pinned past the digests' hour: no ticker may deliver mid-test.
pytestmark = pytest.mark.usefixtures("parked_tickers")

NOW = datetime(2025, 1, 13, 2, 0, tzinfo=UTC)  # Mon 13 Jan 2025 10:00 in Shanghai
TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
async def pinned_clock(running_bot: RunningBot, admin: ScriptedUser) -> None:
    """Pins "now"; the admin says hello first, so their member row exists for the factories."""
    assert running_bot.application is not None
    running_bot.application.bot_data["services"].clock = lambda: NOW
    await admin.send("/help")
    await admin.reply()


def add_customer(db_url: str, name: str, company: str | None = None, telegram_id: int = ADMIN_ID):
    db = Database(db_url)

    def create(session):
        actor = get_member_by_telegram_id(session, telegram_id=telegram_id)
        customer = create_customer(
            session, actor=actor, data=CustomerCreate(name=name, company=company)
        )
        return customer.id

    customer_id = db.run_sync(create)
    db.close()
    return customer_id


def add_visit(db_url: str, customer_id: int, latitude: float, longitude: float) -> None:
    db = Database(db_url)

    def create(session):
        actor = get_member_by_telegram_id(session, telegram_id=ADMIN_ID)
        data = InteractionCreate(
            customer_id=customer_id,
            kind="visit",
            happened_at=NOW,
            latitude=latitude,
            longitude=longitude,
        )
        create_interaction(session, actor=actor, data=data)

    db.run_sync(create)
    db.close()


def when_text(at: datetime, lang: str = "en") -> str:
    return format_when(at, tz=TZ, lang=lang)


async def press(user: ScriptedUser, label: str) -> str:
    await user.press(label)
    return (await user.reply()).text


async def start_note(user: ScriptedUser, customer: str = "Zhang") -> None:
    """/note, search the customer and pick the first match: the type question is next."""
    await user.send("/note")
    await user.replies(2)
    await answer(user, customer)
    await user.press(customer)
    await user.reply()


async def test_note_with_follow_up_by_text(admin: ScriptedUser, catalogs: Catalogs, db_url: str):
    customer_id = add_customer(db_url, "Zhang Wei", "Acme")
    await admin.send("/note")
    title, ask = await admin.replies(2)
    assert title.text == shown(catalogs, "en", "note.title")
    assert ask.text == shown(catalogs, "en", "note.ask.customer")
    assert "Zhang Wei · Acme" in ask.button_labels  # recently touched, before typing
    assert await press(admin, "Zhang Wei · Acme") == shown(catalogs, "en", "note.ask.kind")
    assert await press(admin, "Meeting") == shown(catalogs, "en", "note.ask.happened")
    assert await answer(admin, "yesterday 4pm") == shown(catalogs, "en", "note.ask.summary")
    await answer(admin, "Showed the X2 catalogue")
    assert (await answer(admin, "Wants 50 units")).startswith(
        shown(catalogs, "en", "note.ask.follow_up")
    )
    summary = await answer(admin, "next Tue 3pm")
    assert summary.splitlines() == [
        shown(catalogs, "en", "flow.summary_title", title="New note"),
        "Customer: Zhang Wei · Acme",
        "Type: Meeting",
        "When: " + when_text(datetime(2025, 1, 12, 8, 0, tzinfo=UTC)),
        "Summary: Showed the X2 catalogue",
        "Outcome / needs: Wants 50 units",
        "Follow-up: " + when_text(datetime(2025, 1, 14, 7, 0, tzinfo=UTC)),
    ]
    assert "Sun 12 Jan" in summary
    assert "16:00" in summary
    await admin.press("✅ Save")
    saved = (await admin.reply()).text
    follow_up = when_text(datetime(2025, 1, 14, 7, 0, tzinfo=UTC))
    assert "Tue 14 Jan" in follow_up
    assert "15:00" in follow_up
    assert saved == "\n".join(
        [
            shown(catalogs, "en", "note.saved"),
            shown(catalogs, "en", "note.saved_follow_up", when=follow_up),
        ]
    )
    (note,) = rows(db_url, Interaction)
    assert (note.customer_id, note.kind, note.summary, note.outcome) == (
        customer_id,
        "meeting",
        "Showed the X2 catalogue",
        "Wants 50 units",
    )
    assert note.happened_at.replace(tzinfo=UTC) == datetime(2025, 1, 12, 8, 0, tzinfo=UTC)
    (reminder,) = rows(db_url, Reminder)
    assert reminder.due_at.replace(tzinfo=UTC) == datetime(2025, 1, 14, 7, 0, tzinfo=UTC)
    assert (reminder.exact_time, reminder.customer_id, reminder.text) == (
        True,
        customer_id,
        "Showed the X2 catalogue",
    )
    assert reminder.dedupe_key == f"note:{note.owner_id}:{note.id}"


async def test_note_in_chinese(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    li = await join(emu, admin, 2002, "李娜", language_code="zh-hans")
    add_customer(db_url, "张伟", "华为", telegram_id=2002)
    await li.send("/note")
    title, ask = await li.replies(2)
    assert (title.text, ask.text) == (
        shown(catalogs, "zh", "note.title"),
        shown(catalogs, "zh", "note.ask.customer"),
    )
    await press(li, "张伟 · 华为")
    await press(li, "拜访")
    await answer(li, "昨天下午4点")
    await answer(li, "介绍了新产品")
    await li.press("跳过 »")
    await li.reply()
    summary = await answer(li, "下周二下午3点")
    due = datetime(2025, 1, 21, 7, 0, tzinfo=UTC)
    assert summary.splitlines()[1:] == [
        "客户：张伟 · 华为",
        "方式：拜访",
        "时间：" + when_text(datetime(2025, 1, 12, 8, 0, tzinfo=UTC), "zh"),
        "摘要：介绍了新产品",
        "下次跟进：" + when_text(due, "zh"),
    ]
    await li.press("✅ 保存")
    saved = (await li.reply()).text
    assert saved.endswith(shown(catalogs, "zh", "note.saved_follow_up", when=when_text(due, "zh")))
    (reminder,) = rows(db_url, Reminder)
    assert reminder.due_at.replace(tzinfo=UTC) == due


async def test_future_happened_date_is_refused_and_asked_again(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    add_customer(db_url, "Zhang Wei")
    await start_note(admin)
    await press(admin, "Call")
    reply = await answer(admin, "tomorrow 4pm")
    assert reply == "\n\n".join(
        [shown(catalogs, "en", "parse.when.in_future"), shown(catalogs, "en", "note.ask.happened")]
    )
    assert await press(admin, "Now") == shown(catalogs, "en", "note.ask.summary")


async def test_voice_summary_is_stored_as_an_attachment(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    add_customer(db_url, "Zhang Wei")
    await start_note(admin)
    await press(admin, "Visit")
    await press(admin, "Now")
    await admin.send_voice()
    assert (await admin.reply()).text == shown(catalogs, "en", "note.ask.notes")
    await admin.press("Review ✓")
    summary = (await admin.reply()).text
    assert "Summary: " + shown(catalogs, "en", "flow.voice_note") in summary
    await press(admin, "✅ Save")
    (note,) = rows(db_url, Interaction)
    (attachment,) = rows(db_url, Attachment)
    assert (attachment.kind, attachment.interaction_id) == ("voice", note.id)
    assert rows(db_url, Reminder) == []


async def test_follow_up_tomorrow_button_is_a_date_without_time(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    add_customer(db_url, "Zhang Wei")
    await start_note(admin)
    await press(admin, "Email")
    await press(admin, "Now")
    await answer(admin, "Sent the price list")
    await admin.press("Skip »")
    await admin.reply()
    summary = await press(admin, "Tomorrow")
    assert "Follow-up: " + format_date(date(2025, 1, 14), lang="en") in summary
    saved = await press(admin, "✅ Save")
    assert saved.endswith(shown(catalogs, "en", "note.saved_follow_up", when="Tue 14 Jan 2025"))
    (reminder,) = rows(db_url, Reminder)
    assert reminder.due_at.replace(tzinfo=UTC) == datetime(2025, 1, 14, 1, 0, tzinfo=UTC)
    assert reminder.exact_time is False


async def test_pick_a_date_asks_for_typed_text(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    add_customer(db_url, "Zhang Wei")
    await start_note(admin)
    await press(admin, "Call")
    await press(admin, "Now")
    await answer(admin, "Called about the order")
    await admin.press("Skip »")
    await admin.reply()
    reply = await press(admin, "📅 Pick a date")
    assert reply.startswith(shown(catalogs, "en", "note.follow_up.type_a_date"))
    summary = await answer(admin, "in 3 days")
    assert "Follow-up: Thu 16 Jan 2025" in summary


@pytest.mark.parametrize("label", ["No follow-up", "Skip »"])
async def test_no_follow_up_creates_no_reminder(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str, label: str
):
    add_customer(db_url, "Zhang Wei")
    await start_note(admin)
    await press(admin, "Message")
    await press(admin, "Now")
    await answer(admin, "Sent the brochure on WeChat")
    await admin.press("Skip »")
    await admin.reply()
    summary = await press(admin, label)
    assert "Follow-up" not in summary
    saved = await press(admin, "✅ Save")
    assert saved == shown(catalogs, "en", "note.saved")
    assert len(rows(db_url, Interaction)) == 1
    assert rows(db_url, Reminder) == []


async def test_back_edit_and_cancel(admin: ScriptedUser, catalogs: Catalogs, db_url: str):
    add_customer(db_url, "Zhang Wei")
    await start_note(admin)
    await press(admin, "Call")
    back = await press(admin, "« Back")
    assert back.startswith(shown(catalogs, "en", "note.ask.kind"))
    assert "Now: Call" in back
    await press(admin, "Visit")
    await press(admin, "Now")
    await answer(admin, "First visit")
    await admin.press("Review ✓")
    await admin.reply()
    await press(admin, "✏️ Edit a field")
    await press(admin, "Summary")
    summary = await answer(admin, "First visit, met the buyer")
    assert "Type: Visit" in summary
    assert "Summary: First visit, met the buyer" in summary
    assert await answer(admin, "/cancel") == shown(catalogs, "en", "cancel.done")
    assert rows(db_url, Interaction) == []


async def test_log_a_note_button_on_a_customer_starts_with_the_customer(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    await admin.send("/newcustomer")
    await admin.replies(2)
    await answer(admin, "Zhang Wei")
    await admin.press("Review ✓")
    await admin.reply()
    await press(admin, "✅ Save")
    await admin.press("📝 Log a note")
    title, ask = await admin.replies(2)
    assert (title.text, ask.text) == (
        shown(catalogs, "en", "note.title"),
        shown(catalogs, "en", "note.ask.kind"),
    )
    await press(admin, "Call")
    await press(admin, "Now")
    await answer(admin, "Intro call")
    await admin.press("Review ✓")
    assert "Customer: Zhang Wei" in (await admin.reply()).text
    await press(admin, "✅ Save")
    (note,) = rows(db_url, Interaction)
    assert note.summary == "Intro call"


async def test_location_starts_a_visit_with_the_nearest_customer_first_then_asks_satisfaction(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    near = add_customer(db_url, "Zhang Wei", "Acme")
    far = add_customer(db_url, "Li Na", "Beta")
    add_customer(db_url, "Wang Fang")  # never visited: offered after, as recently touched
    add_visit(db_url, far, 31.2400, 121.5000)  # about 2.7 km away
    add_visit(db_url, near, 31.2315, 121.4737)  # about 120 m away
    await admin.share_location(31.2304, 121.4737)
    title, ask = await admin.replies(2)
    assert title.text == shown(catalogs, "en", "note.title")
    assert ask.text == shown(catalogs, "en", "note.ask.customer")
    assert ask.button_labels[:3] == [
        "Zhang Wei · Acme (120 m)",
        "Li Na · Beta (2.7 km)",
        "Wang Fang",
    ]
    assert await press(admin, "Zhang Wei · Acme (120 m)") == shown(
        catalogs, "en", "note.ask.happened"
    )
    await press(admin, "Now")
    await answer(admin, "Checked the shelf display")
    await admin.press("Review ✓")
    await admin.reply()
    await press(admin, "✅ Save")
    note = rows(db_url, Interaction)[-1]
    assert (note.customer_id, note.kind, note.latitude, note.longitude) == (
        near,
        "visit",
        31.2304,
        121.4737,
    )
    # After a visit, the customer's satisfaction: a score, the comment skipped.
    ask = await admin.reply()
    assert ask.text == shown(catalogs, "en", "satisfaction.ask.visit", label="Zhang Wei")
    await admin.press("5 ⭐⭐⭐⭐⭐", message=ask)
    await admin.edited(ask)
    await admin.replies(2)  # the title and the comment question
    assert await press(admin, "Skip »") == shown(catalogs, "en", "satisfaction.kept", score=5)
    (score,) = rows(db_url, SatisfactionScore)
    assert (score.source_kind, score.source_id, score.score, score.comment) == (
        "visit",
        note.id,
        5,
        None,
    )


async def test_note_continues_after_a_restart(
    admin: ScriptedUser, running_bot: RunningBot, db_url: str
):
    add_customer(db_url, "Zhang Wei")
    await start_note(admin)
    await press(admin, "Meeting")
    await running_bot.restart()
    assert running_bot.application is not None
    running_bot.application.bot_data["services"].clock = lambda: NOW
    await answer(admin, "yesterday 4pm")  # the "when" step, where we were
    await answer(admin, "Lunch with the buyer")
    await admin.press("Review ✓")
    summary = (await admin.reply()).text
    assert "Type: Meeting" in summary
    assert "Summary: Lunch with the buyer" in summary


async def test_redelivered_answer_changes_nothing(
    emu: BotApiEmulator, admin: ScriptedUser, db_url: str
):
    add_customer(db_url, "Zhang Wei")
    await start_note(admin)
    await press(admin, "Meeting")
    await answer(admin, "Now")
    when_update = emu.update_history()[-1]["update_id"]
    await answer(admin, "Lunch with the buyer")
    sent = len(emu.bot_messages(admin.chat_id))
    emu.redeliver(when_update)
    await admin.press("Skip »")  # outcome: answered after the repeat was seen
    await admin.reply()
    assert len(emu.bot_messages(admin.chat_id)) == sent + 1
    await admin.press("Skip »")
    summary = (await admin.reply()).text
    assert "Summary: Lunch with the buyer" in summary
    await press(admin, "✅ Save")
    assert len(rows(db_url, Interaction)) == 1


async def test_follow_up_from_a_note_is_delivered_when_due(
    admin: ScriptedUser, running_bot: RunningBot, catalogs: Catalogs, db_url: str
):
    add_customer(db_url, "Zhang Wei", "Acme")
    await start_note(admin)
    await press(admin, "Call")
    await press(admin, "Now")
    await answer(admin, "Quoted 50 units")
    await admin.press("Skip »")
    await admin.reply()
    await answer(admin, "tomorrow 10am")
    await admin.press("✅ Save")
    await admin.reply()
    app = running_bot.application
    assert app is not None
    assert await scheduler.deliver_due(app) == 0  # not due yet
    app.bot_data["services"].clock = lambda: datetime(2025, 1, 14, 2, 0, tzinfo=UTC)
    assert await scheduler.deliver_due(app) == 1
    reminder_message = await admin.reply()
    assert "Zhang Wei" in reminder_message.text
    assert "Quoted 50 units" in reminder_message.text
    assert "Done" in " ".join(reminder_message.button_labels)
    (reminder,) = rows(db_url, Reminder)
    assert reminder.status == "sent"
    assert await scheduler.deliver_due(app) == 0  # once
