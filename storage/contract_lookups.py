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

from sqlalchemy import Select, String, bindparam, column, literal_column, table
from sqlmodel import col, select

from storage.access import role_record_scope
from storage.models import Contract, Role, spaced
from storage.numbering import number_match, ranked_ids
from storage.search.statements import escape_like

MIN_TITLE_QUERY = 2
MIN_TRIGRAM = 3  # a shorter query is looked up in the spaced titles
_spaced_fts = table("contract_title_fts", column("rowid"))
_text_fts = table("contract_title_text_fts", column("rowid"))


_LATEST = (col(Contract.ends_on).desc().nulls_last(), col(Contract.id).desc())


@cache
def contract_number_hits(role: Role, dialect: str) -> Select[int, int]:
    """Contracts an actor of `role` may see whose number matches `number_params`, the number as
    typed first, then the latest: built once per role, as every /find runs it (building one
    cost more than running it)."""
    matches, rank = number_match(col(Contract.number), dialect)
    return ranked_ids(Contract, role_record_scope(Contract, role), matches, (rank, *_LATEST))


@cache
def contract_title_hits(role: Role, dialect: str, *, short: bool) -> Select[int, int]:
    """Contracts an actor of `role` may see whose title holds the text of `title_params`
    (`short` under MIN_TRIGRAM characters), the latest first: built once per role."""
    scope = role_record_scope(Contract, role)
    return ranked_ids(Contract, scope, title_match(dialect, short=short), _LATEST)


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
