"""Finding orders and tickets by number, for `/find` and inline mode, through the access rule.

A number of an order or ticket the member may not see finds nothing, exactly like an unknown
one (`storage.access.order_scope`, `ticket_scope`). Matches come best first: the number as
typed (any case), then numbers starting with it; latest first among equals. They are found by
number only (an order's products are many and short, and a customer's orders and tickets are
on the customer's card). Every /find runs both (`storage.lookups.find_records`), so their
statements are built once per role (building one cost more than running it).
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import Select
from sqlmodel import col

from storage.access import role_record_scope, role_ticket_scope
from storage.models import Order, Role, Ticket
from storage.numbering import number_match, ranked_ids


@cache
def order_number_hits(role: Role, dialect: str) -> Select[int, int]:
    """Orders an actor of `role` may see whose number matches `number_params`."""
    matches, rank = number_match(col(Order.number), dialect)
    latest = (rank, col(Order.ordered_on).desc(), col(Order.id).desc())
    return ranked_ids(Order, role_record_scope(Order, role), matches, latest)


@cache
def ticket_number_hits(role: Role, dialect: str) -> Select[int, int]:
    """Tickets an actor of `role` may see (their assignee too, from outside the owner's team)
    whose number matches `number_params`."""
    matches, rank = number_match(col(Ticket.number), dialect)
    latest = (rank, col(Ticket.created_at).desc(), col(Ticket.id).desc())
    return ranked_ids(Ticket, role_ticket_scope(role), matches, latest)
