"""Finding orders by number, for `/find` and inline mode, through the access rule.

A number of an order the member may not see finds nothing, exactly like an unknown one
(`storage.access.order_scope`). Matches come best first: the number as typed (any case), then
numbers starting with it; latest orders first among equals. Orders are found by number only
(their products are many and short, and a customer's orders are on the customer's card).
"""

from __future__ import annotations

from sqlalchemy import case, func, or_
from sqlmodel import Session, col, select

from storage.access import order_scope
from storage.models import Customer, Member, Order
from storage.search.statements import escape_like


def find_orders(
    session: Session, *, actor: Member, query: str, limit: int = 5
) -> list[tuple[Order, Customer]]:
    """Up to `limit` orders the actor may see whose number is or starts with `query`."""
    text = " ".join(query.split())
    if not text:
        return []
    number = func.lower(col(Order.number))
    exact, prefix = text.lower(), f"{escape_like(text.lower())}%"
    rank = case((number == exact, 0), else_=1)
    rows = session.exec(
        select(Order, Customer)
        .join(Customer, col(Customer.id) == col(Order.customer_id))
        .where(order_scope(actor), or_(number == exact, number.like(prefix, escape="\\")))
        .order_by(rank, col(Order.ordered_on).desc(), col(Order.id).desc())
        .limit(limit)
    )
    return [(order, customer) for order, customer in rows]
