"""Finding orders and tickets by number, for `/find` and inline mode, through the access rule.

A number of an order or ticket the member may not see finds nothing, exactly like an unknown
one (`storage.access.order_scope`, `ticket_scope`). Matches come best first: the number as
typed (any case), then numbers starting with it; latest first among equals. They are found by
number only (an order's products are many and short, and a customer's orders and tickets are
on the customer's card).
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from storage.access import order_scope, ticket_scope
from storage.models import Customer, Member, Order, Ticket
from storage.numbering import number_match


def find_orders(
    session: Session, *, actor: Member, query: str, limit: int = 5
) -> list[tuple[Order, Customer]]:
    """Up to `limit` orders the actor may see whose number is or starts with `query`."""
    text = " ".join(query.split())
    if not text:
        return []
    matches, rank = number_match(col(Order.number), text, _dialect(session))
    rows = session.exec(
        select(Order, Customer)
        .join(Customer, col(Customer.id) == col(Order.customer_id))
        .where(order_scope(actor), matches)
        .order_by(rank, col(Order.ordered_on).desc(), col(Order.id).desc())
        .limit(limit)
    )
    return [(order, customer) for order, customer in rows]


def find_tickets(
    session: Session, *, actor: Member, query: str, limit: int = 5
) -> list[tuple[Ticket, Customer]]:
    """Up to `limit` tickets the actor may see (their assignee too, from outside the owner's
    team) whose number is or starts with `query`."""
    text = " ".join(query.split())
    if not text:
        return []
    matches, rank = number_match(col(Ticket.number), text, _dialect(session))
    rows = session.exec(
        select(Ticket, Customer)
        .join(Customer, col(Customer.id) == col(Ticket.customer_id))
        .where(ticket_scope(actor), matches)
        .order_by(rank, col(Ticket.created_at).desc(), col(Ticket.id).desc())
        .limit(limit)
    )
    return [(ticket, customer) for ticket, customer in rows]


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name
