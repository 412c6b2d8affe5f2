"""The search keys of every customer, kept beside the customer table (migration 0002).

Database triggers keep `customer_search` in step with `customer` for every writer; what SQL
cannot compute (pinyin, Unicode-aware lowercase) is filled in by `index_customer` after a
save. `storage.search.find` queries these keys; the migration indexes exactly these expressions.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pypinyin import Style, lazy_pinyin
from sqlalchemy import Boolean, Column, ForeignKey, Integer, MetaData, String, Table, Text, update
from sqlmodel import Session

from storage.models import Customer, UTCDateTime
from storage.quality.company import normalise_company

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

_metadata = MetaData()

customer_search = Table(
    "customer_search",
    _metadata,
    Column("customer_id", Integer, ForeignKey("customer.id"), primary_key=True),
    Column("owner_id", Integer, nullable=False),
    Column("deleted", Boolean, nullable=False),
    Column("name_key", String(200), nullable=False),
    Column("email_key", String(254)),
    Column("pinyin_key", Text),
    Column("initials", String(64)),
    Column("search_key", Text, nullable=False),
    Column("company_key", String(200)),  # normalise_company: duplicates at one company (0019)
)
saved_search = Table(
    "saved_search",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("member_id", Integer, nullable=False),
    Column("query", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
customer_search_fts = Table("customer_search_fts", _metadata, Column("rowid", Integer))


def reversed_e164_sql(dialect: str) -> str:
    """The reversed phone number, as SQL; the migration indexes exactly this expression.

    SQLite has no reverse(): E.164 is at most 16 characters (the column holds 20), so the
    number is rebuilt from single characters, each empty past the end.
    """
    if dialect == "postgresql":
        return "reverse(e164)"
    return " || ".join(f"substr(e164, {i}, 1)" for i in range(20, 0, -1))


def sqlite_search_key_sql(row: str) -> str:
    """search_key from a customer row in SQL (name, company, email and tags, ASCII-lowercased):
    what the SQLite triggers store before `search_keys` completes it."""
    tags = f"(SELECT group_concat(value, ' ') FROM json_each({row}.tags))"
    return (
        f"lower({row}.name || ' ' || coalesce({row}.company, '') || ' '"
        f" || coalesce({row}.email, '') || ' ' || coalesce({tags}, ''))"
    )


@lru_cache(maxsize=65536)  # names repeat a lot, in a team and in a big import
def pinyin_keys(name: str) -> tuple[str | None, str | None]:
    """("zhangwei", "zw") for 张伟: the pinyin of the name's Chinese characters and its
    initials. A name without any is typed without its spaces just as often ("zhangwei" for
    "Zhang Wei"), so its letters run together are its pinyin key, without initials."""
    if not _CJK.search(name):
        return latin_name_key(name), None
    syllables = [s for s in lazy_pinyin(name, style=Style.NORMAL, errors="ignore") if s.isalpha()]
    if not syllables:
        return None, None
    return "".join(syllables).casefold(), "".join(s[0] for s in syllables).casefold()


def latin_name_key(name: str) -> str | None:
    """ "zhangwei" for "Zhang Wei" (or "Zhang-Wei"): the name's letters, lowercased; None when
    that is the name itself ("acme"), which the name key already finds."""
    letters = "".join(ch for ch in name.casefold() if ch.isalpha())
    return letters if letters and letters != name.strip().casefold() else None


def search_keys(
    name: str,
    company: str | None,
    email: str | None,
    tags: list[str] | None,
    pinyin: tuple[str | None, str | None] | None = None,
) -> dict[str, str | None]:
    """What Python adds to the triggers' keys: pinyin (`pinyin`, when worked out ahead, is
    `pinyin_keys(name)`), Unicode-aware lowercase (SQLite's lower() only folds ASCII) and
    the normalised company. One definition for a single save and for a bulk import."""
    full, initials = pinyin if pinyin is not None else pinyin_keys(name)
    words = [name, company, email, *(tags or [])]
    return {
        "name_key": name.strip().casefold(),
        "search_key": " ".join(w for w in words if w).casefold(),
        "pinyin_key": full,
        "initials": initials,
        "company_key": normalise_company(company) if company else None,
    }


def index_customer(session: Session, *, customer_id: int) -> None:
    """Complete a customer's search keys after a save. Call it after creating or renaming."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        return
    session.flush()
    session.execute(
        update(customer_search)
        .where(customer_search.c.customer_id == customer_id)
        .values(**search_keys(customer.name, customer.company, customer.email, customer.tags))
    )
