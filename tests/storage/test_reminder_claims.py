"""Claiming due reminders for delivery: only what is due, leases, unreachable members, and
never the same reminder to two workers (concurrent sessions on PostgreSQL and SQLite)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session

from storage.db import Database
from storage.models import Member, Reminder, utcnow
from storage.reminders import (
    ReminderStatus,
    any_due,
    claim_deliveries,
    claim_due,
    list_pending_reminders,
    mark_done,
    mark_failed,
    mark_retry,
    mark_sent,
    mark_undeliverable,
    release,
)
from tests.factories import make_customer, make_member

NOW = datetime(2031, 1, 15, 6, 0).astimezone()
LEASE = timedelta(minutes=5)


def due(session: Session, member: Member, *, at: datetime = NOW, **values: object) -> int:
    assert member.id is not None
    reminder = Reminder(
        member_id=member.id, kind="follow_up", text="Call", due_at=at, exact_time=True, **values
    )
    session.add(reminder)
    session.flush()
    assert reminder.id is not None
    return reminder.id


def claim(db: Database, worker: str, *, now: datetime = NOW, limit: int = 100) -> list[int]:
    rows = db.run_sync(claim_due, now=now, worker=worker, limit=limit, lease=LEASE)
    return [r.id for r in rows if r.id is not None]


def test_claim_due_takes_only_due_pending_reminders(db: Database) -> None:
    with db.session() as session:
        member = make_member(session)
        ready = due(session, member, at=NOW - timedelta(minutes=1))
        due(session, member, at=NOW + timedelta(minutes=1))
        due(session, member, status="done")
        due(session, member, status="sent")
        due(session, member, next_attempt_at=NOW + timedelta(seconds=10))
        retry_now = due(session, member, next_attempt_at=NOW)
    assert claim(db, "a") == [ready, retry_now]
    claimed = db.read_sync(lambda s: s.get_one(Reminder, ready))
    assert (claimed.claimed_by, claimed.claimed_until) == ("a", NOW + LEASE)


@pytest.mark.parametrize(
    ("values", "due_now"),
    [
        ({"at": NOW - timedelta(minutes=1)}, True),
        ({"at": NOW + timedelta(minutes=1)}, False),
        ({"status": "done"}, False),
        ({"status": "sent"}, False),
        ({"next_attempt_at": NOW + timedelta(seconds=10)}, False),
        ({"next_attempt_at": NOW}, True),
        ({"claimed_by": "b", "claimed_until": NOW + timedelta(seconds=1)}, False),
        ({"claimed_by": "b", "claimed_until": NOW}, True),
    ],
)
def test_any_due_says_yes_exactly_when_a_claim_finds_a_reminder(
    db: Database, values: dict[str, Any], due_now: bool
) -> None:
    """The delivery pass stops on its "no" (`bot.scheduler`): a "no" with a reminder due
    would leave it unsent."""
    with db.session() as session:
        due(session, make_member(session), **values)
    assert db.read_sync(any_due, now=NOW) is due_now
    assert bool(claim(db, "a")) is due_now


def test_claim_due_orders_by_due_time_and_respects_limit(db: Database) -> None:
    with db.session() as session:
        member = make_member(session)
        later = due(session, member, at=NOW - timedelta(minutes=1))
        first = due(session, member, at=NOW - timedelta(hours=1))
        due(session, member, at=NOW)
    assert claim(db, "a", limit=2) == [first, later]


def test_claimed_reminder_is_claimed_again_only_after_its_lease(db: Database) -> None:
    with db.session() as session:
        reminder = due(session, make_member(session))
    assert claim(db, "a") == [reminder]
    assert claim(db, "b", now=NOW + LEASE - timedelta(seconds=1)) == []
    assert claim(db, "b", now=NOW + LEASE) == [reminder]
    assert not db.run_sync(mark_sent, reminder_id=reminder, worker="a", at=NOW)
    assert db.run_sync(mark_sent, reminder_id=reminder, worker="b", at=NOW)


def test_claim_due_skips_unreachable_and_inactive_members(db: Database) -> None:
    with db.session() as session:
        blocked = make_member(session)
        blocked.unreachable_at = utcnow()
        due(session, blocked)
        due(session, make_member(session, active=False))
        reachable = due(session, make_member(session))
    assert claim(db, "a") == [reachable]


def test_mark_sent_keeps_it_listed_until_done(db: Database) -> None:
    with db.session() as session:
        member = make_member(session)
        reminder = due(session, member)
    claim(db, "a")
    assert db.run_sync(mark_sent, reminder_id=reminder, worker="a", at=NOW)
    assert not db.run_sync(mark_sent, reminder_id=reminder, worker="a", at=NOW)
    sent = db.read_sync(lambda s: s.get_one(Reminder, reminder))
    assert (sent.status, sent.sent_at, sent.attempts, sent.claimed_by) == ("sent", NOW, 1, None)
    assert [r.id for r in db.read_sync(list_pending_reminders, actor=member)] == [reminder]
    assert claim(db, "a", now=NOW + timedelta(days=1)) == []
    db.run_sync(mark_done, actor=member, reminder_id=reminder)
    assert db.read_sync(list_pending_reminders, actor=member) == []


def test_done_pressed_during_delivery_wins_over_mark_sent(db: Database) -> None:
    with db.session() as session:
        member = make_member(session)
        reminder = due(session, member)
    claim(db, "a")
    db.run_sync(mark_done, actor=member, reminder_id=reminder)
    assert not db.run_sync(mark_sent, reminder_id=reminder, worker="a", at=NOW)
    assert db.read_sync(lambda s: s.get_one(Reminder, reminder)).status == "done"


def test_mark_retry_releases_until_the_next_attempt(db: Database) -> None:
    with db.session() as session:
        reminder = due(session, make_member(session))
    claim(db, "a")
    retry_at = NOW + timedelta(seconds=20)
    assert db.run_sync(
        mark_retry, reminder_id=reminder, worker="a", attempts=2, next_attempt_at=retry_at
    )
    row = db.read_sync(lambda s: s.get_one(Reminder, reminder))
    assert (row.status, row.attempts, row.next_attempt_at, row.claimed_by) == (
        "pending",
        2,
        retry_at,
        None,
    )
    assert claim(db, "b", now=retry_at - timedelta(seconds=1)) == []
    assert claim(db, "b", now=retry_at) == [reminder]


def test_mark_undeliverable_keeps_it_pending_for_an_unreachable_member(db: Database) -> None:
    with db.session() as session:
        member = make_member(session)
        reminder = due(session, member)
    claim(db, "a")
    assert db.run_sync(mark_undeliverable, reminder_id=reminder, worker="a")
    row = db.read_sync(lambda s: s.get_one(Reminder, reminder))
    blocked = db.read_sync(lambda s: s.get_one(Member, member.id))
    assert (row.status, row.claimed_by, blocked.unreachable_at is not None) == (
        "pending",
        None,
        True,
    )
    assert claim(db, "a", now=NOW + timedelta(days=1)) == []


def test_mark_failed_and_release(db: Database) -> None:
    with db.session() as session:
        member = make_member(session)
        failing, released = due(session, member), due(session, member)
    claim(db, "a")
    assert db.run_sync(mark_failed, reminder_id=failing, worker="a", attempts=3)
    assert db.run_sync(release, reminder_ids=[released, failing], worker="a") == 1
    assert claim(db, "b") == [released]
    assert db.read_sync(lambda s: s.get_one(Reminder, failing)).status == "failed"


def test_claim_deliveries_describes_customer_and_chat(db: Database) -> None:
    with db.session() as session:
        member = make_member(session)
        customer = make_customer(session, owner=member, name="Zhang Wei")
        due(session, member, customer_id=customer.id)
    [view] = db.run_sync(claim_deliveries, now=NOW, worker="a", limit=10, lease=LEASE)
    assert (view.chat_id, view.customer_name, view.last_note) == (
        member.telegram_id,
        "Zhang Wei",
        None,
    )


def test_concurrent_claims_skip_locked_rows_without_waiting(postgres_db: Database) -> None:
    """PostgreSQL: a second worker passes over rows the first holds in an open transaction.
    (SQLite serialises writers with BEGIN IMMEDIATE instead; the threaded test covers it.)"""
    db = postgres_db
    with db.session() as session:
        member = make_member(session)
        ids = [due(session, member, at=NOW - timedelta(seconds=i)) for i in range(6)]
    with db.session() as first:
        held = claim_due(first, now=NOW, worker="a", limit=3, lease=LEASE)
        with db.session() as second:
            # Waiting would wait forever (the first is this thread): fail in 2 s instead.
            second.execute(text("SET LOCAL lock_timeout = '2s'"))
            other = claim_due(second, now=NOW, worker="b", limit=10, lease=LEASE)
    assert {r.id for r in held}.isdisjoint({r.id for r in other})
    assert {r.id for r in held} | {r.id for r in other} == set(ids)


def test_workers_in_threads_never_claim_the_same_reminder(db: Database) -> None:
    with db.session() as session:
        members = [make_member(session) for _ in range(5)]
        ids = {due(session, members[i % 5], at=NOW - timedelta(seconds=i)) for i in range(200)}
    claimed: dict[str, list[int]] = {f"w{i}": [] for i in range(4)}
    errors: list[BaseException] = []

    def work(worker: str) -> None:
        try:
            while batch := claim(db, worker, limit=7):
                claimed[worker] += batch
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [i for batch in claimed.values() for i in batch]
    assert errors == []
    assert len(everything) == len(set(everything)) == len(ids)
    assert set(everything) == ids


def test_claim_due_takes_the_older_of_two_reminders_due_at_the_same_time(db: Database) -> None:
    """Equal due times are taken in id order, so a limit never starves the older one; the
    newer is stored first, so a table read in storage order would give it first."""
    with db.session() as session:
        member = make_member(session)
        newer = due(session, member, at=NOW - timedelta(minutes=1), id=900_002)
        older = due(session, member, at=NOW - timedelta(minutes=1), id=900_001)
    assert claim(db, "a", limit=1) == [older]
    assert claim(db, "b", limit=1) == [newer]


def row(db: Database, reminder_id: int) -> Reminder:
    return db.read_sync(lambda s: s.get_one(Reminder, reminder_id))


def test_release_gives_back_only_the_listed_reminders_and_ends_the_claim(db: Database) -> None:
    with db.session() as session:
        member = make_member(session)
        first, second = due(session, member), due(session, member)
    assert claim(db, "a") == [first, second]
    assert db.run_sync(release, reminder_ids=[first], worker="a") == 1
    assert not db.run_sync(mark_sent, reminder_id=first, worker="a", at=NOW)
    assert claim(db, "b") == [first]


def test_mark_sent_records_the_send_and_ends_the_retry_schedule(db: Database) -> None:
    with db.session() as session:
        reminder = due(session, make_member(session))
    retry_at = NOW + timedelta(minutes=1)
    claim(db, "a")
    db.run_sync(mark_retry, reminder_id=reminder, worker="a", attempts=1, next_attempt_at=retry_at)
    before = row(db, reminder).updated_at
    assert claim(db, "b", now=retry_at) == [reminder]
    assert db.run_sync(mark_sent, reminder_id=reminder, worker="b", at=retry_at)
    sent = row(db, reminder)
    assert (sent.status, sent.sent_at, sent.attempts) == (ReminderStatus.SENT, retry_at, 2)
    assert (sent.next_attempt_at, sent.claimed_by, sent.claimed_until) == (None, None, None)
    assert sent.updated_at > before


def test_mark_failed_records_the_attempts(db: Database) -> None:
    with db.session() as session:
        reminder = due(session, make_member(session))
    claim(db, "a")
    assert db.run_sync(mark_failed, reminder_id=reminder, worker="a", attempts=3)
    assert (row(db, reminder).status, row(db, reminder).attempts) == (ReminderStatus.FAILED, 3)


def test_mark_undeliverable_by_a_worker_not_holding_it_changes_nothing(db: Database) -> None:
    with db.session() as session:
        member = make_member(session)
        reminder = due(session, member)
    claim(db, "a")
    assert not db.run_sync(mark_undeliverable, reminder_id=reminder, worker="b")
    assert db.read_sync(lambda s: s.get_one(Member, member.id)).unreachable_at is None
    assert row(db, reminder).claimed_by == "a"


def test_a_reminder_finished_while_still_claimed_is_not_marked_sent(db: Database) -> None:
    """Whatever finishes a reminder without ending its claim, the sender's mark loses."""
    with db.session() as session:
        reminder = due(session, make_member(session))
    claim(db, "a")
    with db.session() as session:
        session.get_one(Reminder, reminder).status = ReminderStatus.DONE
    assert not db.run_sync(mark_sent, reminder_id=reminder, worker="a", at=NOW)
    assert row(db, reminder).status == ReminderStatus.DONE


def test_claim_deliveries_claims_for_the_worker_up_to_the_limit(db: Database) -> None:
    with db.session() as session:
        member = make_member(session)
        first, _ = due(session, member), due(session, member)
    [view] = db.run_sync(claim_deliveries, now=NOW, worker="a", limit=1, lease=LEASE)
    assert view.id == first
    assert row(db, first).claimed_by == "a"
