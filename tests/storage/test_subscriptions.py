"""Subscriptions: subscribing twice keeps one row, unsubscribing removes it, and only active,
reachable subscribers are listed."""

from __future__ import annotations

from storage.db import Database
from storage.models import utcnow
from storage.notification_models import Subscription
from storage.subscriptions import (
    REPORT,
    WEEKLY,
    create_subscription,
    delete_subscription,
    get_subscription,
    list_subscribers,
)
from tests.e2e.helpers import rows
from tests.factories import make_member, pk


def test_subscribing_twice_keeps_one_subscription(db: Database, db_url: str) -> None:
    with db.session() as session:
        member = make_member(session)
        assert create_subscription(session, actor=member, kind=REPORT, cadence=WEEKLY)
        assert not create_subscription(session, actor=member, kind=REPORT, cadence=WEEKLY)
        found = get_subscription(session, actor=member, kind=REPORT)
    assert found is not None
    assert found.cadence == WEEKLY
    assert [(s.member_id, s.kind) for s in rows(db_url, Subscription)] == [(pk(member), REPORT)]


def test_unsubscribing_removes_it_and_says_whether_there_was_one(db: Database) -> None:
    with db.session() as session:
        member = make_member(session)
        create_subscription(session, actor=member, kind=REPORT, cadence=WEEKLY)
        assert delete_subscription(session, actor=member, kind=REPORT)
        assert not delete_subscription(session, actor=member, kind=REPORT)
        assert get_subscription(session, actor=member, kind=REPORT) is None


def test_subscribers_leave_out_inactive_and_unreachable_members(db: Database) -> None:
    with db.session() as session:
        keen = make_member(session)
        gone = make_member(session, active=False)
        blocked = make_member(session)
        blocked.unreachable_at = utcnow()
        make_member(session)  # never subscribed
        for member in (keen, gone, blocked):
            create_subscription(session, actor=member, kind=REPORT, cadence=WEEKLY)
        found = list_subscribers(session, kind=REPORT, cadence=WEEKLY)
    assert [pk(m) for m in found] == [pk(keen)]
