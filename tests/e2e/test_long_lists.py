"""Lists at their limits: /deals, /reminders, /today and /week show every record a page at a
time (‹ Prev · 11–20 of 34 · Next ›) in one message edited in place, every page within
Telegram's limits (4,096 characters, 100 buttons), nothing cut; a page button is read again
for whoever presses it, a record added or closed between two presses neither skips nor
repeats one, and forged page data is refused or lands on a page of the presser's own list."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from bot.app import CrmApplication, services_of
from bot.emulator import BotApiEmulator, BotMessage
from handlers.callback_data import ListPage, pack
from handlers.i18n import Catalogs
from storage.customers import CustomerCreate, create_customer
from storage.db import Database
from storage.deals import DealCreate, change_stage, create_deal
from storage.members import get_member_by_telegram_id
from storage.models import Deal, Member
from storage.paging import Cursor, Direction
from storage.parsing import MAX_LENGTHS
from storage.reminders import create_follow_up, mark_done
from tests.conftest import ADMIN_ID, RunningBot
from tests.e2e.helpers import join, shown
from tests.e2e.test_import import answered_text
from tests.e2e.user import ScriptedUser
from tests.factories import make_customer, pk

pytestmark = pytest.mark.usefixtures("nothing_cut")

NOW = datetime(2031, 1, 15, 6, 0, tzinfo=UTC)  # Wednesday 15 Jan, 14:00 in Shanghai
DEALS = 70  # more than the 60 /deals used to read, and 210 buttons on one message
MAX_BUTTONS = 100


# Reminders and digests are delivered when a test says so: with the clock pinned past the
# digests' hour, a digest ticker left running sent one in the middle of a test.
pytestmark = pytest.mark.usefixtures("parked_tickers")


@pytest.fixture
def app(running_bot: RunningBot) -> CrmApplication:
    assert running_bot.application is not None
    services_of(running_bot.application).clock = lambda: NOW
    return running_bot.application


def owner(session: Session, telegram_id: int = ADMIN_ID) -> Member:
    member = get_member_by_telegram_id(session, telegram_id=telegram_id)
    assert member is not None
    return member


def deal_title(i: int) -> str:
    """A title at its maximum length that says which deal it is."""
    return f"deal {i:03d} " + "D" * (MAX_LENGTHS["title"] - 9)


def add_deals(database: Database, count: int, telegram_id: int = ADMIN_ID) -> None:
    def add(session: Session) -> None:
        actor = owner(session, telegram_id)
        for i in range(count):
            customer = create_customer(session, actor=actor, data=CustomerCreate(name=f"C{i}"))
            assert customer.id is not None
            data = DealCreate(
                customer_id=customer.id,
                title=deal_title(i),
                stage=("lead", "proposal", "negotiation")[i % 3],
                amount=Decimal("999999999999"),
                currency="CNY",
            )
            create_deal(session, actor=actor, data=data)

    database.run_sync(add)


def deal_labels(message: BotMessage) -> list[str]:
    return [label for label in message.button_labels if " · deal " in label]


def in_range(catalogs: Catalogs, first: int, last: int, total: int) -> str:
    return shown(catalogs, "en", "paging.range", first=first, last=last, total=total)


def within_limits(message: BotMessage) -> None:
    assert sum(len(row) for row in message.buttons) <= MAX_BUTTONS
    assert not message.text.endswith("…")


async def every_page(
    user: ScriptedUser, first: BotMessage, catalogs: Catalogs
) -> list[BotMessage]:
    """`first` and each page after it, pressing Next › on the same message until there is
    none: the pages a member can reach."""
    pages, page = [first], first
    next_label = shown(catalogs, "en", "paging.next")
    while next_label in page.button_labels:
        await user.press(next_label, message=page)
        page = await user.edited(page)
        pages.append(page)
    return pages


async def registered(user: ScriptedUser) -> None:
    await user.send("/help")
    await user.reply()


async def deals_list(admin: ScriptedUser, database: Database, count: int) -> BotMessage:
    """The admin's /deals with `count` deals: its first page."""
    await registered(admin)
    add_deals(database, count)
    await admin.send("/deals")
    return await admin.reply()


async def test_deals_beyond_a_page_are_all_reachable_by_paging(
    admin: ScriptedUser, database: Database, catalogs: Catalogs
) -> None:
    await registered(admin)
    add_deals(database, DEALS)
    await admin.send("/deals")
    first = await admin.reply()
    assert first.text.splitlines()[0] == shown(catalogs, "en", "deals.title", count=DEALS)
    pages = await every_page(admin, first, catalogs)
    assert len(pages) == 7
    seen: list[str] = []
    for number, page in enumerate(pages, start=1):
        within_limits(page)
        first, last = number * 10 - 9, min(number * 10, DEALS)
        assert in_range(catalogs, first, last, DEALS) in page.button_labels
        seen += deal_labels(page)
    assert len(seen) == DEALS
    assert {label.split(" · ")[1] for label in seen} == {deal_title(i) for i in range(DEALS)}


async def test_deals_prev_goes_back_to_the_page_before(
    admin: ScriptedUser, database: Database, catalogs: Catalogs
) -> None:
    first = await deals_list(admin, database, 15)
    assert shown(catalogs, "en", "paging.prev") not in first.button_labels
    await admin.press(shown(catalogs, "en", "paging.next"), message=first)
    second = await admin.edited(first)
    assert shown(catalogs, "en", "paging.next") not in second.button_labels
    await admin.press(shown(catalogs, "en", "paging.prev"), message=second)
    again = await admin.edited(second)
    assert again.button_labels == first.button_labels


async def test_a_forged_cursor_past_the_end_shows_the_last_page(
    admin: ScriptedUser, database: Database, catalogs: Catalogs
) -> None:
    first = await deals_list(admin, database, 25)
    await admin.press_data(pack(ListPage("deals", Cursor(Direction.AFTER, (99, 0, 0)))), first)
    last = await admin.edited(first)
    assert in_range(catalogs, 16, 25, 25) in last.button_labels
    assert len(deal_labels(last)) == 10


async def test_a_forged_cursor_of_another_shape_shows_the_first_page(
    admin: ScriptedUser, database: Database, catalogs: Catalogs
) -> None:
    first = await deals_list(admin, database, 25)
    await admin.press(shown(catalogs, "en", "paging.next"), message=first)
    second = await admin.edited(first)
    await admin.press_data(pack(ListPage("deals", Cursor(Direction.BEFORE, (5,)))), second)
    again = await admin.edited(second)
    assert again.button_labels == first.button_labels


@pytest.mark.parametrize("data", ["v1:page:deals:x", "v1:page:notes:1", "v1:page:deals:-1"])
async def test_garbage_page_data_is_refused_politely(
    emu: BotApiEmulator, admin: ScriptedUser, database: Database, catalogs: Catalogs, data: str
) -> None:
    first = await deals_list(admin, database, 15)
    assert await answered_text(emu, admin, data, first) == shown(
        catalogs, "en", "common.stale_button"
    )


async def test_a_page_is_read_for_whoever_presses_it(
    emu: BotApiEmulator, admin: ScriptedUser, database: Database, catalogs: Catalogs
) -> None:
    await registered(admin)
    add_deals(database, 15)
    sales = await join(emu, admin, 2002, "Li Na")
    add_deals(database, 12, telegram_id=2002)
    await sales.send("/deals")
    first = await sales.reply()
    await sales.press(shown(catalogs, "en", "paging.next"), message=first)
    second = await sales.edited(first)
    assert second.text.splitlines()[0] == shown(catalogs, "en", "deals.title", count=12)
    assert len(deal_labels(second)) == 2


def add_reminders(database: Database, count: int, *, minutes: int = 0) -> None:
    """`count` reminders with texts at their maximum length that say which one they are, due
    a day from now plus `minutes` + i minutes."""

    def add(session: Session) -> None:
        actor = owner(session)
        for i in range(count):
            text = f"reminder {minutes + i:02d} " + "r" * (MAX_LENGTHS["summary"] - 12)
            due = datetime.now(UTC) + timedelta(days=1, minutes=minutes + i)
            create_follow_up(
                session, actor=actor, due_at=due, text=text, customer_id=None, exact_time=True
            )

    database.run_sync(add)


def reminder_numbers(page: BotMessage) -> list[int]:
    """Which reminders ("reminder 07 …") a /reminders page lists, in order."""
    return [int(line.split("reminder ")[1][:2]) for line in page.text.splitlines()[1:]]


async def test_reminders_beyond_a_page_are_all_reachable_by_paging_in_one_message(
    emu: BotApiEmulator, admin: ScriptedUser, database: Database, catalogs: Catalogs
) -> None:
    await registered(admin)
    add_reminders(database, 25)
    await admin.send("/reminders")
    first = await admin.reply()
    assert first.text.splitlines()[0] == shown(catalogs, "en", "reminders.list_title", count=25)
    pages = await every_page(admin, first, catalogs)
    assert [reminder_numbers(page) for page in pages] == [
        list(range(10)),
        list(range(10, 20)),
        list(range(20, 25)),
    ]
    for page, (low, high) in zip(pages, ((1, 10), (11, 20), (21, 25)), strict=True):
        # each line is the start of a long text, whole one press away (test_reminders.py);
        # the `nothing_cut` fixture checks the message itself was not cut
        assert sum(len(row) for row in page.buttons) <= MAX_BUTTONS
        assert in_range(catalogs, low, high, 25) in page.button_labels
        assert (
            len([label for label in page.button_labels if "reminder " in label]) == high - low + 1
        )
    assert emu.bot_messages(admin.chat_id)[-1].message_id == first.message_id  # no new message


async def test_reminder_added_before_the_page_repeats_none_on_the_next(
    admin: ScriptedUser, database: Database, catalogs: Catalogs
) -> None:
    await registered(admin)
    add_reminders(database, 15, minutes=10)
    await admin.send("/reminders")
    first = await admin.reply()
    add_reminders(database, 1)  # due before all of them: lands on the first page
    await admin.press(shown(catalogs, "en", "paging.next"), message=first)
    second = await admin.edited(first)
    assert reminder_numbers(second) == list(range(20, 25))  # 19 is not shown twice
    assert in_range(catalogs, 12, 16, 16) in second.button_labels


async def test_deal_closed_on_the_page_before_skips_none_on_the_next(
    app: CrmApplication, admin: ScriptedUser, database: Database, catalogs: Catalogs
) -> None:
    first = await deals_list(admin, database, 15)
    first_titles = {label.split(" · ")[1] for label in deal_labels(first)}

    def win_one_shown(session: Session) -> None:
        deal = session.exec(select(Deal).where(Deal.title == min(first_titles))).one()
        stages = services_of(app).config.deals.stages
        change_stage(
            session,
            actor=owner(session),
            deal_id=deal.id or 0,
            stage="won",
            reason=None,
            stages=stages,
        )

    database.run_sync(win_one_shown)
    await admin.press(shown(catalogs, "en", "paging.next"), message=first)
    second = await admin.edited(first)
    second_titles = {label.split(" · ")[1] for label in deal_labels(second)}
    assert first_titles | second_titles == {deal_title(i) for i in range(15)}  # none skipped
    assert not first_titles & second_titles
    assert in_range(catalogs, 10, 14, 14) in second.button_labels


async def test_week_beyond_a_page_is_all_reachable_by_paging(
    app: CrmApplication, admin: ScriptedUser, database: Database, catalogs: Catalogs
) -> None:
    del app  # the clock stands still at NOW
    await registered(admin)

    def fill(session: Session) -> None:
        actor = owner(session)
        assert actor.id is not None
        customer = make_customer(session, owner=actor, name="Zhang Wei")
        assert customer.id is not None
        for i in range(30):
            create_follow_up(
                session,
                actor=actor,
                due_at=NOW - timedelta(days=1, minutes=i),
                text=f"follow-up {i:02d}",
                customer_id=customer.id,
                exact_time=True,
            )
        for i in range(25):
            session.add(
                Deal(
                    customer_id=customer.id,
                    owner_id=actor.id,
                    title=f"closing {i:02d}",
                    stage="proposal",
                    expected_close_date=date(2031, 1, 16 + i % 5),
                    created_by_id=actor.id,
                )
            )

    database.run_sync(fill)
    await admin.send("/week")
    pages = await every_page(admin, await admin.reply(), catalogs)
    assert len(pages) == 7  # 55 lines, 8 a page
    text = "\n".join(page.text for page in pages)
    for page in pages:
        within_limits(page)
    assert all(f"follow-up {i:02d}" in text for i in range(30))
    assert all(f"closing {i:02d}" in text for i in range(25))
    deal_heading = shown(catalogs, "en", "agenda.section.deals")
    assert deal_heading in pages[3].text  # a section going on over a page keeps its heading
    assert deal_heading in pages[4].text


def add_week_follow_ups(database: Database, count: int) -> list[int]:
    """`count` overdue follow-ups ("follow-up 00" longest overdue), on /week: their ids."""

    def fill(session: Session) -> list[int]:
        actor = owner(session)
        return [
            pk(
                create_follow_up(
                    session,
                    actor=actor,
                    due_at=NOW - timedelta(days=1, minutes=count - i),
                    text=f"follow-up {i:02d}",
                    customer_id=None,
                    exact_time=True,
                )
            )
            for i in range(count)
        ]

    return database.run_sync(fill)


def follow_up_numbers(page: BotMessage) -> list[int]:
    return [int(line.split("follow-up ")[1][:2]) for line in page.text.splitlines()[3:]]


async def test_week_follow_up_done_on_the_page_before_skips_none_on_the_next_in_chinese(
    app: CrmApplication, emu: BotApiEmulator, database: Database, catalogs: Catalogs
) -> None:
    del app  # the clock stands still at NOW
    user = ScriptedUser(emu, ADMIN_ID, "Ada", language_code="zh")
    await registered(user)
    ids = add_week_follow_ups(database, 12)
    await user.send("/week")
    first = await user.reply()
    assert follow_up_numbers(first) == list(range(8))
    database.run_sync(lambda s: mark_done(s, actor=owner(s), reminder_id=ids[0]))
    await user.press(shown(catalogs, "zh", "paging.next"), message=first)
    second = await user.edited(first)
    assert follow_up_numbers(second) == list(range(8, 12))  # follow-up 08 is not skipped
    range_label = shown(catalogs, "zh", "paging.range", first=8, last=11, total=11)
    assert range_label in second.button_labels
    database.run_sync(lambda s: mark_done(s, actor=owner(s), reminder_id=ids[8]))
    await user.press(range_label, message=second)  # the same page, read again
    again = await user.edited(second)
    assert follow_up_numbers(again) == list(range(9, 12))
    assert shown(catalogs, "zh", "paging.range", first=8, last=10, total=10) in again.button_labels


LISTS = [("/deals", "deals"), ("/reminders", "rem"), ("/today", "today"), ("/week", "week")]


@pytest.mark.parametrize(("command", "list_name"), LISTS)
@pytest.mark.parametrize(
    "cursor",
    [
        Cursor(Direction.AFTER, (0,)),
        Cursor(Direction.BEFORE, (10**17, -(10**17), 5)),
        Cursor(Direction.FROM, (1, 2, 3, 4)),
    ],
)
async def test_any_cursor_on_any_list_shows_a_page_of_ones_own(
    app: CrmApplication,
    emu: BotApiEmulator,
    admin: ScriptedUser,
    database: Database,
    command: str,
    list_name: str,
    cursor: Cursor,
) -> None:
    del app  # the clock stands still at NOW
    await registered(admin)
    add_deals(database, 12)
    add_week_follow_ups(database, 12)
    await admin.send(command)
    listing = await admin.reply()
    assert await answered_text(emu, admin, pack(ListPage(list_name, cursor)), listing) == "None"
    await admin.send("/help")  # answered after the page: updates of a chat run in order
    await admin.reply()
    page = next(m for m in emu.bot_messages(admin.chat_id) if m.message_id == listing.message_id)
    assert any(" of 12" in label for label in page.button_labels)  # a page of the same list
