"""Claiming webhook deliveries: due only, leases (an expired one is claimed again), our claim
only, in order per record, the backoff schedule, giving up after a day, disabling an endpoint
failing for a day once, and never one delivery to two workers."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session, col, select

from storage.db import Database
from storage.models import Member, Reminder, Role
from storage.reminders import ReminderKind
from storage.webhook_deliveries import (
    DeliveryStatus,
    Outcome,
    Outgoing,
    any_due,
    backoff,
    claim_due,
    list_deliveries,
    mark_delivered,
    mark_failed,
    record_outcomes,
    release,
    resend_delivery,
)
from storage.webhook_models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from storage.webhooks import UnknownEndpoint, create_endpoint, set_endpoint_enabled
from tests.factories import make_member

NOW = datetime(2031, 1, 15, 6, 0).astimezone()
LEASE = timedelta(minutes=1)
S = timedelta(seconds=1)


def endpoint(session: Session, *, enabled: bool = True) -> int:
    found = create_endpoint(session, url="http://127.0.0.1:9/hook", events=["customer.updated"])
    found.enabled = enabled
    session.flush()
    assert found.id is not None
    return found.id


def queue(
    session: Session, endpoint_id: int, *, record_id: int = 1, at: datetime = NOW, **values: object
) -> int:
    """An event of customer `record_id` and its delivery to the endpoint, due at `at`."""
    event = WebhookEvent(
        type="customer.updated",
        record_type="customer",
        record_id=record_id,
        payload={"id": record_id, "amount": "1.50"},
        created_at=at,
    )
    session.add(event)
    session.flush()
    assert event.id is not None
    delivery = WebhookDelivery(
        endpoint_id=endpoint_id,
        event_id=event.id,
        record_type="customer",
        record_id=record_id,
        next_attempt_at=at,
        give_up_at=at + timedelta(days=1),
        created_at=at,
        **values,
    )
    session.add(delivery)
    session.flush()
    assert delivery.id is not None
    return delivery.id


@pytest.fixture
def one_delivery(db: Database) -> int:
    """One customer event's delivery to an enabled endpoint, due at NOW."""
    with db.session() as session:
        return queue(session, endpoint(session))


@pytest.fixture
def boss(db: Database) -> Member:
    with db.session() as session:
        return make_member(session, role=Role.ADMIN)


def claim(db: Database, worker: str, *, now: datetime = NOW, limit: int = 100) -> list[int]:
    return [o.delivery_id for o in claimed(db, worker, now=now, limit=limit)]


def claimed(db: Database, worker: str, *, now: datetime = NOW, limit: int = 100) -> list[Outgoing]:
    return db.run_sync(claim_due, now=now, worker=worker, limit=limit, lease=LEASE)


def row(db: Database, delivery_id: int) -> WebhookDelivery:
    return db.read_sync(lambda s: s.get_one(WebhookDelivery, delivery_id))


def fail(db: Database, delivery_id: int, worker: str, at: datetime = NOW) -> object:
    return db.run_sync(
        mark_failed, delivery_id=delivery_id, worker=worker, status_code=500, error="boom", at=at
    )


def test_backoff_schedule() -> None:
    waits = [backoff(n) for n in range(1, 9)]
    assert waits == [
        timedelta(seconds=5),
        timedelta(seconds=30),
        timedelta(minutes=2),
        timedelta(minutes=10),
        timedelta(hours=1),
        timedelta(hours=1),
        timedelta(hours=1),
        timedelta(hours=1),
    ]


def test_claim_takes_only_due_deliveries_of_enabled_endpoints(db: Database) -> None:
    with db.session() as session:
        on, off = endpoint(session), endpoint(session, enabled=False)
        ready = queue(session, on, record_id=1, at=NOW - S)
        queue(session, on, record_id=2, at=NOW + S)
        queue(session, off, record_id=3, at=NOW - S)
        queue(session, on, record_id=4, at=NOW - S, status="delivered")
        queue(session, on, record_id=5, at=NOW - S, status="dead")
        retry = queue(session, on, record_id=6, at=NOW, status="failed")
    assert claim(db, "a") == [ready, retry]
    taken = row(db, ready)
    assert (taken.claimed_by, taken.claimed_until) == ("a", NOW + LEASE)


@pytest.mark.parametrize(
    ("at", "values", "due"),
    [
        (NOW - S, {}, True),
        (NOW, {"status": "failed"}, True),
        (NOW + S, {}, False),
        (NOW - S, {"status": "delivered"}, False),
        (NOW - S, {"status": "dead"}, False),
        (NOW - S, {"claimed_by": "b", "claimed_until": NOW + S}, False),
        (NOW - S, {"claimed_by": "b", "claimed_until": NOW}, True),
    ],
)
def test_any_due_says_yes_exactly_when_a_claim_finds_a_delivery(
    db: Database, at: datetime, values: dict[str, object], due: bool
) -> None:
    """The pass stops on its "no" (`bot.webhook_jobs`): a "no" with work due would leave the
    delivery unsent."""
    with db.session() as session:
        queue(session, endpoint(session), at=at, **values)
    assert db.read_sync(any_due, now=NOW) is due
    assert bool(claim(db, "a")) is due


def test_claim_carries_what_the_post_needs(db: Database) -> None:
    with db.session() as session:
        delivery_id = queue(session, endpoint(session))
        secret = session.get_one(WebhookEndpoint, row_endpoint(session, delivery_id)).secret
    (outgoing,) = claimed(db, "a")
    document = json.loads(outgoing.body)
    assert outgoing.secret == secret
    assert outgoing.event_id == document["id"] == f"evt_{row(db, delivery_id).event_id}"
    assert document["type"] == "customer.updated"
    assert document["data"] == {"id": 1, "amount": "1.50"}
    assert datetime.fromisoformat(document["timestamp"]) == NOW


def row_endpoint(session: Session, delivery_id: int) -> int:
    return session.get_one(WebhookDelivery, delivery_id).endpoint_id


def test_a_claimed_delivery_is_not_claimed_again_until_its_lease_expires(
    db: Database, one_delivery: int
) -> None:
    delivery_id = one_delivery
    assert claim(db, "a") == [delivery_id]
    assert claim(db, "b", now=NOW + LEASE - S) == []
    assert claim(db, "b", now=NOW + LEASE) == [delivery_id]  # "a" was killed: taken over
    assert not db.run_sync(
        mark_delivered, delivery_id=delivery_id, worker="a", status_code=200, at=NOW
    )
    assert fail(db, delivery_id, "a") is None
    assert row(db, delivery_id).claimed_by == "b"
    assert db.run_sync(
        mark_delivered, delivery_id=delivery_id, worker="b", status_code=204, at=NOW + LEASE
    )
    done = row(db, delivery_id)
    assert (done.status, done.attempts, done.last_status_code, done.claimed_by) == (
        DeliveryStatus.DELIVERED,
        1,
        204,
        None,
    )
    assert claim(db, "c", now=NOW + 2 * LEASE) == []


def test_a_batch_posted_in_rounds_holds_its_claim_a_lease_a_round(db: Database) -> None:
    with db.session() as session:
        hook = endpoint(session)
        ids = [queue(session, hook, record_id=i) for i in range(5)]
    got = db.run_sync(claim_due, now=NOW, worker="a", limit=8, lease=LEASE, per_lease=2)
    assert [o.delivery_id for o in got] == ids
    assert {row(db, i).claimed_until for i in ids} == {NOW + 3 * LEASE}  # 3 rounds of 2
    with db.session() as session:
        single = queue(session, hook, record_id=9)
    db.run_sync(claim_due, now=NOW, worker="a", limit=8, lease=LEASE, per_lease=2)
    assert row(db, single).claimed_until == NOW + LEASE


def test_a_batch_is_recorded_at_once_and_only_where_still_claimed(db: Database) -> None:
    with db.session() as session:
        hook = endpoint(session)
        ours, taken, failing = (queue(session, hook, record_id=i) for i in range(3))
    claim(db, "a")
    db.run_sync(
        lambda s: s.get_one(WebhookEndpoint, hook).__setattr__("failing_since", NOW - 60 * S)
    )
    db.run_sync(lambda s: s.get_one(WebhookDelivery, taken).__setattr__("claimed_by", "b"))
    outcomes = [Outcome(ours, 200), Outcome(taken, 204), Outcome(failing, 500, "HTTP 500")]
    assert db.run_sync(record_outcomes, worker="a", outcomes=outcomes, at=NOW) == []
    assert (row(db, ours).status, row(db, ours).last_status_code) == ("delivered", 200)
    assert (row(db, taken).status, row(db, taken).claimed_by) == ("pending", "b")
    assert (row(db, failing).status, row(db, failing).attempts) == ("failed", 1)
    assert row_of_endpoint(db, hook).failing_since == NOW  # the failure came after the success


def test_release_gives_a_claim_back_at_once(db: Database, one_delivery: int) -> None:
    delivery_id = one_delivery
    claim(db, "a")
    assert db.run_sync(release, delivery_ids=[delivery_id], worker="b") == 0
    assert db.run_sync(release, delivery_ids=[delivery_id], worker="a") == 1
    assert claim(db, "b") == [delivery_id]
    assert row(db, delivery_id).attempts == 0


def test_a_later_event_of_a_record_waits_for_the_earlier_one(db: Database) -> None:
    with db.session() as session:
        hook = endpoint(session)
        other_hook = endpoint(session)
        first = queue(session, hook, record_id=7, at=NOW - 2 * S)
        second = queue(session, hook, record_id=7, at=NOW - S)
        elsewhere = queue(session, other_hook, record_id=7, at=NOW - S)
        other_record = queue(session, hook, record_id=8, at=NOW - S)
    assert claim(db, "a") == [first, elsewhere, other_record]
    for done in (elsewhere, other_record):
        db.run_sync(mark_delivered, delivery_id=done, worker="a", status_code=200, at=NOW)
    fail(db, first, "a")  # retried later: still ahead of the second
    assert claim(db, "b", now=NOW + timedelta(minutes=5)) == [first]
    assert db.run_sync(
        mark_delivered, delivery_id=first, worker="b", status_code=200, at=NOW + 6 * S
    )
    assert claim(db, "b", now=NOW + timedelta(minutes=5)) == [second]


def test_a_dead_delivery_no_longer_holds_the_later_ones(db: Database) -> None:
    with db.session() as session:
        hook = endpoint(session)
        queue(session, hook, record_id=7, at=NOW - 2 * S, status="dead")
        later = queue(session, hook, record_id=7, at=NOW - S)
    assert claim(db, "a") == [later]


def test_failures_follow_the_backoff_and_give_up_after_a_day(
    db: Database, one_delivery: int
) -> None:
    delivery_id = one_delivery
    at = NOW
    retries = []
    while True:
        assert claim(db, "w", now=at) == [delivery_id]
        failure = fail(db, delivery_id, "w", at=at)
        assert failure is not None
        if failure.retry_at is None:  # type: ignore[attr-defined]
            break
        retries.append(failure.retry_at - at)  # type: ignore[attr-defined]
        assert claim(db, "w", now=failure.retry_at - S) == []  # type: ignore[attr-defined]
        at = failure.retry_at  # type: ignore[attr-defined]
    assert retries[:6] == [backoff(n) for n in range(1, 7)]
    assert at - NOW <= timedelta(days=1) < at - NOW + timedelta(hours=1)
    dead = row(db, delivery_id)
    assert (dead.status, dead.attempts, dead.last_error) == ("dead", len(retries) + 1, "boom")
    assert claim(db, "w", now=at + timedelta(days=2)) == []


def test_an_endpoint_failing_for_a_day_is_disabled_once(db: Database) -> None:
    with db.session() as session:
        hook = endpoint(session)
        early = queue(session, hook, record_id=1)
        late = queue(session, hook, record_id=2, at=NOW + timedelta(hours=23))
    claim(db, "a")
    assert fail(db, early, "a").disabled is None  # type: ignore[attr-defined]
    assert row_of_endpoint(db, hook).failing_since == NOW
    day_later = NOW + timedelta(days=1)
    assert claim(db, "a", now=day_later) == [early, late]
    assert fail(db, early, "a", at=day_later).disabled == "http://127.0.0.1:9/hook"  # type: ignore[attr-defined]
    assert fail(db, late, "a", at=day_later).disabled is None  # type: ignore[attr-defined]
    disabled = row_of_endpoint(db, hook)
    assert (disabled.enabled, disabled.disabled_at) == (False, day_later)
    assert claim(db, "a", now=day_later + timedelta(hours=2)) == []


def test_the_admins_notice_is_recorded_with_the_disabling_or_not_at_all(db: Database) -> None:
    with db.session() as session:
        admin = make_member(session, role=Role.ADMIN)
        make_member(session, role=Role.ADMIN).active = False
        make_member(session, role=Role.SALES)
        hook = endpoint(session)
        first = queue(session, hook, record_id=1)
        second = queue(session, hook, record_id=2)
    claim(db, "a")
    fail(db, first, "a")
    late = NOW + timedelta(days=1, seconds=1)
    with pytest.raises(RuntimeError):  # killed before the commit: neither is kept
        db.run_sync(disable_then_die, delivery_id=second, at=late)
    assert row_of_endpoint(db, hook).enabled
    assert notices(db) == []
    failure = db.run_sync(
        mark_failed, delivery_id=second, worker="a", status_code=None, error="x", at=late
    )
    assert failure is not None
    assert failure.disabled == "http://127.0.0.1:9/hook"
    assert not row_of_endpoint(db, hook).enabled
    assert [(r.member_id, r.text, r.due_at, r.status) for r in notices(db)] == [
        (admin.id, "http://127.0.0.1:9/hook", late, "pending")
    ]


def disable_then_die(session: Session, *, delivery_id: int, at: datetime) -> None:
    failure = mark_failed(
        session, delivery_id=delivery_id, worker="a", status_code=None, error="x", at=at
    )
    assert failure is not None
    assert failure.disabled is not None
    raise RuntimeError


def notices(db: Database) -> list[Reminder]:
    kind = col(Reminder.kind) == ReminderKind.WEBHOOK_OFF
    return list(db.read_sync(lambda s: s.exec(select(Reminder).where(kind)).all()))


def test_a_success_ends_the_failing_streak(db: Database) -> None:
    with db.session() as session:
        hook = endpoint(session)
        first = queue(session, hook, record_id=1)
        second = queue(session, hook, record_id=2)
    claim(db, "a")
    fail(db, first, "a")
    db.run_sync(mark_delivered, delivery_id=second, worker="a", status_code=200, at=NOW)
    assert row_of_endpoint(db, hook).failing_since is None


def row_of_endpoint(db: Database, endpoint_id: int) -> WebhookEndpoint:
    return db.read_sync(lambda s: s.get_one(WebhookEndpoint, endpoint_id))


def test_resend_puts_a_dead_delivery_back_for_another_day(db: Database, boss: Member) -> None:
    with db.session() as session:
        sales = make_member(session)
        delivery_id = queue(session, endpoint(session), status="dead")
    with pytest.raises(UnknownEndpoint):
        db.run_sync(resend_delivery, actor=sales, delivery_id=delivery_id, now=NOW)
    with pytest.raises(UnknownEndpoint):
        db.run_sync(resend_delivery, actor=boss, delivery_id=delivery_id + 1000, now=NOW)
    db.run_sync(resend_delivery, actor=boss, delivery_id=delivery_id, now=NOW + S)
    again = row(db, delivery_id)
    assert (again.status, again.next_attempt_at, again.give_up_at) == (
        "failed",
        NOW + S,
        NOW + S + timedelta(days=1),
    )
    assert claim(db, "a", now=NOW + S) == [delivery_id]


def test_history_and_enabling_are_for_admins_only(db: Database, boss: Member) -> None:
    with db.session() as session:
        manager = make_member(session, role=Role.MANAGER)
        hook = endpoint(session)
        queue(session, hook)
    (line,) = db.read_sync(list_deliveries, actor=boss, endpoint_id=hook)
    assert (line.event_type, line.record, line.status) == (
        "customer.updated",
        "customer 1",
        "pending",
    )
    for call in (
        lambda: db.read_sync(list_deliveries, actor=manager, endpoint_id=hook),
        lambda: db.run_sync(set_endpoint_enabled, actor=manager, endpoint_id=hook, enabled=False),
        lambda: db.read_sync(list_deliveries, actor=boss, endpoint_id=hook + 1),
    ):
        with pytest.raises(UnknownEndpoint):
            call()
    db.run_sync(set_endpoint_enabled, actor=boss, endpoint_id=hook, enabled=False)
    assert claim(db, "a") == []
    db.run_sync(set_endpoint_enabled, actor=boss, endpoint_id=hook, enabled=True)
    assert len(claim(db, "a")) == 1


def test_concurrent_claims_skip_locked_rows_without_waiting(postgres_db: Database) -> None:
    db = postgres_db
    with db.session() as session:
        hook = endpoint(session)
        ids = [queue(session, hook, record_id=i, at=NOW - i * S) for i in range(6)]
    with db.session() as first:
        held = claim_due(first, now=NOW, worker="a", limit=3, lease=LEASE)
        with db.session() as second:
            second.execute(text("SET LOCAL lock_timeout = '2s'"))
            other = claim_due(second, now=NOW, worker="b", limit=10, lease=LEASE)
    held_ids = {o.delivery_id for o in held}
    assert held_ids.isdisjoint({o.delivery_id for o in other})
    assert held_ids | {o.delivery_id for o in other} == set(ids)


def test_workers_in_threads_never_claim_the_same_delivery(db: Database) -> None:
    with db.session() as session:
        hooks = [endpoint(session) for _ in range(3)]
        ids = {queue(session, hooks[i % 3], record_id=i, at=NOW - i * S) for i in range(150)}
    taken: dict[str, list[int]] = {f"w{i}": [] for i in range(4)}
    errors: list[BaseException] = []

    def work(worker: str) -> None:
        try:
            while batch := claim(db, worker, limit=7):
                taken[worker] += batch
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [i for batch in taken.values() for i in batch]
    assert errors == []
    assert len(everything) == len(set(everything)) == len(ids)
