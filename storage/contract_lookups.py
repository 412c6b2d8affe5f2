"""Finding contracts by number or title, for `/find` and inline mode, through the access rule.

A number of a contract the member may not see finds nothing, exactly like an unknown one
(`storage.access.contract_scope`). Matches come best first: the number as typed (any case),
numbers starting with it (both from the lower(number) index), then titles containing it
(from two characters on, so one letter does not list every contract), only for what the
number tiers left of the page. Titles are found through a trigram index (migration 0023):
on SQLite FTS5 over the spaced title (`title_key`), so two characters are a trigram too; on
PostgreSQL pg_trgm, from three characters on (two read the titles in scope).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, column, literal_column, table
from sqlmodel import Session, col, select

from storage.access import contract_scope
from storage.models import Contract, Customer, Member, spaced
from storage.numbering import number_match
from storage.search.statements import escape_like

MIN_TITLE_QUERY = 2
_title_fts = table("contract_title_fts", column("rowid"))


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
        titled = visible.where(
            title_match(text, dialect),
            col(Contract.id).not_in([contract.id for contract, _ in found]),
        )
        found += session.exec(titled.order_by(*latest).limit(limit - len(found)))
    return [(contract, customer) for contract, customer in found]


def title_match(text: str, dialect: str) -> Any:
    """A title containing `text` in any case: on SQLite the spaced text as an FTS5 phrase
    over the spaced titles; on PostgreSQL ILIKE, served by pg_trgm."""
    if dialect != "sqlite":
        return col(Contract.title).ilike(f"%{escape_like(text)}%", escape="\\")
    phrase = '"' + spaced(text).replace('"', '""') + '"'
    matching = select(_title_fts.c.rowid).where(
        literal_column("contract_title_fts").op("MATCH")(bindparam("title_phrase", phrase))
    )
    return col(Contract.id).in_(matching)
