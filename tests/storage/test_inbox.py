"""The update inbox: every accepted update once, its status, the backlog and its pruning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.db import Database
from storage.inbox import (
    InboxStatus,
    claim_update,
    list_pending,
    mark_handled,
    prune_handled,
    record_received,
)
from storage.models import InboxUpdate

HANDLED_AT = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
RETENTION = timedelta(days=7)


def payload(update_id: int) -> str:
    return f'{{"update_id": {update_id}, "message": {{"text": "你好 {update_id}"}}}}'


def row(db: Database, update_id: int) -> InboxUpdate | None:
    return db.read_sync(lambda session: session.get(InboxUpdate, update_id))


def handled_long_ago(db: Database, update_id: int) -> None:
    with db.session() as session:
        session.add(
            InboxUpdate(
                update_id=update_id,
                payload=payload(update_id),
                status=InboxStatus.DONE,
                handled_at=HANDLED_AT,
            )
        )


def test_record_received_returns_each_new_id_once_within_batch(db: Database) -> None:
    batch = [(5, payload(5)), (6, payload(6)), (5, payload(5))]
    assert db.run_sync(record_received, updates=batch) == [5, 6]
    stored = row(db, 5)
    assert stored is not None
    assert (stored.status, stored.payload) == (InboxStatus.PENDING, payload(5))


def test_record_received_skips_ids_seen_in_earlier_batch(db: Database) -> None:
    db.run_sync(record_received, updates=[(7, payload(7)), (8, payload(8))])
    assert db.run_sync(record_received, updates=[(8, payload(8)), (9, payload(9))]) == [9]


def test_record_received_keeps_status_of_repeated_update(db: Database) -> None:
    db.run_sync(record_received, updates=[(7, payload(7))])
    db.run_sync(mark_handled, update_id=7)
    db.run_sync(record_received, updates=[(7, payload(7))])
    stored = row(db, 7)
    assert stored is not None
    assert stored.status == InboxStatus.DONE


def test_record_received_returns_nothing_for_empty_batch(db: Database) -> None:
    assert db.run_sync(record_received, updates=[]) == []


def test_claim_update_stores_new_update_as_pending(db: Database) -> None:
    assert db.run_sync(claim_update, update_id=11, payload=payload(11)) is True
    stored = row(db, 11)
    assert stored is not None
    assert (stored.status, stored.payload) == (InboxStatus.PENDING, payload(11))


def test_claim_update_accepts_pending_update(db: Database) -> None:
    db.run_sync(record_received, updates=[(12, payload(12))])
    assert db.run_sync(claim_update, update_id=12, payload=payload(12)) is True


def test_claim_update_refuses_handled_update(db: Database) -> None:
    db.run_sync(claim_update, update_id=13, payload=payload(13))
    db.run_sync(mark_handled, update_id=13)
    assert db.run_sync(claim_update, update_id=13, payload=payload(13)) is False


def test_mark_handled_sets_done_and_time_of_that_update_only(db: Database) -> None:
    db.run_sync(record_received, updates=[(21, payload(21)), (22, payload(22))])
    db.run_sync(mark_handled, update_id=21)
    done, other = row(db, 21), row(db, 22)
    assert done is not None
    assert other is not None
    assert done.status == InboxStatus.DONE
    assert done.handled_at is not None
    assert done.handled_at - datetime.now(UTC) < timedelta(minutes=1)
    assert (other.status, other.handled_at) == (InboxStatus.PENDING, None)


def test_list_pending_orders_by_update_id_without_handled(db: Database) -> None:
    db.run_sync(record_received, updates=[(33, payload(33)), (31, payload(31))])
    db.run_sync(record_received, updates=[(30, payload(30)), (32, payload(32))])
    db.run_sync(mark_handled, update_id=32)
    assert [r.update_id for r in db.read_sync(list_pending)] == [30, 31, 33]


def test_list_pending_stops_at_limit(db: Database) -> None:
    db.run_sync(record_received, updates=[(i, payload(i)) for i in (44, 42, 43, 41)])
    assert [r.update_id for r in db.read_sync(list_pending, limit=2)] == [41, 42]


def test_prune_handled_deletes_handled_rows_older_than_retention(db: Database) -> None:
    handled_long_ago(db, 51)
    now = HANDLED_AT + RETENTION + timedelta(seconds=1)
    assert db.run_sync(prune_handled, older_than=RETENTION, now=now) == 1
    assert row(db, 51) is None


def test_prune_handled_keeps_rows_handled_within_retention(db: Database) -> None:
    handled_long_ago(db, 52)
    now = HANDLED_AT + RETENTION - timedelta(seconds=1)
    assert db.run_sync(prune_handled, older_than=RETENTION, now=now) == 0
    assert row(db, 52) is not None


def test_prune_handled_keeps_pending_rows_however_old(db: Database) -> None:
    db.run_sync(record_received, updates=[(53, payload(53))])
    now = datetime.now(UTC) + timedelta(days=365)
    assert db.run_sync(prune_handled, older_than=RETENTION, now=now) == 0
    assert row(db, 53) is not None
