"""Record numbers suggested from a pattern such as "HT-{year}-{seq:04d}" (contracts) or
"DD-{year}-{seq:04d}" (orders): one past the highest sequence of that year used so far.

Numbers are unique in any case (migration 0022), deleted records' too: "ht-2026-0001" is
taken once "HT-2026-0001" is, and a suggestion skips both."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from string import Formatter
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, String, bindparam, case, func, literal
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from storage.models import Customer
from storage.search.statements import HIGH, escape_like

_BATCH = 20  # rows of one length read at a time: numbers not of the pattern are few
_LONGER_THAN_ANY = 1_000_000


def suggest_number(session: Session, *, column: Any, today: date, pattern: str) -> str:
    """The next free number of `pattern` for `today`'s year among the values of `column`.

    The pattern names `{year}` (optional) and `{seq}` (once, with any integer format); a
    pattern naming anything else is a configuration error (ValueError)."""
    shape = _parse_pattern(pattern, today.year)
    seq = _highest_sequence(session, column, shape, session.get_bind().dialect.name)
    return pattern.format(year=today.year, seq=seq + 1)


def _highest_sequence(session: Session, column: Any, shape: _Shape, dialect: str) -> int:
    """The highest sequence among the numbers of `shape`, by value, read length by length,
    longest first, on the (length(number), lower(number)) index (migration 0026): numbers of
    one length and shape have their digits in the same places, so the last one in text order
    is the highest of its length, and a length too short to hold more digits ends the search.
    A few reads whatever the count of numbers: reading them all took ~210 ms at 100,000
    a year, inside the save's write transaction."""
    next_length, last_of_length = suggestion_statements(column, dialect)
    fixed = len(shape.prefix) + len(shape.suffix)
    low = fold_number(shape.prefix, dialect)
    params = {
        "low": low,
        "start": len(shape.prefix) + 1,
        "suffix": fold_number(shape.suffix, dialect),
    }
    best, below = 0, _LONGER_THAN_ANY
    while (size := session.scalar(next_length, {"shortest": fixed, "below": below})) is not None:
        if best >= 10 ** (size - fixed) - 1:
            break  # no number of this length or shorter has room for a higher sequence
        params["digits"], high = size - fixed, low + HIGH
        while True:
            rows = session.execute(last_of_length, {**params, "length": size, "high": high}).all()
            seq = next((int(m["seq"]) for n, _ in rows if (m := shape.regex.fullmatch(n))), None)
            if seq is not None or len(rows) < _BATCH:
                break
            high = rows[-1][1]  # the next rows of this length, below the last one read
        best, below = max(best, seq or 0), size
    return best


@cache
def suggestion_statements(column: Any, dialect: str) -> tuple[Select[int], Select[str, str]]:
    """The two reads of `_highest_sequence`, built once per column: the next length down
    among the numbers, and the last numbers of one length in a prefix's range."""
    length = func.length(column)
    start, digits = bindparam("start", type_=Integer), bindparam("digits", type_=Integer)
    key: ColumnElement[str] = func.lower(column)
    if dialect == "postgresql":
        key = key.collate("C")  # the index's order: code points, as SQLite compares
    next_length = (
        sa_select(length)
        .where(
            length > bindparam("shortest", type_=Integer),
            length < bindparam("below", type_=Integer),
        )
        .order_by(length.desc())
        .limit(1)
    )
    last_of_length = (
        sa_select(column, key)
        .where(
            length == bindparam("length", type_=Integer),
            key >= bindparam("low", type_=String),
            key < bindparam("high", type_=String),
            # digits only where the sequence goes, then the pattern's text: the index walk
            # skips other numbers of the length in the database, not in a read each
            func.trim(func.substr(column, start, digits), "0123456789") == "",
            func.lower(func.substr(column, start + digits)) == bindparam("suffix", type_=String),
        )
        .order_by(key.desc())
        .limit(_BATCH)
    )
    return next_length, last_of_length


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


@dataclass(frozen=True)
class _Shape:
    """A pattern for one year: the literal text around `{seq}` and a regex reading the
    sequence (ASCII digits) back out of a number made with it, in any case."""

    prefix: str
    suffix: str
    regex: re.Pattern[str]


def _parse_pattern(pattern: str, year: int) -> _Shape:
    parts: list[str] = []
    around = ["", ""]  # the text before and after {seq}
    has_seq = False
    for fixed, name, spec, _conversion in Formatter().parse(pattern):
        parts.append(re.escape(fixed))
        around[has_seq] += fixed
        if name is None:
            continue
        if name == "year":
            parts.append(re.escape(format(year, spec or "")))
            around[has_seq] += format(year, spec or "")
        elif name == "seq" and not has_seq:
            has_seq = True
            parts.append(r"(?P<seq>[0-9]+)")
        else:
            raise ValueError(f"number pattern {pattern!r}: unexpected {{{name}}}")
    if not has_seq:
        raise ValueError(f"number pattern {pattern!r} needs a {{seq}}")
    return _Shape(around[0], around[1], re.compile("".join(parts), re.IGNORECASE))
