"""PostgreSQL's substring tier for a common substring: walk the scope in name order, stop early.

A pg_trgm GIN index finds every match before ORDER BY name ... LIMIT can pick the page: for
"acme golden", shared by ~1,500 of 1M customers, that cost 60-130 ms (the trigrams of two
common words are long posting lists, then every match is read and sorted). Walking the scope
in name order and testing each row stops at the page's end: ~6,000 rows for that query. A
rare substring would make the walk read the whole scope, so a first window of PROBE_ROWS
names decides: no match there, and the GIN index answers; some, and the walk goes on for up
to WALK_ROWS names before handing over to the index.

The walk reads name_key in byte order (`USING ~<~`), the order of the text_pattern_ops
indexes on (name_key) and (owner_id, name_key) that already serve the prefix tiers: no new
index. Under the C / C.UTF-8 collations (and on SQLite) that is the other tiers' order too.
A manager's team is spread over those indexes, so storage.search.find sends a manager to GIN.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, literal_column, select
from sqlmodel import Session

from storage.search.index import customer_search

PROBE_ROWS = 3000
WALK_ROWS = 12000  # 3-4 us a row at 1M with the pages cached: a walk stays under ~50 ms
BY_NAME_BYTES: tuple[Any, ...] = (
    literal_column("customer_search.name_key USING ~<~"),
    customer_search.c.customer_id,
)


def walk_or_index(
    session: Session, *, scoped: Select[Any], match: Any, limit: int
) -> Sequence[int]:
    """The first `limit` ids of `scoped` (customer_search ids) that satisfy `match`, by name."""
    hits: list[int] = []
    after = None
    for window in (PROBE_ROWS, WALK_ROWS - PROBE_ROWS):
        found, after = _walk(session, scoped, match, window, limit - len(hits), after)
        hits += found
        if len(hits) >= limit or after is None:
            return hits
        if not hits:
            break  # none among the first names: rare, the index finds them faster
    return session.scalars(scoped.where(match).order_by(*BY_NAME_BYTES).limit(limit)).all()


def _walk(
    session: Session,
    scoped: Select[Any],
    match: Any,
    window: int,
    limit: int,
    after: tuple[str, int] | None,
) -> tuple[list[int], tuple[str, int] | None]:
    """The first `limit` matches among the next `window` rows by name, after the row `after`;
    and the window's last row, or None when the window held the rest of the scope.

    That last row comes back whether it matches or not: the next walk starts after it.
    """
    cs = customer_search.c
    if after is not None:
        name, customer_id = after
        scoped = scoped.where(
            cs.name_key.op("~>=~", is_comparison=True)(name),
            cs.name_key.op("~>~", is_comparison=True)(name) | (cs.customer_id > customer_id),
        )
    rows = (
        scoped.add_columns(
            cs.name_key,
            match.label("hit"),
            func.row_number().over(order_by=BY_NAME_BYTES).label("n"),
        )
        .order_by(*BY_NAME_BYTES)
        .limit(window)
        .subquery()
    )
    found = session.execute(
        # in the window's order: a subquery's ORDER BY binds no outer query (SQL leaves it open)
        select(rows).where(rows.c.hit | (rows.c.n == window)).order_by(rows.c.n).limit(limit)
    ).all()
    last = next(((row.name_key, row.customer_id) for row in found if row.n == window), None)
    return [row.customer_id for row in found if row.hit], last
