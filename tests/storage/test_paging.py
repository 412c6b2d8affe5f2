"""Keyset paging of /deals, /reminders and the agenda: rows added or closed between two
presses neither skip nor repeat a row, the range is counted on the reading, and a forged or
stale cursor lands on a page of what the member may see."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlmodel import Session

from storage.agenda import FollowUpItem, page_agenda
from storage.db import Database
from storage.deals import change_stage
from storage.models import Member, utcnow
from storage.paging import Cursor, Direction, Key, KeysetPage, keyset_page
from storage.pipeline import page_my_deals
from storage.reminders import create_follow_up, mark_done, page_reminder_views
from tests.factories import make_member, pk
from tests.storage.test_pipeline import STAGES, add_deal

SIZE = 10


def ident(row: int) -> Key:
    return (row,)


# --- the cursor arithmetic --------------------------------------------------------------------


def test_pages_follow_each_other_by_key() -> None:
    rows = list(range(0, 50, 2))  # 25 rows
    first = keyset_page(rows, key=ident, cursor=None, size=SIZE)
    assert (first.items, first.first, first.last, first.total) == (rows[:10], 1, 10, 25)
    assert first.previous is None
    assert first.next == Cursor(Direction.AFTER, (18,))
    second = keyset_page(rows, key=ident, cursor=first.next, size=SIZE)
    assert second.items == rows[10:20]
    assert second.previous == Cursor(Direction.BEFORE, (20,))
    assert keyset_page(rows, key=ident, cursor=second.previous, size=SIZE).items == rows[:10]
    assert keyset_page(rows, key=ident, cursor=second.again, size=SIZE).items == rows[10:20]
    last = keyset_page(rows, key=ident, cursor=second.next, size=SIZE)
    assert (last.items, last.first, last.last, last.next) == (rows[20:], 21, 25, None)


def test_a_list_of_one_page_has_no_cursors() -> None:
    page = keyset_page([3, 1, 2], key=ident, cursor=None, size=SIZE)
    assert (page.items, page.previous, page.next) == ([1, 2, 3], None, None)


def test_an_empty_list_is_an_empty_page() -> None:
    page = keyset_page([], key=ident, cursor=Cursor(Direction.AFTER, (5,)), size=SIZE)
    assert (page.items, page.first, page.last, page.total, page.again) == ([], 0, 0, 0, None)


@pytest.mark.parametrize(
    ("cursor", "shown"),
    [
        (Cursor(Direction.AFTER, (10**17,)), list(range(15, 25))),  # past the end: last page
        (Cursor(Direction.FROM, (10**17,)), list(range(15, 25))),
        (Cursor(Direction.BEFORE, (-(10**17),)), list(range(10))),  # before the start: first
        (Cursor(Direction.BEFORE, (3,)), list(range(10))),  # fewer than a page before: first
        (Cursor(Direction.AFTER, (1, 2)), list(range(10))),  # another list's shape: first
        (Cursor(Direction.FROM, (7,)), list(range(7, 17))),
    ],
)
def test_a_forged_or_stale_cursor_shows_a_whole_page(cursor: Cursor, shown: list[int]) -> None:
    assert keyset_page(list(range(25)), key=ident, cursor=cursor, size=SIZE).items == shown


# --- the lists, changing between presses ------------------------------------------------------


def walk(
    read: Callable[[Cursor | None], KeysetPage[int]], between: Callable[[int], None]
) -> list[int]:
    """Every page by Next, calling `between(n)` after page n (from 1) was read: the ids seen."""
    seen: list[int] = []
    cursor: Cursor | None = None
    number = 0
    while True:
        page = read(cursor)
        seen += page.items
        number += 1
        if page.next is None:
            return seen
        between(number)
        cursor = page.next


CHANGES = ("close", "add")  # a row of a page already seen closed, or a new one before it


def reminder(session: Session, member: Member, due: timedelta, text: str = "call") -> int:
    made = create_follow_up(
        session, actor=member, due_at=utcnow() + due, text=text, customer_id=None, exact_time=True
    )
    return pk(made)


@pytest.mark.parametrize("change", CHANGES)
def test_reminders_closed_or_added_on_an_earlier_page_skip_and_repeat_nothing(
    db: Database, change: str
) -> None:
    with db.session() as session:
        member = make_member(session)
        ids = [reminder(session, member, timedelta(days=1, minutes=i)) for i in range(25)]

        def read(cursor: Cursor | None) -> KeysetPage[int]:
            page = page_reminder_views(session, actor=member, cursor=cursor, size=SIZE)
            return KeysetPage([v.id for v in page.items], page.keys, page.start, page.total)

        def between(number: int) -> None:
            if change == "close":
                mark_done(session, actor=member, reminder_id=ids[number - 1])
            else:
                reminder(session, member, timedelta(hours=1))  # due before everything

        seen = walk(read, between)
    assert seen == ids  # each once, in order: none skipped by the closed, none repeated


def test_reminders_range_is_counted_on_the_reading(db: Database) -> None:
    with db.session() as session:
        member = make_member(session)
        ids = [reminder(session, member, timedelta(days=1, minutes=i)) for i in range(15)]
        first = page_reminder_views(session, actor=member, size=SIZE)
        for rid in ids[:3]:
            mark_done(session, actor=member, reminder_id=rid)
        second = page_reminder_views(session, actor=member, cursor=first.next, size=SIZE)
    assert [v.id for v in second.items] == ids[10:]
    assert (second.first, second.last, second.total) == (8, 12, 12)


def test_reminders_back_from_a_page_shows_the_rows_just_before_it(db: Database) -> None:
    with db.session() as session:
        member = make_member(session)
        ids = [reminder(session, member, timedelta(days=1, minutes=i)) for i in range(25)]
        first = page_reminder_views(session, actor=member, size=SIZE)
        second = page_reminder_views(session, actor=member, cursor=first.next, size=SIZE)
        mark_done(session, actor=member, reminder_id=ids[2])
        back = page_reminder_views(session, actor=member, cursor=second.previous, size=SIZE)
    assert [v.id for v in back.items] == ids[:2] + ids[3:10] + ids[10:11]


def test_a_cursor_from_someone_elses_reminders_shows_only_ones_own(db: Database) -> None:
    with db.session() as session:
        owner, other = make_member(session), make_member(session)
        theirs = [reminder(session, other, timedelta(days=1, minutes=i)) for i in range(15)]
        mine = [reminder(session, owner, timedelta(days=2, minutes=i)) for i in range(3)]
        stolen = page_reminder_views(session, actor=other, size=SIZE).next
        page = page_reminder_views(session, actor=owner, cursor=stolen, size=SIZE)
    assert theirs
    assert [v.id for v in page.items] == mine


@pytest.mark.parametrize("change", CHANGES)
def test_deals_closed_or_added_on_an_earlier_page_skip_and_repeat_nothing(
    db: Database, change: str
) -> None:
    with db.session() as session:
        member = make_member(session)
        made = [pk(add_deal(session, member, "lead", "10")) for _ in range(25)]
        order = made[::-1]  # newest first within the stage

        def read(cursor: Cursor | None) -> KeysetPage[int]:
            page = page_my_deals(
                session, actor=member, stages=STAGES, cursor=cursor, size=SIZE
            ).page
            ids = [pk(deal) for _stage, deal, _customer in page.items]
            return KeysetPage(ids, page.keys, page.start, page.total)

        def between(number: int) -> None:
            if change == "close":
                deal_id = order[number - 1]
                change_stage(
                    session, actor=member, deal_id=deal_id, stage="won", reason=None, stages=STAGES
                )
            else:
                add_deal(session, member, "lead", "1")  # the newest: at the top

        seen = walk(read, between)
    assert seen == order


def test_deals_page_keeps_every_stages_totals(db: Database) -> None:
    with db.session() as session:
        member = make_member(session)
        for stage in ("proposal", "lead") * 8:
            add_deal(session, member, stage, "10")
        first = page_my_deals(session, actor=member, stages=STAGES, size=SIZE)
        second = page_my_deals(
            session, actor=member, stages=STAGES, cursor=first.page.next, size=SIZE
        )
    assert [(g.key, g.count) for g in second.groups] == [("lead", 8), ("proposal", 8)]
    stages = [stage for stage, _deal, _customer in first.page.items + second.page.items]
    assert stages == ["lead"] * 8 + ["proposal"] * 8


@pytest.mark.parametrize("change", CHANGES)
def test_agenda_follow_ups_done_or_added_on_an_earlier_page_skip_and_repeat_nothing(
    db: Database, change: str
) -> None:
    today = utcnow().date()
    until = utcnow() + timedelta(days=2)
    with db.session() as session:
        member = make_member(session)
        ids = [reminder(session, member, -timedelta(hours=1, minutes=i)) for i in range(20)]
        order = ids[::-1]  # longest overdue first

        def read(cursor: Cursor | None) -> KeysetPage[int]:
            page = page_agenda(
                session, actor=member, first=today, last=today, until=until, cursor=cursor, size=8
            )
            items = [i.reminder_id for i in page.items if isinstance(i, FollowUpItem)]
            return KeysetPage(items, page.keys, page.start, page.total)

        def between(number: int) -> None:
            if change == "close":
                mark_done(session, actor=member, reminder_id=order[number - 1])
            else:
                reminder(session, member, -timedelta(days=3))  # overdue longest: on page 1

        seen = walk(read, between)
    assert seen == order
