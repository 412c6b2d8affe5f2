"""Drafts: one per member, replaced on every answered step, JSON that survives the round trip."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlmodel import Session, col, select

from storage.db import Database
from storage.drafts import (
    CANCELLED,
    cancel_draft,
    commit_draft,
    delete_draft,
    get_draft,
    save_draft,
    was_cancelled,
)
from storage.models import Customer, Draft, Member
from tests.factories import make_customer, make_member, pk

DATA: dict[str, Any] = {
    "name": "王伟 Wáng Wěi",
    "phones": ["+8613800138000"],
    "company": "华为技术有限公司 «Huawei» & Co <b>",
    "amount": {"value": "12500.50", "currency": "CNY"},
    "birthday": None,
    "emoji": "🤝",
}


def a_member(db: Database) -> Member:
    with db.session() as session:
        return make_member(session)


def save(db: Database, member: Member, **overrides: Any) -> Draft:
    fields: dict[str, Any] = {
        "chat_id": member.telegram_id,
        "flow": "customer",
        "step": "customer.name",
        "data": {},
        "history": [],
        "update_id": 1,
    } | overrides
    return db.run_sync(save_draft, member_id=pk(member), **fields)


def drafts_of(db: Database, member: Member) -> list[Draft]:
    return db.read_sync(
        lambda session: list(session.exec(select(Draft).where(col(Draft.member_id) == member.id)))
    )


def test_save_draft_creates_draft(db: Database) -> None:
    member = a_member(db)
    save(db, member, flow="deal", step="deal.title", update_id=77)
    stored = db.read_sync(get_draft, member_id=pk(member))
    assert stored is not None
    assert (stored.chat_id, stored.flow, stored.step, stored.last_update_id) == (
        member.telegram_id,
        "deal",
        "deal.title",
        77,
    )


def test_save_draft_again_replaces_the_one_draft(db: Database) -> None:
    member = a_member(db)
    save(db, member, step="customer.name", data={"name": "Li"}, history=[], update_id=1)
    save(
        db,
        member,
        step="customer.phone",
        data={"phone": "+8613800138000"},
        history=["customer.name"],
        update_id=2,
    )
    [stored] = drafts_of(db, member)
    assert (stored.step, stored.data, stored.history, stored.last_update_id) == (
        "customer.phone",
        {"phone": "+8613800138000"},
        ["customer.name"],
        2,
    )


def test_save_draft_keeps_other_members_drafts(db: Database) -> None:
    member, other = a_member(db), a_member(db)
    save(db, other, step="customer.email")
    save(db, member, step="customer.phone")
    [kept] = drafts_of(db, other)
    assert kept.step == "customer.email"


def test_save_draft_round_trips_non_ascii_data_and_history(db: Database) -> None:
    member = a_member(db)
    history = ["customer.name", "customer.phone", "客户.公司"]
    save(db, member, data=DATA, history=history)
    stored = db.read_sync(get_draft, member_id=pk(member))
    assert stored is not None
    assert (stored.data, stored.history) == (DATA, history)


def test_delete_draft_returns_true_then_false(db: Database) -> None:
    member = a_member(db)
    save(db, member)
    assert db.run_sync(delete_draft, member_id=pk(member)) is True
    assert db.read_sync(get_draft, member_id=pk(member)) is None
    assert db.run_sync(delete_draft, member_id=pk(member)) is False


def test_delete_draft_leaves_other_members_drafts(db: Database) -> None:
    member, other = a_member(db), a_member(db)
    save(db, member)
    save(db, other)
    db.run_sync(delete_draft, member_id=pk(member))
    assert len(drafts_of(db, other)) == 1


def test_cancel_draft_leaves_a_marker_once(db: Database) -> None:
    member = a_member(db)
    assert db.read_sync(was_cancelled, member_id=pk(member)) is False
    save(db, member, data={"rev": 2})
    assert db.run_sync(cancel_draft, member_id=pk(member)) is True
    assert db.read_sync(was_cancelled, member_id=pk(member)) is True
    assert db.run_sync(cancel_draft, member_id=pk(member)) is False  # nothing open any more
    (marker,) = drafts_of(db, member)
    assert (marker.flow, marker.data) == (CANCELLED, {})


def test_cancelled_draft_saves_nothing_and_a_new_entry_replaces_it(db: Database) -> None:
    member = a_member(db)
    a_draft_at(db, member, 2)
    db.run_sync(cancel_draft, member_id=pk(member))
    calls: list[int] = []
    result = db.run_sync(commit_draft, member_id=pk(member), revision=2, save=saver(member, calls))
    assert (result, calls) == (None, [])
    save(db, member, flow="deal")
    assert db.read_sync(was_cancelled, member_id=pk(member)) is False


# Save is exactly once: these call commit_draft directly, so removing its guard fails them.


def count_customers(db: Database) -> int:
    return db.read_sync(lambda session: len(list(session.exec(select(Customer)))))


def saver(member: Member, calls: list[int]) -> Callable[[Session], Customer]:
    def save_customer(session: Session) -> Customer:
        calls.append(1)
        return make_customer(session, owner=member)

    return save_customer


def a_draft_at(db: Database, member: Member, revision: int) -> None:
    save(db, member, data={"name": "Zhang Wei", "rev": revision})


def test_commit_draft_saves_once_and_deletes_the_draft(db: Database) -> None:
    member = a_member(db)
    a_draft_at(db, member, 3)
    calls: list[int] = []
    first = db.run_sync(commit_draft, member_id=pk(member), revision=3, save=saver(member, calls))
    second = db.run_sync(commit_draft, member_id=pk(member), revision=3, save=saver(member, calls))
    assert first is not None
    assert second is None
    assert calls == [1]
    assert count_customers(db) == 1
    assert drafts_of(db, member) == []


def test_commit_draft_refuses_a_stale_revision(db: Database) -> None:
    member = a_member(db)
    a_draft_at(db, member, 4)
    calls: list[int] = []
    result = db.run_sync(commit_draft, member_id=pk(member), revision=3, save=saver(member, calls))
    assert result is None
    assert calls == []
    assert count_customers(db) == 0
    assert len(drafts_of(db, member)) == 1


def test_commit_draft_without_a_draft_saves_nothing(db: Database) -> None:
    member = a_member(db)
    calls: list[int] = []
    result = db.run_sync(commit_draft, member_id=pk(member), revision=1, save=saver(member, calls))
    assert result is None
    assert calls == []


def test_commit_draft_keeps_the_draft_when_the_save_fails(db: Database) -> None:
    member = a_member(db)
    a_draft_at(db, member, 1)

    def failing_save(session: Session) -> None:
        make_customer(session, owner=member)
        raise RuntimeError("the save broke halfway")

    with pytest.raises(RuntimeError):
        db.run_sync(commit_draft, member_id=pk(member), revision=1, save=failing_save)
    assert count_customers(db) == 0
    assert len(drafts_of(db, member)) == 1


def test_two_saves_at_the_same_moment_create_one_record(db: Database) -> None:
    """Two instances pressing Save of one draft at once (PostgreSQL has no writer lock)."""
    member = a_member(db)
    a_draft_at(db, member, 1)
    calls: list[int] = []
    second_saving = threading.Event()

    def slow_save(session: Session) -> Customer:
        calls.append(1)
        # Give the other Save every chance to reach its own save while this one holds on.
        second_saving.wait(timeout=0.5)
        return make_customer(session, owner=member)

    def fast_save(session: Session) -> Customer:
        calls.append(2)
        second_saving.set()
        return make_customer(session, owner=member)

    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(
            db.run_sync, commit_draft, member_id=pk(member), revision=1, save=slow_save
        )
        while not calls and not first.done():  # the first Save is inside its transaction
            threading.Event().wait(0.005)
        second = pool.submit(
            db.run_sync, commit_draft, member_id=pk(member), revision=1, save=fast_save
        )
        results = [first.result(), second.result()]
    assert calls == [1]
    assert sum(result is not None for result in results) == 1
    assert count_customers(db) == 1
