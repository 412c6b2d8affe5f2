"""Follow-up reminders end to end: delivery with buttons, Done, Snooze, /reminders, /remind,
downtime, 429 and 403 from the API, forged buttons. The ticker is parked: each test runs the
delivery pass itself (`scheduler.deliver_due`) with the services clock pinned."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from bot import scheduler
from bot.app import CrmApplication, services_of
from bot.emulator import BotApiEmulator
from handlers.callback_data import ReminderAction, pack
from handlers.formatting import format_when
from handlers.i18n import Catalogs
from storage.db import Database
from storage.interactions import InteractionCreate, create_interaction
from storage.members import get_member_by_telegram_id, set_member_language
from storage.models import Customer, Draft, Member, Reminder, utcnow
from storage.reminders import create_follow_up
from tests.conftest import ADMIN_ID, RunningBot
from tests.e2e.helpers import eventually, join, retime, shown
from tests.e2e.user import ScriptedUser
from tests.factories import make_customer, make_member

TZ = ZoneInfo("Asia/Shanghai")  # the test config's team timezone
# A fixed "now" (a Wednesday, 14:00 in Shanghai) so due times and snoozes are exact.
NOW = datetime(2031, 1, 15, 6, 0, tzinfo=UTC)
LI_ID = 2002  # a Chinese-speaking salesperson


# Reminders and digests are delivered when a test says so: with the clock pinned past the
# digests' hour, a digest ticker left running sent one in the middle of a test.
pytestmark = pytest.mark.usefixtures("parked_tickers")


@pytest.fixture
def app(running_bot: RunningBot) -> CrmApplication:
    assert running_bot.application is not None
    services_of(running_bot.application).clock = lambda: NOW
    return running_bot.application


async def registered(user: ScriptedUser) -> None:
    """The admin becomes a member on first contact; /reminders with nothing due says so."""
    await user.send("/reminders")
    await user.reply()


def admin_member(session: Session) -> Member:
    member = get_member_by_telegram_id(session, telegram_id=ADMIN_ID)
    assert member is not None
    return member


def add_follow_up(
    database: Database,
    *,
    due: datetime = NOW - timedelta(minutes=1),
    text: str = "Call back about the quote",
    customer: str | None = "Zhang Wei",
    note: str | None = "Wants 50 units in Q3",
    actor: Callable[[Session], Member] = admin_member,
) -> int:
    def add(session: Session) -> int:
        member = actor(session)
        customer_id = None
        if customer is not None:
            customer_id = make_customer(session, owner=member, name=customer).id
            assert customer_id is not None
            if note is not None:
                data = InteractionCreate(customer_id, "call", NOW - timedelta(days=2), note)
                create_interaction(session, actor=member, data=data)
        reminder = create_follow_up(
            session,
            actor=member,
            due_at=due,
            text=text,
            customer_id=customer_id,
            exact_time=True,
        )
        assert reminder.id is not None
        return reminder.id

    return database.run_sync(add)


def li_member(session: Session) -> Member:
    member = get_member_by_telegram_id(session, telegram_id=LI_ID)
    assert member is not None
    return member


def row(database: Database, reminder_id: int) -> Reminder:
    return database.read_sync(lambda s: s.get_one(Reminder, reminder_id))


def sends_to(emu: BotApiEmulator, chat_id: int, containing: str) -> int:
    calls = [p for m, p in emu.calls if m == "sendMessage" and p.get("chat_id") == chat_id]
    return sum(containing in str(params.get("text")) for params in calls)


def when_en(at: datetime) -> str:
    return format_when(at, tz=TZ, lang="en", now=NOW)


def card_when(at: datetime) -> str:  # flow cards use the real clock: 2031 shows its year
    return format_when(at, tz=TZ, lang="en")


async def delivered(app: CrmApplication, admin: ScriptedUser, database: Database, **kw: Any):
    await registered(admin)
    reminder_id = add_follow_up(database, **kw)
    assert await scheduler.deliver_due(app) == 1
    return reminder_id, await admin.reply()


async def test_due_follow_up_is_delivered_with_buttons(
    app: CrmApplication, admin: ScriptedUser, database: Database, catalogs: Catalogs
):
    reminder_id, message = await delivered(app, admin, database)
    assert message.text.splitlines() == [
        shown(catalogs, "en", "reminders.heading", when=when_en(NOW - timedelta(minutes=1))),
        "Call back about the quote",
        "Customer: Zhang Wei",
        "Last note: Wants 50 units in Q3",
    ]
    assert message.button_labels == ["✅ Done", "💤 Snooze", "👤 Open customer", "📝 Log a note"]
    sent = row(database, reminder_id)
    assert (sent.status, sent.sent_at, sent.claimed_by, sent.attempts) == ("sent", NOW, None, 1)
    assert await scheduler.deliver_due(app) == 0


async def test_done_records_completion_and_offers_a_note(
    app: CrmApplication, admin: ScriptedUser, database: Database
):
    reminder_id, message = await delivered(app, admin, database)
    await admin.press("✅ Done", message=message)
    edited = await admin.edited(message)
    assert edited.text.endswith("✅ Done.")
    assert edited.button_labels == ["📝 Log a note"]
    assert row(database, reminder_id).status == "done"
    await admin.press("📝 Log a note", message=edited)
    assert await admin.reply()  # the note flow (or the customer card) for Zhang Wei


@pytest.mark.parametrize(
    ("label", "until"),
    [
        ("1 hour", NOW + timedelta(hours=1)),
        ("Tomorrow 9:00", datetime(2031, 1, 16, 9, 0, tzinfo=TZ)),
        ("Next Monday 9:00", datetime(2031, 1, 20, 9, 0, tzinfo=TZ)),
    ],
)
async def test_snooze_choice_moves_the_reminder(
    app: CrmApplication, admin: ScriptedUser, database: Database, label: str, until: datetime
):
    reminder_id, message = await delivered(app, admin, database)
    await admin.press("💤 Snooze", message=message)
    options = await admin.edited(message)
    assert options.button_labels == ["1 hour", "Tomorrow 9:00", "Next Monday 9:00", "Pick a time…"]
    await admin.press(label, message=options)
    snoozed = await admin.edited(options)
    assert snoozed.text.endswith(f"💤 Snoozed until {when_en(until)}.")
    assert snoozed.button_labels == ["✅ Done", "💤 Snooze", "👤 Open customer", "📝 Log a note"]
    moved = row(database, reminder_id)
    assert (moved.status, moved.due_at, moved.sent_at is not None) == ("pending", until, True)
    assert await scheduler.deliver_due(app) == 0
    await admin.press("✅ Done", message=snoozed)  # its buttons still work
    assert (await admin.edited(snoozed)).text.endswith("✅ Done.")
    assert row(database, reminder_id).status == "done"


def actions(catalogs: Catalogs, lang: str) -> list[str]:
    keys = ("done", "snooze", "open", "note")
    return [shown(catalogs, lang, f"reminders.button.{key}") for key in keys]


def when_in(lang: str, at: datetime) -> str:
    return format_when(at, tz=TZ, lang=lang, now=NOW)


@pytest.fixture
def speaker(admin: ScriptedUser, emu: BotApiEmulator) -> Callable[[str], Awaitable[ScriptedUser]]:
    """The admin (English), or 李娜, a Chinese-speaking salesperson the admin invited."""

    async def speaking(lang: str) -> ScriptedUser:
        await registered(admin)
        if lang == "en":
            return admin
        return await join(emu, admin, LI_ID, "李娜", language_code="zh-hans")

    return speaking


Delivery = tuple[ScriptedUser, int, Any]


@pytest.fixture
def deliver_in(
    app: CrmApplication, admin: ScriptedUser, emu: BotApiEmulator, database: Database
) -> Callable[[str], Awaitable[Delivery]]:
    """A reminder delivered to the admin (English) or to 李娜, a Chinese salesperson."""

    async def deliver(lang: str) -> Delivery:
        if lang == "en":
            reminder_id, message = await delivered(app, admin, database)
            return admin, reminder_id, message
        # Her Telegram app is in Chinese and she never opened /settings: the reminder, sent
        # with no update at hand, is in Chinese all the same.
        li = await join(emu, admin, LI_ID, "李娜", language_code="zh-hans")
        reminder_id = add_follow_up(
            database, text="回电话谈报价", customer="张伟", actor=li_member
        )
        assert await scheduler.deliver_due(app) == 1
        return li, reminder_id, await li.reply()

    return deliver


async def pick_a_time(user: ScriptedUser, lang: str, message: Any, catalogs: Catalogs) -> None:
    """Snooze, then "Pick a time…": the reminder keeps its buttons while the time is asked."""
    await user.press(shown(catalogs, lang, "reminders.button.snooze"), message=message)
    options = await user.edited(message)
    await user.press(shown(catalogs, lang, "reminders.snooze.ask"), message=options)
    assert (await user.edited(options)).button_labels == actions(catalogs, lang)
    title, ask = await user.replies(2)
    assert title.text == shown(catalogs, lang, "snooze.title")
    assert ask.text == shown(catalogs, lang, "snooze.ask.when")


@pytest.mark.parametrize(
    ("lang", "typed", "until"),
    [
        ("en", "in 2 hours", NOW + timedelta(hours=2)),
        ("en", "tomorrow 3pm", datetime(2031, 1, 16, 15, 0, tzinfo=TZ)),
        ("zh", "1分钟后", NOW + timedelta(minutes=1)),
        ("zh", "明天上午9点", datetime(2031, 1, 16, 9, 0, tzinfo=TZ)),
    ],
)
async def test_snooze_typed_time_takes_effect_at_once_and_keeps_buttons(
    deliver_in: Callable[[str], Awaitable[Delivery]],
    database: Database,
    catalogs: Catalogs,
    lang: str,
    typed: str,
    until: datetime,
):
    user, reminder_id, message = await deliver_in(lang)
    await pick_a_time(user, lang, message, catalogs)
    await user.send(typed)
    echoed = await user.reply()  # no summary card and no Save: the time is echoed
    assert echoed.text == shown(catalogs, lang, "reminders.snoozed", when=when_in(lang, until))
    snoozed = row(database, reminder_id)
    assert (snoozed.status, snoozed.due_at) == ("pending", until)
    assert database.read_sync(lambda s: s.exec(select(Draft)).first()) is None


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_snooze_typed_time_in_the_past_asks_again_and_cancel_keeps_it(
    deliver_in: Callable[[str], Awaitable[Delivery]],
    database: Database,
    catalogs: Catalogs,
    lang: str,
):
    user, reminder_id, message = await deliver_in(lang)
    due = row(database, reminder_id).due_at
    await pick_a_time(user, lang, message, catalogs)
    await user.send("yesterday 3pm" if lang == "en" else "昨天下午3点")
    again = await user.reply()
    assert again.text.startswith(shown(catalogs, lang, "parse.when.in_past"))
    assert again.text.endswith(shown(catalogs, lang, "snooze.ask.when"))
    await user.send("/cancel")
    assert shown(catalogs, lang, "cancel.done") in (await user.reply()).text
    assert (row(database, reminder_id).status, row(database, reminder_id).due_at) == ("sent", due)


async def test_reminder_due_while_stopped_is_delivered_once_after_restart_saying_late(
    running_bot: RunningBot,
    admin: ScriptedUser,
    database: Database,
    emu: BotApiEmulator,
    monkeypatch: pytest.MonkeyPatch,
):
    await registered(admin)
    await running_bot.stop()
    due = utcnow() - timedelta(hours=3)
    reminder_id = add_follow_up(database, due=due, text="Send the contract")
    retime(monkeypatch, scheduler.DELIVER_JOB, every=timedelta(seconds=0.2))  # the real ticker
    app = await running_bot.restart()
    message = await admin.reply()
    late = format_when(due, tz=TZ, lang="en")
    assert message.text.startswith(f"⏰ Late: was due {late}")
    await eventually(lambda: row(database, reminder_id).status == "sent")
    await running_bot.restart()
    assert await scheduler.deliver_due(running_bot.application or app) == 0
    assert sends_to(emu, ADMIN_ID, "Send the contract") == 1


async def test_429_delays_the_reminder_but_delivers_it_once(
    app: CrmApplication, admin: ScriptedUser, database: Database, emu: BotApiEmulator
):
    await registered(admin)
    reminder_id = add_follow_up(database, text="Flooded")
    emu.faults.fail(
        "sendMessage",
        error_code=429,
        description="Too Many Requests: retry after 1",
        retry_after=1,
    )
    sender = scheduler.state_of(app).sender
    started = sender.monotonic()
    assert await scheduler.deliver_due(app) == 1
    assert sender.monotonic() - started >= 1.0
    assert "Flooded" in (await admin.reply()).text
    assert sends_to(emu, ADMIN_ID, "Flooded") == 2  # the refused try and the delivery
    assert sum("Flooded" in m.text for m in emu.bot_messages(ADMIN_ID)) == 1
    assert row(database, reminder_id).status == "sent"


async def test_5xx_is_retried_with_backoff_recorded_in_the_database(
    app: CrmApplication, admin: ScriptedUser, database: Database, emu: BotApiEmulator
):
    await registered(admin)
    reminder_id = add_follow_up(database, text="Outage")
    emu.faults.fail("sendMessage", error_code=502, description="Bad Gateway")
    assert await scheduler.deliver_due(app) == 0
    waiting = row(database, reminder_id)
    assert (waiting.status, waiting.attempts, waiting.claimed_by) == ("pending", 1, None)
    assert waiting.next_attempt_at == NOW + scheduler.BACKOFF_FIRST
    assert await scheduler.deliver_due(app) == 0  # not before its retry time
    services_of(app).clock = lambda: NOW + scheduler.BACKOFF_FIRST
    assert await scheduler.deliver_due(app) == 1
    assert "Outage" in (await admin.reply()).text
    assert (row(database, reminder_id).status, row(database, reminder_id).attempts) == ("sent", 2)


async def test_403_marks_member_unreachable_and_sends_nothing_more(
    app: CrmApplication, admin: ScriptedUser, database: Database, emu: BotApiEmulator
):
    await registered(admin)
    first = add_follow_up(database, text="First", due=NOW - timedelta(minutes=2))
    second = add_follow_up(database, text="Second")
    emu.faults.fail(
        "sendMessage", error_code=403, description="Forbidden: bot was blocked by the user"
    )
    assert await scheduler.deliver_due(app) == 0
    assert database.read_sync(admin_member).unreachable_at is not None
    assert [row(database, i).status for i in (first, second)] == ["pending", "pending"]
    assert sends_to(emu, ADMIN_ID, "First") == 1
    assert sends_to(emu, ADMIN_ID, "Second") == 0
    assert await scheduler.deliver_due(app) == 0  # unreachable: nothing is even claimed
    await admin.send("/help")  # writing again makes them reachable: both arrive
    await admin.reply()
    await eventually(lambda: database.read_sync(admin_member).unreachable_at is None)
    assert await scheduler.deliver_due(app) == 2


async def test_blocked_bot_marks_member_unreachable(
    app: CrmApplication, admin: ScriptedUser, database: Database, emu: BotApiEmulator
):
    await registered(admin)
    reminder_id = add_follow_up(database, text="Nobody listens")
    emu.block(ADMIN_ID)
    assert await scheduler.deliver_due(app) == 0
    await eventually(lambda: database.read_sync(admin_member).unreachable_at is not None)
    assert await scheduler.deliver_due(app) == 0
    assert row(database, reminder_id).status == "pending"
    assert not any("Nobody listens" in m.text for m in emu.bot_messages(ADMIN_ID))


async def test_reminders_lists_open_reminders_in_one_message(
    app: CrmApplication, admin: ScriptedUser, database: Database, catalogs: Catalogs
):
    await registered(admin)
    add_follow_up(database, text="Sent one")
    assert await scheduler.deliver_due(app) == 1
    await admin.reply()
    add_follow_up(database, text="Later one", due=NOW + timedelta(days=1), customer=None)
    await admin.send("/reminders")
    listing = await admin.reply()
    late, later = when_en(NOW - timedelta(minutes=1)), when_en(NOW + timedelta(days=1))
    assert listing.text.splitlines() == [
        shown(catalogs, "en", "reminders.list_title", count=2),
        shown(catalogs, "en", "reminders.list_late", number=1, when=late, text="Sent one"),
        shown(catalogs, "en", "reminders.list_item", number=2, when=later, text="Later one"),
    ]
    assert listing.button_labels == ["1. Sent one", "2. Later one"]  # one page: no page row


async def test_reminder_opened_from_the_list_has_its_buttons_and_done_works(
    app: CrmApplication, admin: ScriptedUser, database: Database, catalogs: Catalogs
):
    await registered(admin)
    reminder_id = add_follow_up(database, due=NOW + timedelta(hours=2))
    await admin.send("/reminders")
    listing = await admin.reply()
    await admin.press("1. Call back about the quote", message=listing)
    opened = await admin.reply()
    assert opened.text.splitlines() == [
        shown(catalogs, "en", "reminders.heading", when=when_en(NOW + timedelta(hours=2))),
        "Call back about the quote",
        "Customer: Zhang Wei",
        "Last note: Wants 50 units in Q3",
    ]
    assert opened.button_labels == ["✅ Done", "💤 Snooze", "👤 Open customer", "📝 Log a note"]
    await admin.press("✅ Done", message=opened)
    assert (await admin.edited(opened)).text.endswith("✅ Done.")
    assert row(database, reminder_id).status == "done"


async def test_reminder_opened_from_the_list_snoozes_in_chinese(
    app: CrmApplication,
    emu: BotApiEmulator,
    database: Database,
    catalogs: Catalogs,
):
    user = ScriptedUser(emu, ADMIN_ID, "Ada", language_code="zh")
    await registered(user)
    reminder_id = add_follow_up(database, text="给张伟回电话", customer=None)
    await user.send("/reminders")
    listing = await user.reply()
    assert listing.text.splitlines()[0] == shown(catalogs, "zh", "reminders.list_title", count=1)
    await user.press("1. 给张伟回电话", message=listing)
    opened = await user.reply()
    assert opened.button_labels == ["✅ 已完成", "💤 稍后提醒"]
    await user.press("💤 稍后提醒", message=opened)
    options = await user.edited(opened)
    await user.press(shown(catalogs, "zh", "reminders.snooze.1h"), message=options)
    await user.edited(options)
    assert row(database, reminder_id).due_at == NOW + timedelta(hours=1)


async def test_forged_open_button_for_another_members_reminder_is_not_found(
    app: CrmApplication,
    admin: ScriptedUser,
    database: Database,
    emu: BotApiEmulator,
    catalogs: Catalogs,
):
    await registered(admin)
    add_follow_up(database, text="Mine", customer=None)
    other = add_follow_up(database, text="SECRET theirs", actor=lambda s: make_member(s))
    await admin.send("/reminders")
    listing = await admin.reply()
    earlier = set(emu.callback_answers)
    await admin.press_data(pack(ReminderAction("show", other)), listing)
    await eventually(lambda: set(emu.callback_answers) - earlier)
    (answer,) = [a for i, a in emu.callback_answers.items() if i not in earlier]
    assert answer["text"] == shown(catalogs, "en", "common.not_found")
    assert "SECRET" not in admin.transcript()


async def test_remind_sentence_in_english_echoes_time_and_saves(
    app: CrmApplication, admin: ScriptedUser, database: Database
):
    await registered(admin)
    database.run_sync(lambda s: make_customer(s, owner=admin_member(s), name="Zhang Wei").id)
    await admin.send("/remind call Zhang about the quote tomorrow 10am")
    _title, summary = await admin.replies(2)
    due = datetime(2031, 1, 16, 10, 0, tzinfo=TZ)
    assert summary.text.splitlines()[1:3] == [
        "Reminder: call Zhang about the quote",
        f"When: {card_when(due)}",
    ]
    assert summary.text.splitlines()[3].startswith("Customer: Zhang Wei")
    await admin.press("✅ Save", message=summary)
    assert (await admin.reply()).text == f"⏰ I'll remind you {when_en(due)}."
    saved = database.read_sync(lambda s: s.exec(select(Reminder)).one())
    customer = database.read_sync(lambda s: s.exec(select(Customer)).one())
    assert (saved.text, saved.due_at, saved.customer_id) == (
        "call Zhang about the quote",
        due,
        customer.id,
    )
    assert saved.exact_time


async def test_remind_sentence_in_chinese_finds_time_and_customer(
    app: CrmApplication, admin: ScriptedUser, database: Database
):
    await registered(admin)
    database.run_sync(lambda s: make_customer(s, owner=admin_member(s), name="张伟").id)
    await admin.send("/remind 明天上午10点 给张伟打电话")
    _title, summary = await admin.replies(2)
    due = datetime(2031, 1, 16, 10, 0, tzinfo=TZ)
    assert f"When: {card_when(due)}" in summary.text
    await admin.press("✅ Save", message=summary)
    await admin.reply()
    saved = database.read_sync(lambda s: s.exec(select(Reminder)).one())
    assert (saved.text, saved.due_at, saved.customer_id is not None) == ("给张伟打电话", due, True)


async def test_remind_without_customer_lands_on_summary(
    app: CrmApplication, admin: ScriptedUser, database: Database
):
    await registered(admin)
    await admin.send("/remind renew my visa next week")
    _title, summary = await admin.replies(2)
    assert "Customer: none" in summary.text
    await admin.press("✅ Save", message=summary)
    await admin.reply()
    saved = database.read_sync(lambda s: s.exec(select(Reminder)).one())
    assert (saved.text, saved.customer_id, saved.exact_time) == ("renew my visa", None, False)
    assert saved.due_at == datetime(2031, 1, 20, 9, 0, tzinfo=TZ)  # next Monday, 09:00


@pytest.mark.parametrize(
    ("lang", "sentence", "text", "due"),
    [
        ("en", "/remind task Q01x0 in 1 minute", "task Q01x0", NOW + timedelta(minutes=1)),
        (
            "en",
            "/remind call client 3 at 16:44",
            "call client 3",
            datetime(2031, 1, 15, 16, 44, tzinfo=TZ),
        ),
        ("zh", "/remind 任务Q01x0 1分钟后", "任务Q01x0", NOW + timedelta(minutes=1)),
        (
            "zh",
            "/remind 给客户3打电话 下午4点44分",
            "给客户3打电话",
            datetime(2031, 1, 15, 16, 44, tzinfo=TZ),
        ),
    ],
)
async def test_remind_text_with_a_code_or_number_keeps_it_and_finds_the_time(
    app: CrmApplication,
    speaker: Callable[[str], Awaitable[ScriptedUser]],
    database: Database,
    catalogs: Catalogs,
    lang: str,
    sentence: str,
    text: str,
    due: datetime,
):
    user = await speaker(lang)
    await user.send(sentence)
    _title, summary = await user.replies(2)
    assert format_when(due, tz=TZ, lang=lang) in summary.text  # the time echoed before Save
    await user.press(shown(catalogs, lang, "flow.button.save"), message=summary)
    await user.reply()
    saved = database.read_sync(lambda s: s.exec(select(Reminder)).one())
    assert (saved.text, saved.due_at) == (text, due)


PAST_SENTENCES = {  # (sentence, text kept, the time typed again)
    "en": ("/remind call Sarah yesterday 3pm", "call Sarah", "tomorrow 3pm"),
    "zh": ("/remind 昨天下午3点 给Sarah打电话", "给Sarah打电话", "明天下午3点"),
}


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_remind_with_a_past_time_says_so_and_keeps_the_text(
    app: CrmApplication,
    speaker: Callable[[str], Awaitable[ScriptedUser]],
    database: Database,
    catalogs: Catalogs,
    lang: str,
):
    sentence, text, later = PAST_SENTENCES[lang]
    user = await speaker(lang)
    await user.send(sentence)
    _title, ask = await user.replies(2)
    assert ask.text == "\n\n".join(
        [shown(catalogs, lang, "parse.when.in_past"), shown(catalogs, lang, "remind.ask.when")]
    )
    await user.send(later)  # only the time is typed again
    await user.reply()  # which customer (none is called Sarah)
    await user.press(shown(catalogs, lang, "flow.button.skip"))
    summary = await user.reply()
    await user.press(shown(catalogs, lang, "flow.button.save"), message=summary)
    await user.reply()
    saved = database.read_sync(lambda s: s.exec(select(Reminder)).one())
    assert (saved.text, saved.due_at) == (text, datetime(2031, 1, 16, 15, 0, tzinfo=TZ))


async def test_remind_alone_asks_step_by_step(
    app: CrmApplication, admin: ScriptedUser, database: Database, catalogs: Catalogs
):
    await registered(admin)
    await admin.send("/remind")
    _title, ask = await admin.replies(2)
    assert ask.text == shown(catalogs, "en", "remind.ask.text")
    await admin.send("Prepare the offer")
    assert (await admin.reply()).text == shown(catalogs, "en", "remind.ask.when")
    await admin.send("in 2 hours")
    await admin.reply()
    await admin.press("Skip")
    summary = await admin.reply()
    await admin.press("✅ Save", message=summary)
    await admin.reply()
    saved = database.read_sync(lambda s: s.exec(select(Reminder)).one())
    assert (saved.text, saved.due_at, saved.customer_id) == (
        "Prepare the offer",
        NOW + timedelta(hours=2),
        None,
    )


async def test_forged_button_for_another_members_reminder_is_not_found(
    app: CrmApplication,
    admin: ScriptedUser,
    database: Database,
    emu: BotApiEmulator,
    catalogs: Catalogs,
):
    _, message = await delivered(app, admin, database)
    other = add_follow_up(database, actor=lambda s: make_member(s), customer=None)
    earlier = set(emu.callback_answers)
    await admin.press_data(pack(ReminderAction("done", other)), message)
    await eventually(lambda: set(emu.callback_answers) - earlier)
    (answer,) = [a for i, a in emu.callback_answers.items() if i not in earlier]
    assert answer["text"] == shown(catalogs, "en", "common.not_found")
    assert row(database, other).status == "pending"


async def test_a_language_picked_in_settings_wins_over_the_telegram_app(
    app: CrmApplication,
    admin: ScriptedUser,
    emu: BotApiEmulator,
    database: Database,
    catalogs: Catalogs,
) -> None:
    """李娜's app is in Chinese, but she picked English: her reminders come in English."""
    li = await join(emu, admin, LI_ID, "李娜", language_code="zh-hans")
    database.run_sync(lambda s: set_member_language(s, member_id=li_member(s).id, language="en"))
    add_follow_up(database, text="Call back", customer="Zhang Wei", actor=li_member)
    assert await scheduler.deliver_due(app) == 1
    assert (await li.reply()).button_labels == actions(catalogs, "en")
