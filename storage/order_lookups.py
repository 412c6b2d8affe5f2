"""Finding orders and tickets by number, for `/find` and inline mode, through the access rule.

A number of an order or ticket the member may not see finds nothing, exactly like an unknown
one (`storage.access.order_scope`, `ticket_scope`). Matches come best first: the number as
typed (any case), then numbers starting with it; latest first among equals. They are found by
number only (an order's products are many and short, and a customer's orders and tickets are
on the customer's card). Every /find runs both, so their statements are built once per role
(building one cost more than running it).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam
from sqlmodel import Session, col, select

from storage.access import ACTOR_ID, actor_id, role_record_scope, role_ticket_scope
from storage.models import Customer, Member, Order, Role, Ticket
from storage.numbering import number_match, number_params


def find_orders(
    session: Session, *, actor: Member, query: str, limit: int = 5
) -> list[tuple[Order, Customer]]:
    """Up to `limit` orders the actor may see whose number is or starts with `query`."""
    rows = _by_number(session, _orders(Role(actor.role), _dialect(session)), actor, query, limit)
    return [(order, customer) for order, customer in rows]


def find_tickets(
    session: Session, *, actor: Member, query: str, limit: int = 5
) -> list[tuple[Ticket, Customer]]:
    """Up to `limit` tickets the actor may see (their assignee too, from outside the owner's
    team) whose number is or starts with `query`."""
    rows = _by_number(session, _tickets(Role(actor.role), _dialect(session)), actor, query, limit)
    return [(ticket, customer) for ticket, customer in rows]


def _by_number(
    session: Session, statement: Select[Any, Customer], actor: Member, query: str, limit: int
) -> list[Any]:
    text = " ".join(query.split())
    if not text:
        return []
    params = {**number_params(text, _dialect(session)), ACTOR_ID: actor_id(actor), "limit": limit}
    return list(session.execute(statement, params).all())


@cache
def _orders(role: Role, dialect: str) -> Select[Any, Customer]:
    latest = (col(Order.ordered_on).desc(), col(Order.id).desc())
    return _numbered(Order, role_record_scope(Order, role), dialect, latest)


@cache
def _tickets(role: Role, dialect: str) -> Select[Any, Customer]:
    latest = (col(Ticket.created_at).desc(), col(Ticket.id).desc())
    return _numbered(Ticket, role_ticket_scope(role), dialect, latest)


def _numbered(
    model: type[Order] | type[Ticket], scope: Any, dialect: str, latest: tuple[Any, ...]
) -> Select[Any, Customer]:
    """`model`s in `scope` whose number matches, with their customers, best match first."""
    matches, rank = number_match(col(model.number), dialect)
    return (
        select(model, Customer)
        .join(Customer, col(Customer.id) == col(model.customer_id))
        .where(scope, matches)
        .order_by(rank, *latest)
        .limit(bindparam("limit"))
    )


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name
