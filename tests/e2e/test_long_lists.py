"""Lists at their limits: /deals, /reminders, /today and /week show every record a page at a
time (‹ Prev · n/N · Next ›), every page within Telegram's limits (4,096 characters, 100
buttons), nothing cut; a page button is read again for whoever presses it, and forged page
data is refused or lands on the last page."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session

from bot.app import CrmApplication, services_of
from bot.emulator import BotApiEmulator, BotMessage
from handlers.callback_data import ListPage, pack
from handlers.i18n import Catalogs
from storage.customers import CustomerCreate, create_customer
from storage.db import Database
from storage.deals import DealCreate, create_deal
from storage.members import get_member_by_telegram_id
from storage.models import Deal, Member
from storage.parsing import MAX_LENGTHS
from storage.reminders import create_follow_up
from tests.conftest import ADMIN_ID, RunningBot
from tests.e2e.helpers import join, shown
from tests.e2e.test_import import answered_text
from tests.e2e.user import ScriptedUser
from tests.factories import make_customer

pytestmark = pytest.mark.usefixtures("nothing_cut")

NOW = datetime(2031, 1, 15, 6, 0, tzinfo=UTC)  # Wednesday 15 Jan, 14:00 in Shanghai
DEALS = 70  # more than the 60 /deals used to read, and 210 buttons on one message
MAX_BUTTONS = 100


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
    seen = []
    for number, page in enumerate(pages, start=1):
        within_limits(page)
        position = shown(catalogs, "en", "paging.position", page=number, pages=7)
        assert position in page.button_labels
        seen += [label for label in page.button_labels if " · deal " in label]
    assert len(seen) == DEALS
    assert {label.split(" · ")[1] for label in seen} == {deal_title(i) for i in range(DEALS)}


async def test_deals_prev_goes_back_to_the_page_before(
    admin: ScriptedUser, database: Database, catalogs: Catalogs
) -> None:
    await registered(admin)
    add_deals(database, 15)
    await admin.send("/deals")
    first = await admin.reply()
    assert shown(catalogs, "en", "paging.prev") not in first.button_labels
    await admin.press(shown(catalogs, "en", "paging.next"), message=first)
    second = await admin.edited(first)
    assert shown(catalogs, "en", "paging.next") not in second.button_labels
    await admin.press(shown(catalogs, "en", "paging.prev"), message=second)
    again = await admin.edited(second)
    assert again.button_labels == first.button_labels


async def test_a_forged_page_number_shows_the_last_page(
    admin: ScriptedUser, database: Database, catalogs: Catalogs
) -> None:
    await registered(admin)
    add_deals(database, 25)
    await admin.send("/deals")
    first = await admin.reply()
    await admin.press_data(pack(ListPage("deals", 9999)), first)
    last = await admin.edited(first)
    assert shown(catalogs, "en", "paging.position", page=3, pages=3) in last.button_labels
    assert len([label for label in last.button_labels if " · deal " in label]) == 5


@pytest.mark.parametrize("data", ["v1:page:deals:x", "v1:page:notes:1", "v1:page:deals:-1"])
async def test_garbage_page_data_is_refused_politely(
    emu: BotApiEmulator, admin: ScriptedUser, database: Database, catalogs: Catalogs, data: str
) -> None:
    await registered(admin)
    add_deals(database, 15)
    await admin.send("/deals")
    first = await admin.reply()
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
    assert len([label for label in second.button_labels if " · deal " in label]) == 2


async def test_reminders_beyond_a_page_are_all_reachable_by_paging(
    admin: ScriptedUser, database: Database, catalogs: Catalogs
) -> None:
    await registered(admin)

    def add(session: Session) -> None:
        actor = owner(session)
        for i in range(25):
            text = f"reminder {i:02d} " + "r" * (MAX_LENGTHS["summary"] - 12)
            due = datetime.now(UTC) + timedelta(days=1, minutes=i)
            create_follow_up(
                session, actor=actor, due_at=due, text=text, customer_id=None, exact_time=True
            )

    database.run_sync(add)
    await admin.send("/reminders")
    seen: list[str] = []
    for number, size in ((1, 10), (2, 10), (3, 5)):
        header, *items, footer = await admin.replies(size + 2)
        assert header.text == shown(
            catalogs, "en", "reminders.list_page", count=25, page=number, pages=3
        )
        seen += [item.text for item in items]
        assert footer.text == shown(catalogs, "en", "reminders.list_footer", page=number, pages=3)
        if number < 3:
            await admin.press(shown(catalogs, "en", "paging.next"), message=footer)
    assert [f"reminder {i:02d}" in text for i, text in enumerate(seen)] == [True] * 25


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
