"""Digest numbers from seeded rows with a pinned clock, and the sent-once log (both backends)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session

from storage.db import Database
from storage.digest import (
    DAILY,
    SalesDigest,
    claim_notification,
    finish_notification,
    last_period_end,
    list_digest_recipients,
    retry_notification,
    team_digest,
    unsettled_keys,
)
from storage.models import Customer, Deal, Interaction, Member, Reminder, Role
from storage.parsing import Money
from tests.factories import make_member, pk

NOW = datetime(2031, 1, 15, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai
SINCE = NOW - timedelta(days=1)
TODAY = date(2031, 1, 15)
IN_PERIOD = NOW - timedelta(hours=3)
BEFORE = NOW - timedelta(days=3)
LEASE = timedelta(minutes=5)


@dataclass
class Team:
    manager: Member
    alice: Member
    bob: Member
    carol: Member  # another manager's salesperson
    admin: Member


def customer(session: Session, owner: Member, *, at: datetime, **fields: object) -> Customer:
    row = Customer(owner_id=pk(owner), created_by_id=pk(owner), name="C", created_at=at, **fields)
    session.add(row)
    session.flush()
    return row


def deal(session: Session, owner: Member, *, at: datetime, stage: str, **fields: object) -> Deal:
    cust = customer(session, owner, at=BEFORE - timedelta(days=30), last_contact_at=BEFORE)
    row = Deal(
        customer_id=pk(cust),
        owner_id=pk(owner),
        created_by_id=pk(owner),
        title="D",
        stage=stage,
        created_at=at,
        **fields,
    )
    session.add(row)
    session.flush()
    return row


def seed(session: Session) -> Team:
    manager = make_member(session, role=Role.MANAGER, display_name="Mia")
    other_manager = make_member(session, role=Role.MANAGER, display_name="Otto")
    team = Team(
        manager=manager,
        alice=make_member(session, manager=manager, display_name="Alice"),
        bob=make_member(session, manager=manager, display_name="Bob"),
        carol=make_member(session, manager=other_manager, display_name="Carol"),
        admin=make_member(session, role=Role.ADMIN, display_name="Ada"),
    )
    alice, bob = team.alice, team.bob
    bob.unreachable_at = BEFORE
    # Alice: 2 new customers (+1 older, +1 deleted), 3 notes, 2 new deals (1 won for 1000 CNY),
    # 1 overdue follow-up (+1 done, +1 future), 1 stale customer (+1 recently contacted).
    recent = [customer(session, alice, at=IN_PERIOD) for _ in range(2)]
    customer(session, alice, at=BEFORE, last_contact_at=BEFORE)
    customer(session, alice, at=IN_PERIOD, deleted_at=IN_PERIOD)
    for _ in range(3):
        session.add(
            Interaction(
                customer_id=pk(recent[0]),
                owner_id=pk(alice),
                created_by_id=pk(alice),
                kind="call",
                happened_at=IN_PERIOD,
                created_at=IN_PERIOD,
            )
        )
    deal(session, alice, at=IN_PERIOD, stage="lead")
    deal(
        session,
        alice,
        at=IN_PERIOD,
        stage="won",
        closed_at=IN_PERIOD,
        amount=Decimal(1000),
        currency="CNY",
    )
    for due, status in (
        (NOW - timedelta(hours=1), "pending"),
        (BEFORE, "done"),
        (NOW + timedelta(hours=1), "pending"),
    ):
        session.add(Reminder(member_id=pk(alice), kind="follow_up", due_at=due, status=status))
    customer(session, alice, at=NOW - timedelta(days=40), last_contact_at=NOW - timedelta(days=20))
    # Bob: 1 lost deal for 500 USD opened earlier, 1 open deal past its expected close date
    # (+1 due today, not late yet).
    deal(
        session,
        bob,
        at=BEFORE,
        stage="lost",
        closed_at=IN_PERIOD,
        amount=Decimal(500),
        currency="USD",
    )
    deal(session, bob, at=BEFORE, stage="proposal", expected_close_date=TODAY - timedelta(days=1))
    deal(session, bob, at=BEFORE, stage="proposal", expected_close_date=TODAY)
    # Carol is in another team: never in Mia's digest.
    customer(session, team.carol, at=IN_PERIOD)
    return team


def lines_for(db: Database, recipient: Member) -> dict[str, SalesDigest]:
    digest = db.read_sync(
        team_digest, recipient=recipient, since=SINCE, until=NOW, today=TODAY, stale_days=14
    )
    assert (digest.since, digest.until) == (SINCE, NOW)
    return {line.name: line for line in digest.members}


def test_team_digest_counts_each_salesperson_of_the_team(db: Database) -> None:
    team = db.run_sync(seed)
    lines = lines_for(db, team.manager)
    assert set(lines) == {"Alice", "Bob"}
    alice = lines["Alice"]
    assert (alice.new_customers, alice.new_deals, alice.new_notes) == (2, 2, 3)
    assert (alice.won, alice.lost) == (1, 0)
    assert alice.won_amounts == [Money(Decimal("1000.00"), "CNY")]
    assert (alice.overdue_follow_ups, alice.stale_customers, alice.overdue_deals) == (1, 1, 0)
    assert not alice.unreachable


def test_team_digest_counts_losses_late_deals_and_blocked_members(db: Database) -> None:
    team = db.run_sync(seed)
    bob = lines_for(db, team.manager)["Bob"]
    assert (bob.new_customers, bob.new_deals, bob.new_notes) == (0, 0, 0)
    assert (bob.won, bob.lost) == (0, 1)
    assert bob.lost_amounts == [Money(Decimal("500.00"), "USD")]
    assert bob.overdue_deals == 1
    assert bob.unreachable


def test_team_digest_for_admin_covers_every_non_admin_member(db: Database) -> None:
    team = db.run_sync(seed)
    lines = lines_for(db, team.admin)
    assert {"Alice", "Bob", "Carol", "Mia", "Otto"} == set(lines)
    assert lines["Carol"].new_customers == 1


def test_team_digest_ignores_rows_outside_the_period(db: Database) -> None:
    team = db.run_sync(seed)
    digest = db.read_sync(
        team_digest,
        recipient=team.manager,
        since=NOW,
        until=NOW + timedelta(hours=1),
        today=TODAY,
        stale_days=14,
    )
    alice = next(line for line in digest.members if line.name == "Alice")
    assert (alice.new_customers, alice.new_deals, alice.new_notes, alice.won) == (0, 0, 0, 0)


def test_list_digest_recipients_skips_sales_and_blocked_managers(db: Database) -> None:
    team = db.run_sync(seed)
    recipients = {m.id for m in db.read_sync(list_digest_recipients)}
    assert team.manager.id in recipients
    assert team.admin.id in recipients
    assert team.alice.id not in recipients


def claim(db: Database, key: str, worker: str, now: datetime = NOW) -> int:
    return db.run_sync(
        claim_notification, kind=DAILY, key=key, worker=worker, now=now, lease=LEASE
    )


def test_claim_notification_gives_a_key_to_one_worker_only(db: Database) -> None:
    assert claim(db, "k", "a") == 1
    assert claim(db, "k", "b") == 0


def test_claim_notification_refuses_a_sent_key_forever(db: Database) -> None:
    claim(db, "k", "a")
    assert db.run_sync(finish_notification, key="k", worker="a", now=NOW)
    assert claim(db, "k", "b", now=NOW + timedelta(days=30)) == 0
    assert db.read_sync(unsettled_keys, keys=["k", "other"], now=NOW) == {"other"}


def test_claim_notification_takes_over_an_expired_lease(db: Database) -> None:
    claim(db, "k", "dead")
    assert claim(db, "k", "b", now=NOW + LEASE + timedelta(seconds=1)) == 2
    assert not db.run_sync(finish_notification, key="k", worker="dead", now=NOW)


def test_retry_notification_waits_until_not_before(db: Database) -> None:
    claim(db, "k", "a")
    db.run_sync(retry_notification, key="k", worker="a", not_before=NOW + timedelta(minutes=1))
    assert claim(db, "k", "b") == 0
    assert claim(db, "k", "b", now=NOW + timedelta(minutes=1)) == 2


def test_last_period_end_is_the_latest_sent_digest(db: Database) -> None:
    member_id = pk(db.run_sync(lambda s: make_member(s, role=Role.MANAGER)))
    for day, sent in ((1, True), (2, True), (3, False)):
        key, end = f"d{day}", NOW + timedelta(days=day)
        db.run_sync(
            claim_notification,
            kind=DAILY,
            key=key,
            worker="a",
            now=NOW,
            lease=LEASE,
            member_id=member_id,
            period_end=end,
        )
        if sent:
            db.run_sync(finish_notification, key=key, worker="a", now=NOW)
    assert db.read_sync(last_period_end, member_id=member_id, kind=DAILY) == NOW + timedelta(
        days=2
    )


@pytest.mark.parametrize("outcome", ["blocked", "failed"])
def test_finish_notification_with_failure_is_final(db: Database, outcome: str) -> None:
    claim(db, "k", "a")
    db.run_sync(finish_notification, key="k", worker="a", now=NOW, outcome=outcome)
    assert claim(db, "k", "b", now=NOW + timedelta(days=1)) == 0
