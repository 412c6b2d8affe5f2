"""`/find`: customer search that stays fast at a million rows, on SQLite and PostgreSQL.

Every customer has a `customer_search` row of lowercased keys (migration 0002). Database
triggers keep it in step with `customer`, so any writer (the entry flow, an import, an edit)
is covered without calling Python; only the pinyin of Chinese names needs Python, which
`index_customer` adds after a save (and the migration for older rows).

A query is answered tier by tier, best first, each tier one indexed query (PITFALLS: a
`LIKE '%x%'` scans the whole table, trigram cannot serve queries under 3 characters and on
SQLite 3.40 silently misses 2-character CJK patterns):

  1. exact phone (E.164 index) or exact email (`email_key` index)
  2. whole name, whole pinyin ("zhangwei") or initials ("zw")
  3. name / pinyin / initials prefix: an index range (`>= q AND < q || U+FFFF`; on
     PostgreSQL `LIKE 'q%'` on a text_pattern_ops index)
  4. phone suffix (last 4+ digits, any format): a prefix range on the reversed number, an
     expression index, so "8000" finds +8613800138000 without a scan
  5. substring of name, company, email, tags and pinyin: FTS5 trigram (SQLite) or pg_trgm
     GIN (PostgreSQL) for 3+ characters; under 3 characters (e.g. "王伟") a scan in id order
     that stops at the page's end, bounded by the owner scope when there is one. On
     PostgreSQL a common substring ("acme golden": thousands of rows) is found by walking the
     scope in name order instead (storage/search_walk.py)

Within a tier rows are ordered by name. Every tier applies the access rule and skips deleted
customers; the customers are loaded once more through the same rule.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import cache
from typing import Any

import phonenumbers
from sqlalchemy import (
    BindParameter,
    Select,
    bindparam,
    delete,
    false,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from storage.access import ACTOR_ID, NotFound, actor_id, owner_scope, role_scope
from storage.customers import list_phones
from storage.deals import CLOSED_STAGES
from storage.models import (
    Customer,
    CustomerPhone,
    Deal,
    Interaction,
    Member,
    Reminder,
    Role,
    utcnow,
)
from storage.purchases import spent_per_currency
from storage.reminders import ReminderStatus
from storage.search_index import (
    customer_search,
    customer_search_fts,
    reversed_e164_sql,
    saved_search,
)
from storage.search_walk import BY_NAME_BYTES, walk_or_index

MIN_TRIGRAM = 3
MIN_PHONE_DIGITS = 4
MAX_SUFFIX_MATCHES = 2000  # 4 digits at 1M numbers: ~100 share a suffix
MAX_QUERY = 200
SAVED_SEARCH_TTL = timedelta(days=7)
MAX_SAVED_SEARCH_ID = 2**31 - 1  # the id column is a 32-bit integer on PostgreSQL
_HIGH = "\uffff"  # sorts after every character a key can hold: the end of a prefix range
_PHONE_LIKE = re.compile(r"[+\d\s().\-]+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_PINYIN_QUERY = re.compile(r"[a-z ]+")

Tier = Callable[[int], Iterable[int]]
"""One tier of a search: given how many ids are wanted, its ids, best first."""


def normalise_query(query: str) -> str:
    return " ".join(query.split()).casefold()[:MAX_QUERY]


def find_customers(
    session: Session,
    *,
    actor: Member,
    query: str,
    limit: int = 8,
    offset: int = 0,
    region: str = "CN",
) -> list[Customer]:
    """The customers `actor` may see that match `query`, best match first, one page."""
    q = normalise_query(query)
    if not q:
        return []
    want = offset + limit
    found: dict[int, None] = {}
    for tier in _tiers(session, actor, q, region):
        if len(found) >= want:
            break
        found.update(dict.fromkeys(tier(want + len(found))))
    ids = list(found)[offset:want]
    if not ids:
        return []
    rows = session.scalars(
        select(Customer).where(
            col(Customer.id).in_(ids),
            col(Customer.deleted_at).is_(None),
            owner_scope(actor, Customer.owner_id),
        )
    )
    by_id = {c.id: c for c in rows}
    return [by_id[i] for i in ids if i in by_id]


def _tiers(session: Session, actor: Member, q: str, region: str) -> Iterable[Tier]:
    """Each tier in order (generated lazily: later tiers often never run)."""
    cs = customer_search.c
    dialect = session.get_bind().dialect.name
    digits = "".join(ch for ch in q if ch.isdigit())
    if _PHONE_LIKE.fullmatch(q) and len(digits) >= MIN_PHONE_DIGITS:
        if e164 := _e164(q, region):
            yield _run(session, _phone_ids(actor, col(CustomerPhone.e164) == e164))
        # The phone index first, then the scope: left to itself SQLite walked the owner's
        # rows and tested each number (50 ms at 1M for a salesperson).
        reversed_e164: Any = literal_column(reversed_e164_sql(dialect))
        suffix_ids = session.scalars(
            select(col(CustomerPhone.customer_id))
            .where(_prefix(reversed_e164, digits[::-1], dialect))
            .limit(MAX_SUFFIX_MATCHES)
        ).all()
        yield _run(
            session,
            _scoped(actor)
            .where(customer_search.c.customer_id.in_(suffix_ids))
            .order_by(customer_search.c.name_key, customer_search.c.customer_id),
        )
        return
    if "@" in q:
        yield _run(session, _scoped(actor).where(cs.email_key == q).order_by(cs.customer_id))
    compact = q.replace(" ", "") if _PINYIN_QUERY.fullmatch(q) else None
    exact = [cs.name_key == q]
    if compact:
        exact += [cs.pinyin_key == compact, cs.initials == compact]
    yield _run(session, _scoped(actor).where(or_(*exact)).order_by(cs.name_key, cs.customer_id))
    yield _run(
        session,
        _scoped(actor)
        .where(_prefix(cs.name_key, q, dialect))
        .order_by(cs.name_key, cs.customer_id),
    )
    if compact:
        for column in (cs.pinyin_key, cs.initials):
            yield _run(
                session,
                _scoped(actor)
                .where(_prefix(column, compact, dialect))
                .order_by(column, cs.customer_id),
            )
    if len(q) < MIN_TRIGRAM:
        pattern = f"%{_escape_like(q)}%"
        yield _run(
            session,
            _scoped(actor)
            .where(cs.search_key.like(pattern, escape="\\"))
            .order_by(cs.customer_id.desc()),
        )
        return
    if dialect == "sqlite":
        fts = _fts_substring(actor, q, compact)
        yield _run(session, fts.order_by(cs.name_key, cs.customer_id))
        return
    yield lambda limit: _substring(session, actor, q, compact, limit)


def _run(session: Session, statement: Select[Any]) -> Tier:
    return lambda limit: session.scalars(statement.limit(limit))


def _scoped(actor: Member) -> Select[Any]:
    cs = customer_search.c
    return select(cs.customer_id).where(cs.deleted == false(), owner_scope(actor, cs.owner_id))


def _phone_ids(actor: Member, condition: Any) -> Select[Any]:
    cs = customer_search.c
    return (
        _scoped(actor)
        .join(CustomerPhone, col(CustomerPhone.customer_id) == cs.customer_id)
        .where(condition)
        .order_by(cs.name_key, cs.customer_id)
    )


def _fts_substring(actor: Member, q: str, compact: str | None) -> Select[Any]:
    cs = customer_search.c
    phrases = [q] if not compact or compact == q else [q, compact]
    match = " OR ".join('"' + p.replace('"', '""') + '"' for p in phrases)
    return (
        select(cs.customer_id)
        .select_from(customer_search_fts)
        .join(customer_search, cs.customer_id == customer_search_fts.c.rowid)
        .where(
            literal_column("customer_search_fts").op("MATCH")(match),
            cs.deleted == false(),
            owner_scope(actor, cs.owner_id),
        )
    )


def _substring(
    session: Session, actor: Member, q: str, compact: str | None, limit: int
) -> Sequence[int]:
    """PostgreSQL's substring tier: pg_trgm GIN, or a walk in name order (search_walk.py).

    A manager's team is spread over the name index (a walk would read ~10 rows per team row),
    so the index answers a manager.
    """
    cs = customer_search.c
    conditions = [cs.search_key.like(f"%{_escape_like(q)}%", escape="\\")]
    if compact:
        conditions.append(cs.pinyin_key.like(f"%{_escape_like(compact)}%", escape="\\"))
    match = or_(*conditions)
    if actor.role != Role.MANAGER:
        return walk_or_index(session, scoped=_scoped(actor), match=match, limit=limit)
    return session.scalars(_scoped(actor).where(match).order_by(*BY_NAME_BYTES).limit(limit)).all()


def _prefix(column: Any, prefix: str, dialect: str) -> Any:
    """`column` starts with `prefix`, in a form the engine serves from an index."""
    if dialect == "postgresql":
        return column.like(f"{_escape_like(prefix)}%", escape="\\")
    return (column >= prefix) & (column < prefix + _HIGH)


def _e164(q: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(q, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --- saved searches: the query behind a results page's « » buttons ---------------------------


def new_search_id() -> int:
    """An id for a search to keep, chosen before it is stored: the results go out with their
    page buttons first, and the query is written after (off the member's wait)."""
    return secrets.randbelow(MAX_SAVED_SEARCH_ID) + 1


def save_search(session: Session, *, actor: Member, query: str, search_id: int) -> bool:
    """Keep `query` under `search_id` for the page buttons (64 bytes of callback data cannot
    hold it); False in the rare case the id is taken (its buttons then say "expired").

    Kept in the database, so buttons work after a restart; a member's searches older than a
    week are dropped here.
    """
    member_id = actor_id(actor)
    now = utcnow()
    session.execute(
        delete(saved_search).where(
            saved_search.c.member_id == member_id,
            saved_search.c.created_at < now - SAVED_SEARCH_TTL,
        )
    )
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stored = session.execute(
        insert(saved_search)
        .values(id=search_id, member_id=member_id, query=query[:MAX_QUERY], created_at=now)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(saved_search.c.id)
    ).first()
    return stored is not None


def get_saved_search(session: Session, *, actor: Member, search_id: int) -> str:
    """The member's own saved query; another member's or an expired one is NotFound."""
    found = session.scalar(
        select(saved_search.c.query).where(
            saved_search.c.id == search_id, saved_search.c.member_id == actor_id(actor)
        )
    )
    if found is None:
        raise NotFound
    return str(found)


# --- what a customer card shows ---------------------------------------------------------------


@dataclass(frozen=True)
class CustomerCard:
    """Everything the card shows, loaded in one transaction after one access check."""

    customer: Customer
    phones: list[str]
    owner_name: str
    interactions: list[Interaction]
    more_interactions: bool
    open_deals: list[Deal]
    reminders: list[Reminder]
    purchases: dict[str, Decimal]


@cache
def _card_statements(
    role: Role,
) -> tuple[Select[Customer, str], Select[Interaction], Select[Deal], Select[Reminder]]:
    """The card's queries for an actor of `role`, built once: building them cost more than
    running them (~2.5 ms of the ~5 ms a card took at 1,000,000 customers)."""
    customer_id: BindParameter[int] = bindparam("customer_id")
    customer = (
        select(Customer, col(Member.display_name))
        .outerjoin(Member, col(Member.id) == col(Customer.owner_id))
        .where(
            col(Customer.id) == customer_id,
            col(Customer.deleted_at).is_(None),
            role_scope(role, Customer.owner_id),
        )
    )
    notes = (
        select(Interaction)
        .where(col(Interaction.customer_id) == customer_id, col(Interaction.deleted_at).is_(None))
        .order_by(col(Interaction.happened_at).desc(), col(Interaction.id).desc())
        .offset(bindparam("notes_offset"))
        .limit(bindparam("notes_limit"))
    )
    deals = (
        select(Deal)
        .where(
            col(Deal.customer_id) == customer_id,
            col(Deal.deleted_at).is_(None),
            col(Deal.stage).not_in(CLOSED_STAGES),
        )
        .order_by(col(Deal.updated_at).desc(), col(Deal.id).desc())
    )
    reminders = (
        select(Reminder)
        .where(
            col(Reminder.customer_id) == customer_id,
            col(Reminder.member_id) == bindparam(ACTOR_ID),
            col(Reminder.status) == ReminderStatus.PENDING,
        )
        .order_by(col(Reminder.due_at), col(Reminder.id))
        .limit(5)
    )
    return customer, notes, deals, reminders


def get_customer_card(
    session: Session,
    *,
    actor: Member,
    customer_id: int,
    notes_limit: int = 5,
    notes_offset: int = 0,
) -> CustomerCard:
    """A customer the actor may see, with its notes page, open deals and totals.

    Reminders are personal (storage/reminders.py), so the card lists the actor's own pending
    reminders about this customer, not a teammate's.
    """
    by_customer, notes_page, open_deals, own_reminders = _card_statements(Role(actor.role))
    params = {"customer_id": customer_id, ACTOR_ID: actor_id(actor)}
    found = session.execute(by_customer, params).first()
    if found is None:
        raise NotFound
    customer, owner_name = found
    notes = list(
        session.scalars(
            notes_page, {**params, "notes_offset": notes_offset, "notes_limit": notes_limit + 1}
        )
    )
    return CustomerCard(
        customer=customer,
        phones=list_phones(session, customer_id=customer_id),
        owner_name=owner_name or "",
        interactions=notes[:notes_limit],
        more_interactions=len(notes) > notes_limit,
        open_deals=list(session.scalars(open_deals, params)),
        reminders=list(session.scalars(own_reminders, params)),
        purchases=spent_per_currency(session, customer_id=customer_id),
    )
