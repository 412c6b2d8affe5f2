"""Tickets in figures: `/export tickets` (a row per ticket) and the tickets of `/report`
(opened, resolved, overdue, the median time to resolve, satisfaction by salesperson and by
type), both for the tickets the actor may see (`storage.access.ticket_scope`)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select as core_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from storage.access import ticket_scope
from storage.export import ExportTable, Value
from storage.models import Customer, Member, Order, Ticket, utcnow
from storage.tickets import DONE

TICKET_COLUMNS = (
    "id",
    "ticket_number",
    "customer",
    "ticket_type",
    "priority",
    "ticket_status",
    "assignee",
    "owner",
    "created_at",
    "due_at",
    "resolved_at",
    "hours_to_resolve",
    "overdue",
    "satisfaction_score",
    "satisfaction_comment",
    "order_number",
)
YES, NO = "yes", "no"


def hours_between(start: datetime, end: datetime) -> Decimal:
    """A duration in hours with one decimal, as a spreadsheet sums it."""
    return (Decimal((end - start).total_seconds()) / 3600).quantize(Decimal("0.1"))


def is_late(ticket: Ticket, now: datetime) -> bool:
    """Resolved after its due time, or still open past it."""
    if ticket.resolved_at is not None:
        return ticket.resolved_at > ticket.due_at
    return ticket.status not in DONE and ticket.due_at < now


def list_ticket_rows(
    session: Session, *, actor: Member, now: datetime | None = None
) -> ExportTable:
    """A row per ticket the actor may see, its order's number when it names one."""
    now = now or utcnow()
    owner, assignee = aliased(Member), aliased(Member)
    found = session.execute(  # five columns: more than sqlmodel's `select` is typed for
        core_select(
            Ticket,
            col(Customer.name),
            col(assignee.display_name),
            col(owner.display_name),
            col(Order.number),
        )
        .join(Customer, col(Customer.id) == col(Ticket.customer_id))
        .join(owner, col(owner.id) == col(Ticket.owner_id))
        .join(assignee, col(assignee.id) == col(Ticket.assignee_id))
        .outerjoin(Order, col(Order.id) == col(Ticket.order_id))
        .where(ticket_scope(actor))
        .order_by(col(Ticket.id))
    ).all()
    rows: list[tuple[Value, ...]] = [
        (
            t.id,
            t.number,
            customer,
            t.type,
            t.priority,
            t.status,
            assignee_name,
            owner_name,
            t.created_at,
            t.due_at,
            t.resolved_at,
            hours_between(t.created_at, t.resolved_at) if t.resolved_at else None,
            YES if is_late(t, now) else NO,
            t.satisfaction_score,
            t.satisfaction_comment,
            order_number,
        )
        for t, customer, assignee_name, owner_name, order_number in found
    ]
    return ExportTable(TICKET_COLUMNS, rows)


@dataclass(frozen=True)
class Rating:
    """The average satisfaction of the tickets of one salesperson or one type."""

    key: str
    average: float
    count: int


@dataclass(frozen=True)
class TicketFigures:
    """Tickets opened and resolved in the period, those due in it and not resolved in time,
    the median time from opening to resolving, and the scores of those resolved in it."""

    opened: int = 0
    resolved: int = 0
    overdue: int = 0
    median_to_resolve: timedelta | None = None
    by_owner: list[Rating] = field(default_factory=list)
    by_type: list[Rating] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.opened or self.resolved or self.overdue)


def ticket_figures(
    session: Session, *, actor: Member, since: datetime, until: datetime, now: datetime
) -> TicketFigures:
    """The figures of the UTC period [since, until): a handful of rows per ticket, read once."""
    rows = session.exec(
        select(Ticket, Member.display_name)
        .join(Customer, col(Customer.id) == col(Ticket.customer_id))
        .join(Member, col(Member.id) == col(Ticket.owner_id))
        .where(
            ticket_scope(actor),
            (col(Ticket.created_at) >= since) & (col(Ticket.created_at) < until)
            | (col(Ticket.resolved_at) >= since) & (col(Ticket.resolved_at) < until)
            | (col(Ticket.due_at) >= since) & (col(Ticket.due_at) < until),
        )
    ).all()

    def within(at: datetime | None) -> bool:
        return at is not None and since <= at < until

    resolved = [(t, name) for t, name in rows if within(t.resolved_at)]
    durations = [
        (t.resolved_at - t.created_at).total_seconds() for t, _ in resolved if t.resolved_at
    ]
    rated = [(t, name) for t, name in resolved if t.satisfaction_score is not None]
    return TicketFigures(
        opened=sum(1 for t, _ in rows if within(t.created_at)),
        resolved=len(resolved),
        overdue=sum(1 for t, _ in rows if within(t.due_at) and is_late(t, now)),
        median_to_resolve=(timedelta(seconds=statistics.median(durations)) if durations else None),
        by_owner=_ratings([(name, t.satisfaction_score or 0) for t, name in rated]),
        by_type=_ratings([(t.type, t.satisfaction_score or 0) for t, _ in rated]),
    )


def _ratings(scores: list[tuple[str, int]]) -> list[Rating]:
    """Averages by key, best first (then by name)."""
    grouped: dict[str, list[int]] = {}
    for key, score in scores:
        grouped.setdefault(key, []).append(score)
    ratings = [Rating(k, sum(v) / len(v), len(v)) for k, v in grouped.items()]
    return sorted(ratings, key=lambda r: (-r.average, r.key))
