"""Finding contracts by number or title, for `/find` and inline mode, through the access rule.

A number of a contract the member may not see finds nothing, exactly like an unknown one
(`storage.access.contract_scope`). Matches come best first: the number as typed (any case),
numbers starting with it (both from the lower(number) index), then titles containing it
(from two characters on, so one letter does not list every contract), only for what the
number tiers left of the page. Titles are found through a trigram index of the title with its
characters spaced (`title_key`, migration 0023), so two characters are a trigram too: FTS5
on SQLite, pg_trgm on PostgreSQL. On SQLite a query of three characters or more reads an
FTS5 trigram index of the title as typed instead (migration 0025): in the spaced one a Latin
name's trigrams are pairs of letters, in most titles (6-10 ms a name, against ~0.02 ms).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import BindParameter, Select, String, bindparam, column, literal_column, table
from sqlmodel import Session, col, select

from storage.access import ACTOR_ID, actor_id, role_record_scope
from storage.models import Contract, Customer, Member, Role, spaced
from storage.numbering import number_match, number_params
from storage.search.statements import escape_like

MIN_TITLE_QUERY = 2
MIN_TRIGRAM = 3  # a shorter query is looked up in the spaced titles
_spaced_fts = table("contract_title_fts", column("rowid"))
_text_fts = table("contract_title_text_fts", column("rowid"))


def find_contracts(
    session: Session, *, actor: Member, query: str, limit: int = 5
) -> list[tuple[Contract, Customer]]:
    """Up to `limit` contracts the actor may see whose number or title matches `query`."""
    text = " ".join(query.split())
    if not text:
        return []
    dialect = session.get_bind().dialect.name
    by_number, by_title = _statements(Role(actor.role), dialect, short=len(text) < MIN_TRIGRAM)
    params: dict[str, Any] = {ACTOR_ID: actor_id(actor), "limit": limit}
    found = list(session.execute(by_number, {**params, **number_params(text, dialect)}).all())
    if len(found) < limit and len(text) >= MIN_TITLE_QUERY:
        titled = {
            **params,
            **title_params(text, dialect),
            "found": [contract.id for contract, _ in found],
            "limit": limit - len(found),
        }
        found += session.execute(by_title, titled).all()
    return [(contract, customer) for contract, customer in found]


@cache
def _statements(
    role: Role, dialect: str, *, short: bool
) -> tuple[Select[Contract, Customer], Select[Contract, Customer]]:
    """By number, then by title (but not those `found` by number) for a `short` query or a
    longer one: built once per role, as every /find runs them (building one cost more than
    running it)."""
    latest = (col(Contract.ends_on).desc().nulls_last(), col(Contract.id).desc())
    visible = (
        select(Contract, Customer)
        .join(Customer, col(Customer.id) == col(Contract.customer_id))
        .where(role_record_scope(Contract, role))
    )
    by_number, rank = number_match(col(Contract.number), dialect)
    titled = visible.where(
        title_match(dialect, short=short),
        col(Contract.id).not_in(bindparam("found", expanding=True)),
    )
    limit: BindParameter[int] = bindparam("limit")
    return (
        visible.where(by_number).order_by(rank, *latest).limit(limit),
        titled.order_by(*latest).limit(limit),
    )


def title_match(dialect: str, *, short: bool) -> Any:
    """A title containing the text of `title_params` in any case: on SQLite an FTS5 phrase,
    in the titles as typed, or spaced for a `short` query (under MIN_TRIGRAM characters); on
    PostgreSQL the spaced text in the spaced titles, by ILIKE served by pg_trgm."""
    if dialect != "sqlite":
        return col(Contract.title_key).ilike(bindparam("title_like", type_=String), escape="\\")
    fts = _spaced_fts if short else _text_fts
    matching = select(fts.c.rowid).where(
        literal_column(fts.name).op("MATCH")(bindparam("title_phrase", type_=String))
    )
    return col(Contract.id).in_(matching)


def title_params(text: str, dialect: str) -> dict[str, str]:
    """The parameters of `title_match` for `text` (short when under MIN_TRIGRAM characters)."""
    if dialect != "sqlite":
        return {"title_like": f"%{escape_like(spaced(text))}%"}
    indexed = spaced(text) if len(text) < MIN_TRIGRAM else text
    return {"title_phrase": '"' + indexed.replace('"', '""') + '"'}
