"""Record numbers suggested from a pattern such as "HT-{year}-{seq:04d}" (contracts) or
"DD-{year}-{seq:04d}" (orders): one past the highest sequence of that year used so far.

Numbers are unique in any case (migration 0022), deleted records' too: "ht-2026-0001" is
taken once "HT-2026-0001" is, and a suggestion skips both."""

from __future__ import annotations

import re
from datetime import date
from string import Formatter
from typing import Any

from sqlalchemy import ColumnElement, Select, String, bindparam, case, func, literal
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from storage.models import Customer
from storage.search.statements import HIGH, escape_like


def suggest_number(session: Session, *, column: Any, today: date, pattern: str) -> str:
    """The next free number of `pattern` for `today`'s year among the values of `column`.

    The pattern names `{year}` (optional) and `{seq}` (once, with any integer format); a
    pattern naming anything else is a configuration error (ValueError)."""
    prefix, regex = _parse_pattern(pattern, today.year)
    dialect = session.get_bind().dialect.name
    starts, _rank = number_match(column, dialect)
    used = session.scalars(select(column).where(starts), number_params(prefix, dialect))
    matches = (regex.fullmatch(number) for number in used)
    seq = max((int(m.group("seq")) for m in matches if m), default=0)
    return pattern.format(year=today.year, seq=seq + 1)


def fold_number(text: str, dialect: str) -> str:
    """`text` as the database's lower() folds it, which the number indexes are made of:
    PostgreSQL folds every letter, SQLite ASCII letters only."""
    if dialect == "postgresql":
        return text.lower()
    return "".join(ch.lower() if ch.isascii() else ch for ch in text)


def number_match(column: Any, dialect: str) -> tuple[Any, Any]:
    """A record number (`column`) that is or starts with the text of `number_params` in any
    case, and its rank, the number as typed first: one range on the lower(number) index
    (migrations 0021, 0022). Parameters, not values, so a statement is built once."""
    number = func.lower(column)
    starts: Any
    if dialect == "postgresql":
        starts = number.like(bindparam("number_like", type_=String), escape="\\")
    else:
        starts = (number >= bindparam("number", type_=String)) & (
            number < bindparam("number_high", type_=String)
        )
    return starts, case((number == bindparam("number", type_=String), 0), else_=1)


def number_params(text: str, dialect: str) -> dict[str, str]:
    """The parameters of `number_match` for `text`."""
    wanted = fold_number(text, dialect)
    return {
        "number": wanted,
        "number_high": wanted + HIGH,
        "number_like": escape_like(wanted) + "%",
    }


def ranked_ids(model: Any, scope: Any, matches: Any, order: tuple[Any, ...]) -> Select[int, int]:
    """The ids of the first `limit` (a parameter) `model`s in `scope` that `matches`, in
    `order`, each with its place in it (`pos`): one part of the lookup that finds contracts,
    orders and tickets in one statement (`storage.lookups.find_records`)."""
    return (
        sa_select(col(model.id).label("id"), func.row_number().over(order_by=order).label("pos"))
        .join(Customer, col(Customer.id) == col(model.customer_id))
        .where(scope, matches)
        .order_by(*order)
        .limit(bindparam("limit"))
    )


def number_is(column: Any, number: str) -> ColumnElement[bool]:
    """`column` holds `number` in any case: one lookup on its lower(number) index."""
    return func.lower(column) == func.lower(literal(number))


def check_pattern(pattern: str) -> None:
    """Raise ValueError for a pattern `suggest_number` cannot use (for configuration)."""
    _parse_pattern(pattern, 2000)


def _parse_pattern(pattern: str, year: int) -> tuple[str, re.Pattern[str]]:
    """The literal text before `{seq}` (for an indexed prefix match) and a regex that reads
    the sequence back out of a number made with the pattern."""
    parts: list[str] = []
    has_seq = False
    for fixed, name, spec, _conversion in Formatter().parse(pattern):
        parts.append(re.escape(fixed))
        if name is None:
            continue
        if name == "year":
            parts.append(re.escape(format(year, spec or "")))
        elif name == "seq" and not has_seq:
            has_seq = True
            parts.append(r"(?P<seq>\d+)")
        else:
            raise ValueError(f"number pattern {pattern!r}: unexpected {{{name}}}")
    if not has_seq:
        raise ValueError(f"number pattern {pattern!r} needs a {{seq}}")
    prefix = Formatter().vformat(pattern.split("{seq", 1)[0], (), {"year": year})
    return prefix, re.compile("".join(parts), re.IGNORECASE)
