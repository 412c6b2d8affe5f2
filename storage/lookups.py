"""Customer searches the chat composes from `storage.search.find`: a page of /find results, inline
mode's matches with their phones, and the customer a /remind sentence names.

/find and inline mode look the query up as contracts, orders and tickets too; each search is
read in one transaction (`find_page`, `find_inline`), one trip off the event loop: at
1,000,000 customers a trip per kind of record cost /find ~1 ms each (`bench latency`). The
records are looked up in one statement of their ids (`find_records`), and loaded only when
some are found: a name, which names none, cost four ORM statements before, ~0.1 ms each."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Integer, Select, bindparam, literal_column, union_all
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from storage.access import ACTOR_ID, actor_id
from storage.contract_lookups import (
    MIN_TITLE_QUERY,
    MIN_TRIGRAM,
    contract_number_hits,
    contract_title_hits,
    title_params,
)
from storage.customers import list_phones, recent_customers
from storage.models import Contract, Customer, Member, Order, Role, Ticket
from storage.numbering import number_params
from storage.order_lookups import order_number_hits, ticket_number_hits
from storage.prepared import as_records, prepared, width
from storage.search.find import find_customers

RECORDS = 5  # contracts, orders and tickets, each, above the customers found

_WORD = re.compile(r"[^\W\d_]{2,}")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")


def find_customer_page(
    session: Session, *, actor: Member, query: str, page: int, page_size: int, region: str
) -> tuple[list[Customer], bool]:
    """One page of matches, and whether another page follows (one more row is read)."""
    found = find_customers(
        session,
        actor=actor,
        query=query,
        limit=page_size + 1,
        offset=page * page_size,
        region=region,
    )
    return found[:page_size], len(found) > page_size


@dataclass(frozen=True)
class Records:
    """The contracts, orders and tickets a query names (by number; contracts by title too),
    each with its customer, best match first."""

    contracts: list[tuple[Contract, Customer]]
    orders: list[tuple[Order, Customer]]
    tickets: list[tuple[Ticket, Customer]]


NO_RECORDS = Records([], [], [])


@dataclass(frozen=True)
class FoundPage:
    """A page of /find: its customers, whether another page follows, and on the first page
    the records found."""

    customers: list[Customer]
    more: bool
    records: Records


def find_page(
    session: Session, *, actor: Member, query: str, page: int, page_size: int, region: str
) -> FoundPage:
    """A page of /find's results; records only on the first page, above its customers."""
    customers, more = find_customer_page(
        session, actor=actor, query=query, page=page, page_size=page_size, region=region
    )
    records = find_records(session, actor=actor, query=query) if page == 0 else NO_RECORDS
    return FoundPage(customers, more, records)


def find_records(session: Session, *, actor: Member, query: str) -> Records:
    """The contracts, orders and tickets the actor may see that `query` names: up to RECORDS
    of each, contracts by number and then by title."""
    text = " ".join(query.split())
    if not text:
        return NO_RECORDS
    dialect = session.get_bind().dialect.name
    params: dict[str, Any] = {
        **number_params(text, dialect),
        ACTOR_ID: actor_id(actor),
        "limit": RECORDS,
    }
    short_title: bool | None = None  # no title part: one character lists every contract
    if len(text) >= MIN_TITLE_QUERY:
        short_title = len(text) < MIN_TRIGRAM
        params.update(title_params(text, dialect))
    found: tuple[list[int], ...] = ([], [], [])  # contracts, orders, tickets
    hits = prepared(_record_hits(Role(actor.role), dialect, short_title)).rows(session, params)
    for part, record_id in hits:
        ids = found[_KIND_OF_PART[part]]
        if record_id not in ids and len(ids) < RECORDS:  # a contract by number and title once
            ids.append(record_id)
    contracts, orders, tickets = found
    return Records(
        _with_customers(session, Contract, contracts),
        _with_customers(session, Order, orders),
        _with_customers(session, Ticket, tickets),
    )


_KIND_OF_PART = (0, 0, 1, 2)  # contract number, contract title, order number, ticket number


@cache
def _record_hits(role: Role, dialect: str, short_title: bool | None) -> Select[int, int]:
    """(part, id) of every kind of record the query may name, each part best first: one
    statement, built once per role (each part applies the access rule)."""
    parts = {
        0: contract_number_hits(role, dialect),
        2: order_number_hits(role, dialect),
        3: ticket_number_hits(role, dialect),
    }
    if short_title is not None:
        parts[1] = contract_title_hits(role, dialect, short=short_title)
    members: list[Select[int, int, int]] = []
    for part, hits in sorted(parts.items()):
        ranked = hits.subquery()
        part_column = literal_column(str(part), Integer).label("part")
        members.append(sa_select(part_column, ranked.c.id, ranked.c.pos))
    every = union_all(*members).subquery()
    return sa_select(every.c.part, every.c.id).order_by(every.c.part, every.c.pos)


def _with_customers(
    session: Session, model: type[Contract] | type[Order] | type[Ticket], ids: list[int]
) -> list[Any]:
    """(record, customer) for `ids`, found visible by `find_records` in this transaction, in
    their order."""
    if not ids:
        return []
    rows = prepared(_by_ids(model)).rows(session, {"ids": ids})
    records = zip(as_records(model, rows), as_records(Customer, rows, width(model)), strict=True)
    by_id = {record.id: (record, customer) for record, customer in records}
    return [by_id[i] for i in ids if i in by_id]


@cache
def _by_ids(model: type[Contract] | type[Order] | type[Ticket]) -> Select[Any, Customer]:
    return (
        select(model, Customer)
        .join(Customer, col(Customer.id) == col(model.customer_id))
        .where(col(model.id).in_(bindparam("ids", expanding=True)))
    )


def find_inline(
    session: Session, *, actor: Member, query: str, limit: int, region: str
) -> tuple[list[tuple[Customer, list[str]]], Records]:
    """Inline mode's answer: customers with their phones, and the records the query names."""
    customers = find_customers_with_phones(
        session, actor=actor, query=query, limit=limit, region=region
    )
    return customers, find_records(session, actor=actor, query=query)


def find_customers_with_phones(
    session: Session, *, actor: Member, query: str, limit: int, region: str
) -> list[tuple[Customer, list[str]]]:
    """Matches of `query` (the most recent customers for a blank one), each with its phones."""
    if query.strip():
        found = find_customers(session, actor=actor, query=query, limit=limit, region=region)
    else:
        found = recent_customers(session, actor=actor, limit=limit)
    return [(c, list_phones(session, customer_id=c.id or 0)) for c in found]


def find_customer_named(session: Session, *, actor: Member, text: str) -> Customer | None:
    """The one customer of the actor's the text names, or None (none or ambiguous)."""
    found: dict[int, Customer] = {}
    for token in _tokens(text):
        for customer in find_customers(session, actor=actor, query=token):
            if customer.id is not None and _name_matches(customer, token, text):
                found[customer.id] = customer
    return next(iter(found.values())) if len(found) == 1 else None


def _name_matches(customer: Customer, token: str, text: str) -> bool:
    """A whole part of a Latin name ("Zhang" of "Zhang Wei"), or a CJK name inside the text."""
    name = customer.name.casefold()
    return token.casefold() in name.split() or (
        bool(_CJK_RUN.search(name)) and name.replace(" ", "") in text.casefold()
    )


def _tokens(text: str) -> list[str]:
    """Latin words, and every two-character piece of CJK runs (Chinese has no spaces)."""
    tokens = [w for w in _WORD.findall(text) if not _CJK_RUN.fullmatch(w)]
    for run in _CJK_RUN.findall(text):
        tokens += [run[i : i + 2] for i in range(len(run) - 1)]
    return list(dict.fromkeys(tokens))[:30]
