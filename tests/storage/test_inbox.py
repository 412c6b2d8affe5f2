"""The update inbox: every accepted update once, its status, leases, the backlog and its
pruning."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session

from storage.db import Database
from storage.inbox import (
    InboxStatus,
    Received,
    any_stale,
    claim_stale,
    claim_update,
    earliest_pending,
    holds_pending,
    mark_handled,
    prune_handled,
    record_in_chat_order,
    record_received,
    release_leases,
    renew_leases,
)
from storage.models import InboxUpdate

HANDLED_AT = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
RETENTION = timedelta(days=7)
LEASE = timedelta(seconds=30)
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def payload(update_id: int) -> str:
    return f'{{"update_id": {update_id}, "message": {{"text": "你好 {update_id}"}}}}'


def row(db: Database, update_id: int) -> InboxUpdate | None:
    return db.read_sync(lambda session: session.get(InboxUpdate, update_id))


def claim(db: Database, update_id: int, worker: str, *, now: datetime = NOW) -> bool:
    return db.run_sync(
        claim_update,
        update_id=update_id,
        payload=payload(update_id),
        worker=worker,
        lease=LEASE,
        now=now,
    )


def stale(db: Database, worker: str, *, now: datetime = NOW, limit: int = 500) -> list[int]:
    rows = db.run_sync(claim_stale, worker=worker, lease=LEASE, now=now, limit=limit)
    return [update_id for update_id, _ in rows]


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
    db.run_sync(mark_handled, update_ids=[7])
    db.run_sync(record_received, updates=[(7, payload(7))])
    stored = row(db, 7)
    assert stored is not None
    assert stored.status == InboxStatus.DONE


def test_record_received_returns_nothing_for_empty_batch(db: Database) -> None:
    assert db.run_sync(record_received, updates=[]) == []


def test_claim_update_stores_new_update_as_pending(db: Database) -> None:
    assert claim(db, 11, "a") is True
    stored = row(db, 11)
    assert stored is not None
    assert (stored.status, stored.payload) == (InboxStatus.PENDING, payload(11))


def test_claim_update_accepts_pending_update(db: Database) -> None:
    db.run_sync(record_received, updates=[(12, payload(12))])
    assert claim(db, 12, "a") is True


def test_claim_update_refuses_handled_update(db: Database) -> None:
    claim(db, 13, "a")
    db.run_sync(mark_handled, update_ids=[13])
    assert claim(db, 13, "a") is False


def test_mark_handled_sets_done_and_time_of_that_update_only(db: Database) -> None:
    db.run_sync(record_received, updates=[(21, payload(21)), (22, payload(22))])
    db.run_sync(mark_handled, update_ids=[21])
    done, other = row(db, 21), row(db, 22)
    assert done is not None
    assert other is not None
    assert done.status == InboxStatus.DONE
    assert done.handled_at is not None
    assert done.handled_at - datetime.now(UTC) < timedelta(minutes=1)
    assert (other.status, other.handled_at) == (InboxStatus.PENDING, None)


def test_claim_stale_takes_unleased_pending_oldest_first(db: Database) -> None:
    db.run_sync(record_received, updates=[(33, payload(33)), (31, payload(31))])
    db.run_sync(record_received, updates=[(30, payload(30)), (32, payload(32))])
    db.run_sync(mark_handled, update_ids=[32])
    rows = db.run_sync(claim_stale, worker="b", lease=LEASE, now=NOW)
    assert rows == [(30, payload(30)), (31, payload(31)), (33, payload(33))]
    stored = row(db, 30)
    assert stored is not None
    assert (stored.claimed_by, stored.claimed_until) == ("b", NOW + LEASE)


def test_claim_stale_stops_at_limit(db: Database) -> None:
    db.run_sync(record_received, updates=[(i, payload(i)) for i in (44, 42, 43, 41)])
    assert stale(db, "b", limit=2) == [41, 42]
    assert stale(db, "c", limit=2) == [43, 44]


def test_claim_stale_leaves_live_leases_and_takes_expired_ones(db: Database) -> None:
    db.run_sync(record_received, updates=[(61, payload(61))], worker="a", lease=LEASE, now=NOW)
    assert stale(db, "b", now=NOW + LEASE - timedelta(seconds=1)) == []
    assert stale(db, "b", now=NOW + LEASE) == [61]
    assert stale(db, "c", now=NOW + LEASE) == []  # b holds it now


def test_claim_stale_including_leased_takes_live_leases_too(db: Database) -> None:
    db.run_sync(record_received, updates=[(62, payload(62))], worker="a", lease=LEASE, now=NOW)
    rows = db.run_sync(claim_stale, worker="b", lease=LEASE, now=NOW, include_leased=True)
    assert [update_id for update_id, _ in rows] == [62]
    db.run_sync(mark_handled, update_ids=[62])  # handled rows stay handled
    assert db.run_sync(claim_stale, worker="c", lease=LEASE, include_leased=True) == []


def test_claim_update_refuses_update_another_live_instance_holds(db: Database) -> None:
    assert claim(db, 71, "a") is True
    assert claim(db, 71, "b", now=NOW + LEASE - timedelta(seconds=1)) is False
    assert claim(db, 71, "a", now=NOW + LEASE - timedelta(seconds=1)) is True  # its own
    assert claim(db, 71, "b", now=NOW + 2 * LEASE) is True  # a died: the lease ran out
    stored = row(db, 71)
    assert stored is not None
    assert (stored.claimed_by, stored.claimed_until) == ("b", NOW + 3 * LEASE)


def test_claim_update_takes_update_recorded_by_itself(db: Database) -> None:
    db.run_sync(record_received, updates=[(72, payload(72))], worker="a", lease=LEASE, now=NOW)
    assert claim(db, 72, "b") is False
    assert claim(db, 72, "a") is True


def test_renew_leases_extends_only_own_pending_updates(db: Database) -> None:
    for update_id, worker in ((81, "a"), (82, "a"), (83, "b")):
        claim(db, update_id, worker)
    db.run_sync(mark_handled, update_ids=[82])
    later = NOW + timedelta(seconds=20)
    assert db.run_sync(renew_leases, worker="a", lease=LEASE, now=later) == 1
    assert stale(db, "c", now=NOW + LEASE) == [83]
    assert stale(db, "c", now=later + LEASE) == [81]


def test_release_leases_frees_own_pending_updates_at_once(db: Database) -> None:
    claim(db, 91, "a")
    claim(db, 92, "b")
    assert db.run_sync(release_leases, worker="a") == 1
    assert stale(db, "c") == [91]


def test_mark_handled_clears_the_lease(db: Database) -> None:
    claim(db, 93, "a")
    db.run_sync(mark_handled, update_ids=[93])
    stored = row(db, 93)
    assert stored is not None
    assert (stored.status, stored.claimed_until) == (InboxStatus.DONE, None)
    assert claim(db, 93, "a") is False


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


def in_chat(update_id: int, chat_id: int = 77) -> Received:
    return Received(update_id, payload(update_id), chat_id)


def test_an_update_is_queued_behind_its_chats_earlier_update_at_a_live_instance(
    db: Database,
) -> None:
    db.run_sync(record_in_chat_order, updates=[in_chat(1)], worker="a", lease=LEASE)
    db.run_sync(record_in_chat_order, updates=[in_chat(5, chat_id=78)], worker="a", lease=LEASE)
    assert db.run_sync(
        record_in_chat_order, updates=[in_chat(2), in_chat(6, chat_id=79)], worker="b", lease=LEASE
    ) == ([2, 6], {2}), "only the chat with an earlier update elsewhere waits"
    assert db.run_sync(record_in_chat_order, updates=[in_chat(3)], worker="a", lease=LEASE) == (
        [3],
        {3},
    ), "b still handles 2"
    db.run_sync(mark_handled, update_ids=[1, 2])
    assert db.read_sync(earliest_pending, chat_id=77, update_id=4).update_id == 3


def test_an_earlier_update_whose_lease_ran_out_still_goes_first(db: Database) -> None:
    """Its instance died: the next update of the chat waits behind it and takes it over."""
    db.run_sync(record_in_chat_order, updates=[in_chat(1)], worker="dead", lease=LEASE, now=NOW)
    later = NOW + LEASE + timedelta(seconds=1)
    assert db.run_sync(
        record_in_chat_order, updates=[in_chat(2)], worker="b", lease=LEASE, now=later
    ) == ([2], {2})
    assert db.read_sync(earliest_pending, chat_id=77, update_id=2).update_id == 1


def test_a_chats_update_recorded_during_anothers_record_waits_and_sees_it(
    db: Database,
) -> None:
    """Instance a records update 10 and has not committed when instance b records 11 of the
    same chat: b must wait for a's transaction (the chat lock on PostgreSQL, the single
    writer on SQLite) and then find 10 pending at a. Reading before a committed, b would
    have gone ahead beside it."""
    results: list[tuple[list[int], set[int]]] = []

    def instance_b() -> None:
        results.append(
            db.run_sync(record_in_chat_order, updates=[in_chat(11)], worker="b", lease=LEASE)
        )

    second = threading.Thread(target=instance_b)
    with db.session() as session:
        record_in_chat_order(session, updates=[in_chat(10)], worker="a", lease=LEASE)
        second.start()
        second.join(timeout=0.5)
        assert second.is_alive(), "b recorded while a's record was still open"
    second.join()
    assert results == [([11], {11})]


def test_an_update_recorded_as_handled_is_done_and_never_replayed(db: Database) -> None:
    """The polling path records an update it has already answered in one write."""
    recorded = db.run_sync(
        record_received,
        updates=[Received(301, payload(301), 77)],
        worker="a",
        handled=True,
        now=NOW,
    )
    assert recorded == [301]
    stored = row(db, 301)
    assert stored is not None
    assert (stored.status, stored.handled_at, stored.claimed_until) == (
        InboxStatus.DONE,
        NOW,
        None,
    )
    assert stale(db, "b", now=NOW + LEASE * 3) == []
    assert not claim(db, 301, "b", now=NOW + LEASE * 3), "a re-delivery is a repeat"


def test_claim_update_of_a_new_update_leaves_other_pending_updates_alone(db: Database) -> None:
    """Only the update asked for is leased: an earlier free one of the same chat stays free
    for the replay, and the new one is stored."""
    db.run_sync(record_received, updates=[Received(80, payload(80), chat_id=5)])
    assert claim(db, 81, "a") is True
    earlier, new = row(db, 80), row(db, 81)
    assert earlier is not None
    assert new is not None
    assert (earlier.claimed_by, earlier.claimed_until) == (None, None)
    assert (new.claimed_by, new.status) == ("a", InboxStatus.PENDING)


def test_claim_update_refuses_an_update_another_instance_inserted_meanwhile(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between this instance's look-up and its insert another one stored the update: the
    insert's conflict means that instance handles it, not both."""
    db.run_sync(record_received, updates=[(82, payload(82))], handled=True)
    real_get = Session.get

    def not_there_yet(self: Session, entity: Any, ident: Any, **kwargs: Any) -> Any:
        return None if entity is InboxUpdate else real_get(self, entity, ident, **kwargs)

    monkeypatch.setattr(Session, "get", not_there_yet)
    assert claim(db, 82, "a") is False
    monkeypatch.undo()
    stored = row(db, 82)
    assert stored is not None
    assert (stored.status, stored.claimed_by) == (InboxStatus.DONE, None)


def test_claim_update_takes_an_update_whose_lease_ends_this_instant(db: Database) -> None:
    """A lease runs until `claimed_until`, not past it: the same boundary as `claim_stale`."""
    assert claim(db, 83, "a") is True
    assert claim(db, 83, "b", now=NOW + LEASE) is True


def test_claim_update_stores_the_chat_of_a_new_update(db: Database) -> None:
    """The chat is what keeps a member's later messages queued behind this one."""
    assert db.run_sync(
        claim_update,
        update_id=84,
        payload=payload(84),
        chat_id=5,
        worker="a",
        lease=LEASE,
        now=NOW,
    )
    stored = row(db, 84)
    assert stored is not None
    assert stored.chat_id == 5
    assert (
        db.read_sync(lambda session: earliest_pending(session, chat_id=5, update_id=85)) == stored
    )


def test_release_leases_ends_the_workers_hold_on_pending_updates_only(db: Database) -> None:
    """Released updates are no longer the worker's (a later renewal does not take them back);
    updates it recorded as handled keep their record and are not counted."""
    db.run_sync(record_received, updates=[(85, payload(85))], worker="a", handled=True)
    assert claim(db, 86, "a") is True
    assert db.run_sync(release_leases, worker="a") == 1
    assert db.run_sync(renew_leases, worker="a", lease=LEASE, now=NOW) == 0
    released, handled = row(db, 86), row(db, 85)
    assert released is not None
    assert handled is not None
    assert (released.claimed_by, released.claimed_until) == (None, None)
    assert (handled.status, handled.claimed_by) == (InboxStatus.DONE, "a")


def test_claim_stale_takes_at_most_500_updates_unless_told(db: Database) -> None:
    """One replay pass stays one short transaction however large the backlog."""
    db.run_sync(record_received, updates=[(i, payload(i)) for i in range(1, 502)])
    assert len(db.run_sync(claim_stale, worker="a", lease=LEASE, now=NOW)) == 500


def test_record_in_chat_order_leases_new_updates_to_the_worker(db: Database) -> None:
    fresh, behind = db.run_sync(
        record_in_chat_order,
        updates=[Received(87, payload(87), chat_id=6)],
        worker="a",
        lease=LEASE,
        now=NOW,
    )
    assert (fresh, behind) == ([87], set())
    stored = row(db, 87)
    assert stored is not None
    assert (stored.claimed_by, stored.claimed_until, stored.received_at) == ("a", NOW + LEASE, NOW)


def test_earliest_pending_is_the_lowest_update_id_whatever_the_order_stored(
    db: Database,
) -> None:
    for update_id in (92, 91, 93):
        db.run_sync(record_received, updates=[Received(update_id, payload(update_id), chat_id=7)])
    earliest = db.read_sync(lambda session: earliest_pending(session, chat_id=7, update_id=94))
    assert earliest is not None
    assert earliest.update_id == 91


def test_concurrent_stale_claims_skip_locked_rows_without_waiting(postgres_db: Database) -> None:
    """PostgreSQL: a second instance claiming stale updates passes over those the first
    holds in its open transaction (SQLite lets one writer in at a time)."""
    db = postgres_db
    db.run_sync(record_received, updates=[(i, payload(i)) for i in range(40, 46)])
    with db.session() as first:
        held = claim_stale(first, worker="a", lease=LEASE, now=NOW, limit=3)
        with db.session() as second:
            # Waiting would wait forever (the first is this thread): fail in 2 s instead.
            second.execute(text("SET LOCAL lock_timeout = '2s'"))
            other = claim_stale(second, worker="b", lease=LEASE, now=NOW)
    assert [u for u, _ in held] == [40, 41, 42]
    assert [u for u, _ in other] == [43, 44, 45]


def test_the_idle_checks_say_yes_exactly_when_the_upkeep_has_work(db: Database) -> None:
    """`holds_pending` before `renew_leases`, `any_stale` before `claim_stale`: the upkeep
    skips its writes on their "no", so a "no" while there is work would strand updates."""
    assert not db.read_sync(holds_pending, worker="a")
    assert not db.read_sync(any_stale, now=NOW)
    db.run_sync(record_received, updates=[(95, payload(95))], worker="a", lease=LEASE, now=NOW)
    assert db.read_sync(holds_pending, worker="a")
    assert not db.read_sync(holds_pending, worker="b")
    live = NOW + LEASE - timedelta(seconds=1)
    assert not db.read_sync(any_stale, now=live)
    assert stale(db, "b", now=live) == []
    assert db.read_sync(any_stale, now=NOW + LEASE)
    db.run_sync(mark_handled, update_ids=[95])
    assert not db.read_sync(holds_pending, worker="a")
    assert not db.read_sync(any_stale, now=NOW + LEASE)
    db.run_sync(record_received, updates=[(96, payload(96))])  # recorded unleased
    assert db.read_sync(any_stale, now=NOW)
    assert stale(db, "b") == [96]
    assert db.read_sync(holds_pending, worker="b")
