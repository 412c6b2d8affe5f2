"""Finding contracts by number or title, for `/find` and inline mode, through the access rule.

A number of a contract the member may not see finds nothing, exactly like an unknown one
(`storage.access.contract_scope`). Matches come best first: the number as typed (any case),
numbers starting with it (both from the lower(number) index), then titles containing it
(from two characters on, so one letter does not list every contract). The title tier reads
the contracts in scope, so it runs only for what the number tiers left of the page.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from storage.access import contract_scope
from storage.models import Contract, Customer, Member
from storage.numbering import number_match
from storage.search.statements import escape_like

MIN_TITLE_QUERY = 2


def find_contracts(
    session: Session, *, actor: Member, query: str, limit: int = 5
) -> list[tuple[Contract, Customer]]:
    """Up to `limit` contracts the actor may see whose number or title matches `query`."""
    text = " ".join(query.split())
    if not text:
        return []
    dialect = session.get_bind().dialect.name
    by_number, rank = number_match(col(Contract.number), text, dialect)
    latest = (col(Contract.ends_on).desc().nulls_last(), col(Contract.id).desc())
    visible = (
        select(Contract, Customer)
        .join(Customer, col(Customer.id) == col(Contract.customer_id))
        .where(contract_scope(actor))
    )
    found = list(session.exec(visible.where(by_number).order_by(rank, *latest).limit(limit)))
    if len(found) < limit and len(text) >= MIN_TITLE_QUERY:
        contains, title = f"%{escape_like(text)}%", col(Contract.title)
        # SQLite's LIKE already ignores ASCII case; lower() on each title doubled the scan
        in_title = title.like if dialect == "sqlite" else title.ilike
        titled = visible.where(
            in_title(contains, escape="\\"),
            col(Contract.id).not_in([contract.id for contract, _ in found]),
        )
        found += session.exec(titled.order_by(*latest).limit(limit - len(found)))
    return [(contract, customer) for contract, customer in found]
