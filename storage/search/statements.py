"""The statements behind `/find`'s tiers (storage/search/find.py), built once per role and engine.

Building a SQLAlchemy statement cost more than running it: a name search ran two or three
tiers and spent ~2.5 of its ~3.5 ms in Python at 1,000,000 customers. Each statement here is
built on first use with bound parameters for everything a query varies (the text, the
actor's id, the page size) and reused.

Parameters: `limit` in every tier; `actor_id` (`storage.access.ACTOR_ID`) for the scope;
`key` for a whole key, `q` for an email or a number, `low` / `high` (SQLite) or `pattern`
(PostgreSQL) for a prefix, `pattern` for a LIKE, `match` for FTS5, `ids` for customer ids.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    bindparam,
    false,
    literal_column,
    select,
)
from sqlmodel import col

from storage.access import role_scope
from storage.models import Customer, CustomerPhone, Role
from storage.search.index import customer_search, customer_search_fts, reversed_e164_sql

HIGH = "\uffff"  # sorts after every character a key can hold: the end of a prefix range
_cs = customer_search.c


def prefix_params(prefix: str, dialect: str) -> dict[str, str]:
    """The parameters of `starts_with` for `prefix`."""
    if dialect == "postgresql":
        return {"pattern": escape_like(prefix) + "%"}
    return {"low": prefix, "high": prefix + HIGH}


def escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def scoped(role: Role) -> Select[Any]:
    """Search rows an actor of `role` may see (not deleted), as customer ids."""
    return select(_cs.customer_id).where(_cs.deleted == false(), role_scope(role, _cs.owner_id))


@cache
def exact_key(role: Role, key: str) -> Select[Any]:
    """Rows whose `key` column is `key`. One tier per column: an OR of the three made SQLite
    read every match of each and sort them (1.6 ms for a common English name, 0.01 alone)."""
    column = _cs[key]
    return _page(scoped(role).where(column == bindparam("key")).order_by(_cs.customer_id))


@cache
def starts_with(role: Role, key: str, dialect: str) -> Select[Any]:
    """Rows whose `key` column starts with the prefix of `prefix_params`, in key order."""
    column = _cs[key]
    return _page(scoped(role).where(_prefix(column, dialect)).order_by(column, _cs.customer_id))


@cache
def email(role: Role) -> Select[Any]:
    return _page(scoped(role).where(_cs.email_key == bindparam("q")).order_by(_cs.customer_id))


@cache
def short_substring(role: Role) -> Select[Any]:
    """Under 3 characters no trigram helps: a LIKE walk, newest first, that stops at the page.
    On SQLite a salesperson's rows come from the owner index that holds the keys (0024)."""
    like = _cs.search_key.like(bindparam("pattern"), escape="\\")
    return _page(scoped(role).where(like).order_by(_cs.customer_id.desc()))


@cache
def fts_substring(role: Role) -> Select[Any]:
    """SQLite's trigram index for 3+ characters (`match`: FTS5 phrases), for an admin or a
    manager; a salesperson's own rows are walked instead (`owner_walk`).

    An admin's rows come from the index joined to their search rows. A manager's come from
    the team's rows in name order, each tested against the index's matches, found once
    (`IN (subquery)`): as a join SQLite walked the owners' rows and ran the trigram query for
    each, which cost a salesperson 0.4-4 s at 1,000,000 customers (docs/stack-facts.md)."""
    match = literal_column("customer_search_fts").op("MATCH")(bindparam("match"))
    if role == Role.ADMIN:
        return _page(
            select(_cs.customer_id)
            .select_from(customer_search_fts)
            .join(customer_search, _cs.customer_id == customer_search_fts.c.rowid)
            .where(match, _cs.deleted == false(), role_scope(role, _cs.owner_id))
            .order_by(_cs.name_key, _cs.customer_id)
        )
    matching = select(customer_search_fts.c.rowid).where(match)
    return _page(
        scoped(role).where(_cs.customer_id.in_(matching)).order_by(_cs.name_key, _cs.customer_id)
    )


@cache
def owner_walk(role: Role) -> Select[Any]:
    """SQLite's substring tier for a salesperson: their own rows in name order (the
    (owner_id, name_key, ...) index, which holds the keys: 0024), tested with `pattern` on
    the keys and `compact` on the pinyin, stopping at the page's end. A book of 5,000
    customers with no match costs ~1 ms; the trigram index 15-25 ms for a common word."""
    like = _cs.search_key.like(bindparam("pattern"), escape="\\") | _cs.pinyin_key.like(
        bindparam("compact"), escape="\\"
    )
    return _page(scoped(role).where(like).order_by(_cs.name_key, _cs.customer_id))


@cache
def exact_phone(role: Role) -> Select[Any]:
    """Customers with the E.164 number `q`."""
    return _page(
        scoped(role)
        .join(CustomerPhone, col(CustomerPhone.customer_id) == _cs.customer_id)
        .where(col(CustomerPhone.e164) == bindparam("q"))
        .order_by(_cs.name_key, _cs.customer_id)
    )


@cache
def phone_suffix(dialect: str) -> Select[Any]:
    """Customer ids with a number ending in the digits of `prefix_params` (reversed), from
    the reversed-number index before any scope: left to itself SQLite walked the owner's
    rows and tested each number (50 ms at 1M for a salesperson)."""
    reversed_e164: Any = literal_column(reversed_e164_sql(dialect))
    return (
        select(col(CustomerPhone.customer_id))
        .where(_prefix(reversed_e164, dialect))
        .limit(bindparam("limit", type_=Integer))
    )


@cache
def among(role: Role) -> Select[Any]:
    """Which of the customer ids `ids` the actor may see, by name."""
    return _page(
        scoped(role)
        .where(_cs.customer_id.in_(bindparam("ids", expanding=True)))
        .order_by(_cs.name_key, _cs.customer_id)
    )


@cache
def customers_by_id(role: Role) -> Select[Any]:
    """The customers `ids` the actor may see, not deleted (in no particular order)."""
    return select(Customer).where(
        col(Customer.id).in_(bindparam("ids", expanding=True)),
        col(Customer.deleted_at).is_(None),
        role_scope(role, Customer.owner_id),
    )


def _prefix(column: Any, dialect: str) -> Any:
    """`column` starts with the prefix, in a form the engine serves from an index."""
    if dialect == "postgresql":
        return column.like(bindparam("pattern"), escape="\\")
    return (column >= bindparam("low")) & (column < bindparam("high"))


def _page(statement: Select[Any]) -> Select[Any]:
    return statement.limit(bindparam("limit", type_=Integer))
