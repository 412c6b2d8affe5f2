"""Tickets as members read them: the card (with its history and comments), /tickets, and a
customer's open tickets and satisfaction on the customer card. All through `ticket_scope`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import bindparam, func, literal
from sqlmodel import Session, col, select

from storage.access import (
    ACTOR_ID,
    NotFound,
    actor_id,
    require_customer,
    require_interaction,
    require_member,
    require_ticket,
    role_ticket_scope,
    ticket_scope,
)
from storage.models import (
    Attachment,
    Customer,
    Interaction,
    Member,
    Role,
    Ticket,
    TicketComment,
    TicketStatus,
    TicketStatusChange,
    utcnow,
)
from storage.numbering import number_is
from storage.prepared import PreparedSelect
from storage.satisfaction import satisfaction_summary
from storage.tickets import OPEN, Priority, count_files


@dataclass(frozen=True)
class TicketEvent:
    """A status move or a comment, as the card's history lists them."""

    at: datetime
    member: str
    from_status: str | None
    to_status: str | None
    text: str | None


@dataclass(frozen=True)
class TicketView:
    """A ticket loaded after one access check, with what its card shows."""

    ticket: Ticket
    customer_name: str
    assignee_name: str
    files: int
    history: list[TicketEvent]


def get_ticket_view(session: Session, *, actor: Member, ticket_id: int) -> TicketView:
    """A ticket the actor may see with its whole history, oldest first."""
    ticket = require_ticket(session, actor=actor, ticket_id=ticket_id)
    moves = session.exec(
        select(TicketStatusChange, Member.display_name)
        .join(Member, col(Member.id) == col(TicketStatusChange.changed_by_id))
        .where(col(TicketStatusChange.ticket_id) == ticket_id)
        .order_by(col(TicketStatusChange.id))  # events of one moment stay in their order
    ).all()
    comments = session.exec(
        select(TicketComment, Member.display_name)
        .join(Member, col(Member.id) == col(TicketComment.member_id))
        .where(col(TicketComment.ticket_id) == ticket_id)
        .order_by(col(TicketComment.id))
    ).all()
    history = [
        TicketEvent(m.changed_at, n, m.from_status, m.to_status, m.comment) for m, n in moves
    ]
    history += [TicketEvent(c.created_at, n, None, None, c.text) for c, n in comments]
    history.sort(key=lambda event: event.at)
    files = count_files(session, ticket_id)
    return TicketView(
        ticket=ticket,
        customer_name=session.get_one(Customer, ticket.customer_id).name,
        assignee_name=session.get_one(Member, ticket.assignee_id).display_name,
        files=files,
        history=history,
    )


def ticket_histories(
    session: Session, *, ticket_ids: list[int]
) -> dict[int, tuple[list[TicketStatusChange], list[TicketComment]]]:
    """The status moves and comments of tickets already loaded through the access rule (a
    page of the API), oldest first, in two queries whatever the page's size."""
    found: dict[int, tuple[list[TicketStatusChange], list[TicketComment]]] = {
        i: ([], []) for i in ticket_ids
    }
    if not ticket_ids:
        return found
    moves = session.exec(
        select(TicketStatusChange)
        .where(col(TicketStatusChange.ticket_id).in_(ticket_ids))
        .order_by(col(TicketStatusChange.changed_at), col(TicketStatusChange.id))
    )
    for move in moves:
        found[move.ticket_id][0].append(move)
    comments = session.exec(
        select(TicketComment)
        .where(col(TicketComment.ticket_id).in_(ticket_ids))
        .order_by(col(TicketComment.created_at), col(TicketComment.id))
    )
    for comment in comments:
        found[comment.ticket_id][1].append(comment)
    return found


@dataclass(frozen=True)
class TicketLine:
    """One line of /tickets."""

    ticket: Ticket
    customer_name: str
    assignee_name: str


def list_open_tickets(
    session: Session,
    *,
    actor: Member,
    overdue: bool = False,
    now: datetime | None = None,
    limit: int = 20,
    offset: int = 0,
    status: TicketStatus | None = None,
    assignee_id: int | None = None,
) -> list[TicketLine]:
    """The open tickets the actor may see (a manager's: the team's), soonest due first;
    `overdue` keeps those whose due time has passed, `status` those in that open status,
    `assignee_id` those of a member the actor may list (`member_scope`; anyone else, as a
    forged button names, is NotFound)."""
    if status is not None and status not in OPEN:
        raise NotFound
    query = (
        select(Ticket, Customer.name, Member.display_name)
        .join(Customer, col(Customer.id) == col(Ticket.customer_id))
        .join(Member, col(Member.id) == col(Ticket.assignee_id))
        .where(ticket_scope(actor), col(Ticket.status).in_([status] if status else OPEN))
    )
    if assignee_id is not None:
        require_member(session, actor=actor, member_id=assignee_id)
        query = query.where(col(Ticket.assignee_id) == assignee_id)
    if overdue:
        query = query.where(col(Ticket.due_at) < (now or utcnow()))
    rows = session.exec(
        query.order_by(col(Ticket.due_at), col(Ticket.id)).offset(offset).limit(limit)
    )
    return [TicketLine(ticket, name, assignee) for ticket, name, assignee in rows]


@dataclass(frozen=True)
class CustomerTickets:
    """A customer's support at a glance: open tickets, and their satisfaction: the latest score
    and the average of tickets, delivered orders and visits (`storage.satisfaction`)."""

    open: int
    rated: int
    average: float | None
    latest: int | None = None


def customer_tickets(session: Session, *, actor: Member, customer: Customer) -> CustomerTickets:
    """For the card of `customer`, which the card's own read found visible to the actor: its
    open tickets the actor may see, and its scores."""
    params = {"customer_id": customer.id, ACTOR_ID: actor_id(actor)}
    ((rated, average, latest, open_count),) = _card_figures(Role(actor.role)).rows(session, params)
    return CustomerTickets(
        open=open_count,
        rated=rated,
        average=float(average) if average is not None else None,
        latest=latest,
    )


@cache
def _card_figures(role: Role) -> PreparedSelect:
    """The customer's scores (`satisfaction_summary`) and how many of its open tickets an actor
    of `role` may see, in one statement built once: the card reads it every time."""
    open_tickets = (
        select(func.count())
        .select_from(Ticket)
        .join(Customer, col(Customer.id) == col(Ticket.customer_id))
        .where(
            col(Ticket.customer_id) == bindparam("customer_id"),
            role_ticket_scope(role),
            col(Ticket.status).in_([literal(status) for status in OPEN]),
        )
        .correlate(None)
        .scalar_subquery()
    )
    return PreparedSelect(satisfaction_summary().add_columns(open_tickets))


def find_ticket_by_number(session: Session, *, actor: Member, number: str) -> Ticket:
    """A ticket the actor may see by its number (any case): a reply to its card names it."""
    found = session.exec(
        select(Ticket)
        .join(Customer, col(Customer.id) == col(Ticket.customer_id))
        .where(number_is(Ticket.number, number.strip()), ticket_scope(actor))
    ).first()
    if found is None:
        raise NotFound
    return found


@dataclass(frozen=True)
class TicketsToChase:
    """A salesperson's open tickets a manager's digest names: overdue ones, and urgent ones
    not yet overdue (numbers, soonest due first)."""

    overdue: list[str]
    urgent: list[str]


def tickets_to_chase(
    session: Session, *, owner_ids: list[int], now: datetime
) -> dict[int, TicketsToChase]:
    """The open tickets of customers of `owner_ids` (by the ticket's owner, as deals are
    counted), overdue at `now` or urgent, by owner; neither ticket nor customer deleted."""
    rows = session.exec(
        select(Ticket)
        .join(Customer, col(Customer.id) == col(Ticket.customer_id))
        .where(
            col(Ticket.owner_id).in_(owner_ids),
            col(Ticket.status).in_(OPEN),
            col(Ticket.deleted_at).is_(None),
            col(Customer.deleted_at).is_(None),
            (col(Ticket.due_at) < now) | (col(Ticket.priority) == Priority.URGENT),
        )
        .order_by(col(Ticket.due_at), col(Ticket.id))
    )
    found: dict[int, TicketsToChase] = {}
    for ticket in rows:
        lists = found.setdefault(ticket.owner_id, TicketsToChase([], []))
        (lists.overdue if ticket.due_at < now else lists.urgent).append(ticket.number)
    return found


def note_for_ticket(
    session: Session, *, actor: Member, note_id: int
) -> tuple[Interaction, Customer]:
    """A note the actor may see and its customer: a request heard on that call or visit."""
    note = require_interaction(session, actor=actor, interaction_id=note_id)
    return note, require_customer(session, actor=actor, customer_id=note.customer_id)


def list_ticket_files(session: Session, *, actor: Member, ticket_id: int) -> list[Attachment]:
    """A ticket's photos and files, oldest first, to send them back."""
    require_ticket(session, actor=actor, ticket_id=ticket_id)
    return list(
        session.exec(
            select(Attachment)
            .where(col(Attachment.ticket_id) == ticket_id)
            .order_by(col(Attachment.id))
        )
    )
