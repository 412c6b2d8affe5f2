"""Ticket figures (the report's counts, median and averages, the export's rows) and the
customer's satisfaction beyond tickets (orders and visits, the average, the falling rule and
its one reminder to the owner's manager)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, col, select

from storage.access import NotFound
from storage.audit import list_audit
from storage.db import Database
from storage.interactions import InteractionCreate, create_interaction
from storage.models import Customer, Member, OrderStatus, Reminder, Role, TicketStatus, utcnow
from storage.orders import OrderCreate, OrderLineCreate, create_order
from storage.record_changes import archive_interaction
from storage.satisfaction import FallingRule, is_falling, record_score
from storage.ticket_figures import list_ticket_rows, ticket_figures
from storage.ticket_views import customer_tickets
from storage.tickets import Priority, TicketCreate, create_ticket, move_ticket, record_satisfaction
from tests.factories import make_customer, make_member, pk
from tests.storage.test_access import make_team

NOW = utcnow().replace(microsecond=0)
DAY = timedelta(days=1)


def ticket(
    session: Session,
    owner: Member,
    kind: str,
    *,
    created: datetime,
    due: datetime,
    resolved: datetime | None = None,
    score: int | None = None,
) -> int:
    """A ticket of a new customer of `owner`'s, resolved at `resolved` with `score`."""
    data = TicketCreate(
        customer_id=pk(make_customer(session, owner=owner)),
        type=kind,
        priority=Priority.NORMAL,
        description="pump leaks",
        due_at=due,
    )
    made = create_ticket(session, actor=owner, data=data, now=created)
    if resolved is not None:
        move_ticket(session, actor=owner, ticket_id=pk(made), status=TicketStatus.RESOLVED)
        made.resolved_at = resolved
        record_satisfaction(session, actor=owner, ticket_id=pk(made), score=score)
    return pk(made)


def test_ticket_figures_and_rows_by_the_ticket_scope(db: Database) -> None:
    with db.session() as session:
        team = make_team(session)
        li, bo = team.sales_a, make_member(session, manager=team.manager_a, display_name="Bo")
        li.display_name = "Li"
        late = ticket(
            session, li, "repair", created=NOW - 6 * DAY, due=NOW - 5 * DAY,
            resolved=NOW - 4 * DAY, score=4,
        )  # fmt: skip
        on_time = ticket(
            session, li, "complaint", created=NOW - 3 * DAY, due=NOW + DAY,
            resolved=NOW - 2 * DAY, score=2,
        )  # fmt: skip
        ticket(session, bo, "repair", created=NOW - 2 * DAY, due=NOW - DAY)  # open, overdue
        ticket(session, team.sales_b, "repair", created=NOW - 2 * DAY, due=NOW - DAY)
        old = ticket(
            session, li, "repair", created=NOW - 30 * DAY, due=NOW - 20 * DAY,
            resolved=NOW - 25 * DAY, score=1,
        )  # fmt: skip
        week = {"since": NOW - 7 * DAY, "until": NOW, "now": NOW}
        team_figures = ticket_figures(session, actor=team.manager_a, **week)
        own = ticket_figures(session, actor=li, **week)
        rows = list_ticket_rows(session, actor=li, now=NOW)
        assert ticket_figures(session, actor=make_member(session), **week).empty
    assert (team_figures.opened, team_figures.resolved, team_figures.overdue) == (3, 2, 2)
    assert team_figures.median_to_resolve == timedelta(hours=36)
    assert [(r.key, r.average, r.count) for r in team_figures.by_owner] == [("Li", 3.0, 2)]
    assert [(r.key, r.average) for r in team_figures.by_type] == [
        ("repair", 4.0),
        ("complaint", 2.0),
    ]
    assert (own.opened, own.resolved, own.overdue) == (2, 2, 1)
    columns = rows.columns
    picked = [
        (r[0], r[columns.index("hours_to_resolve")], r[columns.index("overdue")])
        for r in rows.rows
    ]
    assert picked == [(late, Decimal("48.0"), "yes"), (on_time, Decimal("24.0"), "no"),
                      (old, Decimal("120.0"), "no")]  # fmt: skip
    assert rows.rows[0][columns.index("satisfaction_score")] == 4


def test_falling_rule() -> None:
    rule = FallingRule(drop=1.5, floor=2)
    assert is_falling(2, None, rule)  # at the floor, even a first score
    assert not is_falling(3, None, rule)
    assert not is_falling(3, 4.0, rule)
    assert is_falling(3, 4.5, rule)
    assert not is_falling(1, 5.0, FallingRule(drop=0, floor=0))


def visit(session: Session, owner: Member, customer: Customer, kind: str = "visit") -> int:
    data = InteractionCreate(
        customer_id=pk(customer), kind=kind, happened_at=NOW - DAY, summary="met"
    )
    return pk(create_interaction(session, actor=owner, data=data))  # type: ignore[arg-type]


def order(session: Session, owner: Member, customer: Customer, status: OrderStatus) -> int:
    data = OrderCreate(
        customer_id=pk(customer),
        ordered_on=date(2026, 1, 2),
        lines=(OrderLineCreate("X2"),),
        status=status,
    )
    return pk(create_order(session, actor=owner, data=data))  # type: ignore[arg-type]


def test_scores_average_and_a_falling_one_tells_the_manager_once(db: Database) -> None:
    rule = FallingRule(drop=1.5, floor=0)
    with db.session() as session:
        team = make_team(session)
        li, mia = team.sales_a, team.manager_a
        customer = make_customer(session, owner=li)
        first, second = visit(session, li, customer), visit(session, li, customer)
        delivered = order(session, li, customer, OrderStatus.DELIVERED)
        for source in (first, second):
            record_score(session, actor=li, source_kind="visit", source_id=source, score=5,
                         rule=rule)  # fmt: skip
        for _ in range(2):  # the same order rated twice: one score, one reminder
            record_score(session, actor=li, source_kind="order", source_id=delivered, score=3,
                         comment=" late ", rule=rule)  # fmt: skip
        told = session.exec(select(Reminder).where(col(Reminder.kind) == "satisfaction")).all()
        trail = [e.changes for e in list_audit(session, entity_type="order", entity_id=delivered)]
        summary = customer_tickets(session, actor=li, customer=customer)
        archive_interaction(session, actor=li, interaction_id=second)
        after_delete = customer_tickets(session, actor=li, customer=customer)
        refused = (
            ("order", order(session, li, customer, OrderStatus.SHIPPED), li, ValueError),
            ("visit", visit(session, li, customer, kind="call"), li, ValueError),
            ("order", delivered, team.sales_b, NotFound),
        )
        for kind, source_id, actor, error in refused:
            with pytest.raises(error):
                record_score(session, actor=actor, source_kind=kind, source_id=source_id,
                             score=4)  # fmt: skip
    assert [(r.member_id, r.customer_id, r.text, r.exact_time) for r in told] == [
        (pk(mia), pk(customer), "3/5 — late", False)
    ]
    assert (summary.latest, round(summary.average or 0, 2), summary.rated) == (3, 4.33, 3)
    rated = {"satisfaction_score": [None, 3], "satisfaction_comment": [None, "late"]}
    assert [c for c in trail if "satisfaction_score" in c] == [rated]
    assert {} not in trail  # rated again the same: no entry without a change
    assert (after_delete.average, after_delete.rated) == (4.0, 2)


def test_a_falling_score_without_an_active_manager_tells_the_admins(db: Database) -> None:
    """A loner's customer, or one whose manager left: each active admin, once; never the
    admin who rated it, nor an inactive one."""
    with db.session() as session:
        team = make_team(session)
        other = make_member(session, role=Role.ADMIN)
        make_member(session, role=Role.ADMIN, active=False)
        lone = make_customer(session, owner=team.loner)
        met = visit(session, team.loner, lone)
        for _ in range(2):  # rated again: still told once
            record_score(session, actor=team.loner, source_kind="visit", source_id=met,
                         score=1)  # fmt: skip
        team.manager_a.active = False
        left = make_customer(session, owner=team.sales_a)
        record_score(session, actor=team.admin, source_kind="visit",
                     source_id=visit(session, team.admin, left), score=1)  # fmt: skip
        told = session.exec(
            select(Reminder).where(col(Reminder.kind) == "satisfaction").order_by(col(Reminder.id))
        ).all()
        pairs = [(r.member_id, r.customer_id) for r in told]
    assert pairs == [(pk(team.admin), pk(lone)), (pk(other), pk(lone)), (pk(other), pk(left))]
