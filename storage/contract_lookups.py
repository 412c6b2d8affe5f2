"""Finding contracts by number or title, for `/find` and inline mode, through the access rule.

A number of a contract the member may not see finds nothing, exactly like an unknown one
(`storage.access.contract_scope`). Matches come best first: the number as typed (any case),
numbers starting with it, then titles containing it (from two characters on, so one letter
does not list every contract). Contracts are few next to customers (one team's), so a plain
indexed-column query is enough here.
"""

from __future__ import annotations

from sqlalchemy import case, func, or_
from sqlmodel import Session, col, select

from storage.access import contract_scope
from storage.models import Contract, Customer, Member
from storage.search.statements import escape_like

MIN_TITLE_QUERY = 2


def find_contracts(
    session: Session, *, actor: Member, query: str, limit: int = 5
) -> list[tuple[Contract, Customer]]:
    """Up to `limit` contracts the actor may see whose number or title matches `query`."""
    text = " ".join(query.split())
    if not text:
        return []
    number = func.lower(col(Contract.number))
    exact, prefix = text.lower(), f"{escape_like(text.lower())}%"
    matches = [number == exact, number.like(prefix, escape="\\")]
    if len(text) >= MIN_TITLE_QUERY:
        contains = f"%{escape_like(text.lower())}%"
        matches.append(func.lower(col(Contract.title)).like(contains, escape="\\"))
    rank = case((number == exact, 0), (number.like(prefix, escape="\\"), 1), else_=2)
    rows = session.exec(
        select(Contract, Customer)
        .join(Customer, col(Customer.id) == col(Contract.customer_id))
        .where(contract_scope(actor), or_(*matches))
        .order_by(rank, col(Contract.ends_on).desc().nulls_last(), col(Contract.id).desc())
        .limit(limit)
    )
    return [(contract, customer) for contract, customer in rows]
