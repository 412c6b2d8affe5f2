"""The customer's satisfaction beyond tickets: a 1-5 score heard after a delivered order or a
visit, kept with the tickets' scores in `satisfaction_score`, summed up on the customer card.

A score is falling (`is_falling`) when it is at most the floor or at least `drop` below the
customer's average before it. The owner's manager (without an active one: the admins) then
gets a reminder naming the customer (`ReminderKind.SATISFACTION`): made in the same
transaction as the score with a dedupe key naming it, so it is made once and claimed once
across restarts, and delivered in working hours (`exact_time=False`) with the customer's
Open button, checked as the recipient then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, delete, exists, func, not_, or_
from sqlmodel import Session, col, select

from storage.access import actor_id, require_interaction, require_order
from storage.audit import diff, record_audit, snapshot
from storage.members import overseers
from storage.models import (
    Customer,
    Interaction,
    Member,
    Order,
    OrderStatus,
    Reminder,
    Ticket,
    utcnow,
)
from storage.reminders import ReminderKind, ReminderStatus
from storage.satisfaction_models import SatisfactionScore

TICKET, ORDER, VISIT = "ticket", "order", "visit"
SOURCES: dict[str, type[Ticket | Order | Interaction]] = {
    TICKET: Ticket,
    ORDER: Order,
    VISIT: Interaction,
}
RATED_ORDERS = (OrderStatus.DELIVERED, OrderStatus.PAID)
AUDITED = {ORDER: "order", VISIT: "interaction"}  # the audit log's entity types


@dataclass(frozen=True)
class FallingRule:
    """`[tickets] satisfaction_drop` and `satisfaction_floor`; 0 turns either off."""

    drop: float = 1.5
    floor: int = 2


def is_falling(score: int, before: float | None, rule: FallingRule) -> bool:
    """At most the floor, or at least `drop` below the average before it (none: first score)."""
    if rule.floor and score <= rule.floor:
        return True
    return bool(rule.drop) and before is not None and before - score >= rule.drop


def _source_alive() -> ColumnElement[bool]:
    """The rated ticket, order or note is not deleted (its score leaves the figures with it)."""
    gone = [
        and_(
            col(SatisfactionScore.source_kind) == kind,
            exists()
            .where(col(model.id) == col(SatisfactionScore.source_id))
            .where(col(model.deleted_at).is_not(None)),
        )
        for kind, model in SOURCES.items()
    ]
    return not_(or_(*gone))


def _average(session: Session, customer_id: int, without: int | None = None) -> float | None:
    query = select(func.avg(SatisfactionScore.score)).where(
        col(SatisfactionScore.customer_id) == customer_id, _source_alive()
    )
    if without is not None:
        query = query.where(col(SatisfactionScore.id) != without)
    average = session.exec(query).one()
    return float(average) if average is not None else None


def keep_score(
    session: Session,
    *,
    actor: Member,
    customer_id: int,
    source_kind: str,
    source_id: int,
    score: int | None,
    comment: str | None = None,
    rule: FallingRule | None = None,
    now: datetime | None = None,
) -> SatisfactionScore | None:
    """Store (or replace) the score of a source the caller has loaded through the access rule;
    None removes it (not asked). A falling score tells the owner's manager (or the admins)."""
    if score is not None and not 1 <= score <= 5:
        raise ValueError("a score is 1 to 5")
    source = (col(SatisfactionScore.source_kind) == source_kind) & (
        col(SatisfactionScore.source_id) == source_id
    )
    if score is None:
        session.execute(delete(SatisfactionScore).where(source))
        return None
    row = session.exec(select(SatisfactionScore).where(source)).first() or SatisfactionScore(
        customer_id=customer_id, source_kind=source_kind, source_id=source_id, score=score,
        member_id=actor_id(actor),
    )  # fmt: skip
    row.score, row.member_id = score, actor_id(actor)
    row.comment = comment.strip() if comment and comment.strip() else None
    row.created_at = now or utcnow()
    session.add(row)
    session.flush()
    assert row.id is not None
    if is_falling(score, _average(session, customer_id, without=row.id), rule or FallingRule()):
        _flag_falling(session, actor, row)
    return row


def _told_of_falling(session: Session, actor: Member, owner: Member) -> list[int]:
    """Those who answer for the owner (`overseers`), never the actor, who rated it and knows."""
    return [m.id for m in overseers(session, owner) if m.id is not None and m.id != actor.id]


def _flag_falling(session: Session, actor: Member, row: SatisfactionScore) -> None:
    """One reminder each for those `_told_of_falling` names, once per score."""
    owner = session.get_one(Member, session.get_one(Customer, row.customer_id).owner_id)
    text = f"{row.score}/5" + (f" — {row.comment}" if row.comment else "")
    for member_id in _told_of_falling(session, actor, owner):
        key = f"satisfaction:{row.id}:{member_id}"
        if session.exec(select(Reminder.id).where(col(Reminder.dedupe_key) == key)).first():
            continue  # the same score rated again: told once
        session.add(
            Reminder(
                member_id=member_id,
                customer_id=row.customer_id,
                kind=ReminderKind.SATISFACTION,
                text=text[:500],
                due_at=row.created_at,
                exact_time=False,
                status=ReminderStatus.PENDING,
                dedupe_key=key,
                created_by_id=actor_id(actor),
            )
        )
    session.flush()


def record_score(
    session: Session,
    *,
    actor: Member,
    source_kind: str,
    source_id: int,
    score: int,
    comment: str | None = None,
    rule: FallingRule | None = None,
    now: datetime | None = None,
) -> SatisfactionScore:
    """The customer's score of a delivered (or paid) order or of a visit note the actor may
    see; anything else is ValueError, a record out of reach NotFound. The audit log keeps it
    as a change of the order or note (a ticket's score is the ticket's, `record_satisfaction`)."""
    customer_id, _label = _rateable(session, actor, source_kind, source_id)
    held = session.exec(
        select(SatisfactionScore).where(
            col(SatisfactionScore.source_kind) == source_kind,
            col(SatisfactionScore.source_id) == source_id,
        )
    ).first()
    before = snapshot(
        satisfaction_score=held.score if held else None,
        satisfaction_comment=held.comment if held else None,
    )
    row = keep_score(
        session,
        actor=actor,
        customer_id=customer_id,
        source_kind=source_kind,
        source_id=source_id,
        score=score,
        comment=comment,
        rule=rule,
        now=now,
    )
    assert row is not None
    after = snapshot(satisfaction_score=row.score, satisfaction_comment=row.comment)
    if changes := diff(before, after):
        record_audit(
            session,
            actor_id=actor_id(actor),
            action="update",
            entity_type=AUDITED[source_kind],
            entity_id=source_id,
            changes=changes,
        )
    return row


@cache
def satisfaction_summary() -> Select[int, Any, Any]:
    """How many live scores a customer (the `customer_id` parameter) has, their average and
    the latest, over tickets, orders and visits (deleted ones left out): one row, built once.
    No access check: the card adds it to its own statement after finding the customer
    visible (storage/ticket_views.py)."""
    live = (col(SatisfactionScore.customer_id) == bindparam("customer_id"), _source_alive())
    latest = (
        select(SatisfactionScore.score)
        .where(*live)
        .order_by(col(SatisfactionScore.created_at).desc(), col(SatisfactionScore.id).desc())
        .limit(1)
        .correlate(None)
        .scalar_subquery()
    )
    return select(func.count(), func.avg(SatisfactionScore.score), latest).where(*live)


def require_rateable(session: Session, *, actor: Member, source_kind: str, source_id: int) -> str:
    """What a score button names, checked as `record_score` will: the order's number or the
    visit's customer; NotFound out of reach, ValueError not rateable."""
    return _rateable(session, actor, source_kind, source_id)[1]


def _rateable(
    session: Session, actor: Member, source_kind: str, source_id: int
) -> tuple[int, str]:
    if source_kind == ORDER:
        order = require_order(session, actor=actor, order_id=source_id)
        if order.status not in RATED_ORDERS:
            raise ValueError("only a delivered order is rated")
        return order.customer_id, order.number
    if source_kind == VISIT:
        note = require_interaction(session, actor=actor, interaction_id=source_id)
        if note.kind != VISIT:
            raise ValueError("only a visit is rated")
        return note.customer_id, session.get_one(Customer, note.customer_id).name
    raise ValueError(f"unknown source {source_kind!r}")
