"""`/find`: customer search that stays fast at a million rows, on SQLite and PostgreSQL.

Every customer has a `customer_search` row of lowercased keys (migration 0002). Database
triggers keep it in step with `customer`, so any writer (the entry flow, an import, an edit)
is covered without calling Python; only the pinyin key needs Python (the pinyin of a Chinese
name, the letters run together of another: "zhangwei" for 张伟 and for "Zhang Wei"), which
`index_customer` adds after a save (and migrations 0002 and 0009 for older rows).

A query is answered tier by tier, best first, each tier one indexed query (docs/stack-facts.md: a
`LIKE '%x%'` scans the whole table, trigram cannot serve queries under 3 characters and on
SQLite 3.40 silently misses 2-character CJK patterns):

  1. exact phone (E.164 index) or exact email (`email_key` index)
  2. whole name, then whole pinyin key ("zhangwei"), then initials ("zw"), each a tier of its
     own in id order (a query of anything but Latin letters and spaces has no pinyin, and
     the name prefix tier starts with its whole-name matches anyway)
  3. name / pinyin / initials prefix: an index range (`>= q AND < q || U+FFFF`; on
     PostgreSQL `LIKE 'q%'` on a text_pattern_ops index)
  4. phone suffix (last 4+ digits, any format): a prefix range on the reversed number, an
     expression index, so "8000" finds +8613800138000 without a scan
  5. substring of name, company, email, tags and pinyin: FTS5 trigram (SQLite; a
     salesperson's own rows are walked in name order instead, statements.owner_walk) or
     pg_trgm GIN (PostgreSQL) for 3+ characters; under 3 characters (e.g. "王伟") a scan in
     id order that stops at the page's end, bounded by the owner scope when there is one. On
     PostgreSQL a common substring ("acme golden": thousands of rows) is found by walking the
     scope in name order instead (storage/search/walk.py)

Within the other tiers rows are ordered by name. Every tier applies the access rule and skips
deleted customers; the customers are loaded once more through the same rule. The tiers'
statements are built once (storage/search/statements.py).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from functools import cache, partial
from typing import Any

import phonenumbers
from sqlalchemy import (
    BindParameter,
    Select,
    bindparam,
    delete,
    false,
    literal,
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
    Deal,
    Interaction,
    Member,
    Order,
    Reminder,
    Role,
    utcnow,
)
from storage.orders import spent_per_currency
from storage.parsing import clean_text
from storage.prepared import PreparedSelect, as_records, prepared
from storage.reminders import ReminderStatus
from storage.search import statements
from storage.search.index import (
    customer_search,
    saved_search,
)
from storage.search.walk import BY_NAME_BYTES, walk_or_index

MIN_TRIGRAM = 3
MIN_PHONE_DIGITS = 4
MAX_SUFFIX_MATCHES = 2000  # 4 digits at 1M numbers: ~100 share a suffix
MAX_QUERY = 200
SAVED_SEARCH_TTL = timedelta(days=7)
MAX_SAVED_SEARCH_ID = 2**31 - 1  # the id column is a 32-bit integer on PostgreSQL
_PHONE_LIKE = re.compile(r"[+\d\s().\-]+")
_PINYIN_QUERY = re.compile(r"[a-z ]+")

Tier = Callable[[int], Iterable[int]]
"""One tier of a search: given how many ids are wanted, its ids, best first."""


def normalise_query(query: str) -> str:
    """Cleaned like stored text (`clean_text`): a name pasted with a direction mark matches."""
    return " ".join(clean_text(query).split()).casefold()[:MAX_QUERY]


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
    role = Role(actor.role)
    rows = prepared(statements.customers_by_id(role)).rows(session, {"ids": ids, **_actor(actor)})
    by_id = {c.id: c for c in as_records(Customer, rows)}
    return [by_id[i] for i in ids if i in by_id]


def _tiers(session: Session, actor: Member, q: str, region: str) -> Iterable[Tier]:
    """Each tier in order (generated lazily: later tiers often never run)."""
    role = Role(actor.role)
    dialect = session.get_bind().dialect.name
    run = partial(_run, session, _actor(actor))
    digits = "".join(ch for ch in q if ch.isdigit())
    if _PHONE_LIKE.fullmatch(q) and len(digits) >= MIN_PHONE_DIGITS:
        if e164 := _e164(q, region):
            yield run(statements.exact_phone(role), q=e164)
        suffix = statements.prefix_params(digits[::-1], dialect)
        suffix_ids = session.scalars(
            statements.phone_suffix(dialect), {**suffix, "limit": MAX_SUFFIX_MATCHES}
        ).all()
        yield run(statements.among(role), ids=suffix_ids)
        return
    if "@" in q:
        yield run(statements.email(role), q=q)
    compact = q.replace(" ", "") if _PINYIN_QUERY.fullmatch(q) else None
    if compact:  # else the whole name leads the name prefix tier anyway: the same ids first
        yield run(statements.exact_key(role, "name_key"), key=q)
        for key in ("pinyin_key", "initials"):
            yield run(statements.exact_key(role, key), key=compact)
    yield run(
        statements.starts_with(role, "name_key", dialect),
        **statements.prefix_params(q, dialect),
    )
    if compact:
        for key in ("pinyin_key", "initials"):
            yield run(
                statements.starts_with(role, key, dialect),
                **statements.prefix_params(compact, dialect),
            )
    if len(q) < MIN_TRIGRAM:
        pattern = f"%{statements.escape_like(q)}%"
        yield run(statements.short_substring(role), pattern=pattern)
        return
    if dialect == "sqlite" and role == Role.SALES:
        yield run(
            statements.owner_walk(role),
            pattern=f"%{statements.escape_like(q)}%",
            compact=f"%{statements.escape_like(compact or q)}%",
        )
        return
    if dialect == "sqlite":
        phrases = [q] if not compact or compact == q else [q, compact]
        match = " OR ".join('"' + p.replace('"', '""') + '"' for p in phrases)
        yield run(statements.fts_substring(role), match=match)
        return
    yield lambda limit: _substring(session, actor, q, compact, limit)


def _actor(actor: Member) -> dict[str, Any]:
    return {ACTOR_ID: actor_id(actor)}


def _run(session: Session, scope: dict[str, Any], statement: Select[Any], **params: Any) -> Tier:
    # prepared, not the ORM session: these select plain ids (storage/prepared.py says why)
    tier = prepared(statement)
    return lambda limit: [i for (i,) in tier.rows(session, {**scope, **params, "limit": limit})]


def _scoped(actor: Member) -> Select[Any]:
    cs = customer_search.c
    return select(cs.customer_id).where(cs.deleted == false(), owner_scope(actor, cs.owner_id))


def _substring(
    session: Session, actor: Member, q: str, compact: str | None, limit: int
) -> Sequence[int]:
    """PostgreSQL's substring tier: pg_trgm GIN, or a walk in name order (search_walk.py).

    A manager's team is spread over the name index (a walk would read ~10 rows per team row),
    so the index answers a manager.
    """
    cs = customer_search.c
    conditions = [cs.search_key.like(f"%{statements.escape_like(q)}%", escape="\\")]
    if compact:
        conditions.append(cs.pinyin_key.like(f"%{statements.escape_like(compact)}%", escape="\\"))
    match = or_(*conditions)
    if actor.role != Role.MANAGER:
        return walk_or_index(session, scoped=_scoped(actor), match=match, limit=limit)
    return session.scalars(_scoped(actor).where(match).order_by(*BY_NAME_BYTES).limit(limit)).all()


def _e164(q: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(q, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


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
    purchases: dict[str, Decimal]  # what the customer bought: its orders, per currency
    orders: list[Order] = field(default_factory=list)  # the latest, one more than shown


@cache
def _card_statements(
    role: Role,
) -> tuple[PreparedSelect, PreparedSelect, PreparedSelect, PreparedSelect, PreparedSelect]:
    """The card's queries for an actor of `role`, built once: building them cost more than
    running them (~2.5 ms of the ~5 ms a card took at 1,000,000 customers). Run prepared
    (storage/prepared.py): SQLAlchemy's execution path, cold, cost the card ~2 ms more."""
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
            # fixed values, not an expanding IN: that one is expanded again on every run
            col(Deal.stage).not_in([literal(stage) for stage in CLOSED_STAGES]),
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
    orders = (  # the ones the actor may open (`require_order`)
        select(Order)
        .where(
            col(Order.customer_id) == customer_id,
            col(Order.deleted_at).is_(None),
            role_scope(role, Order.owner_id),
        )
        .order_by(col(Order.ordered_on).desc(), col(Order.id).desc())
        .limit(bindparam("orders_limit"))
    )
    prepared = PreparedSelect
    return (
        prepared(customer),
        prepared(notes),
        prepared(deals),
        prepared(reminders),
        prepared(orders),
    )


def get_customer_card(
    session: Session,
    *,
    actor: Member,
    customer_id: int,
    notes_limit: int = 5,
    notes_offset: int = 0,
    orders: int = 3,
) -> CustomerCard:
    """A customer the actor may see, with its notes page, open deals and totals.

    Reminders are personal (storage/reminders.py), so the card lists the actor's own pending
    reminders about this customer, not a teammate's.
    """
    by_customer, notes_page, open_deals, own_reminders, latest_orders = _card_statements(
        Role(actor.role)
    )
    params = {"customer_id": customer_id, ACTOR_ID: actor_id(actor)}
    found = by_customer.rows(session, params)
    if not found:
        raise NotFound
    (customer,) = as_records(Customer, found)
    notes = as_records(
        Interaction,
        notes_page.rows(
            session, {**params, "notes_offset": notes_offset, "notes_limit": notes_limit + 1}
        ),
    )
    return CustomerCard(
        customer=customer,
        phones=list_phones(session, customer_id=customer_id),
        owner_name=found[0][-1] or "",
        interactions=notes[:notes_limit],
        more_interactions=len(notes) > notes_limit,
        open_deals=as_records(Deal, open_deals.rows(session, params)),
        reminders=as_records(Reminder, own_reminders.rows(session, params)),
        purchases=spent_per_currency(session, customer_id=customer_id),
        orders=as_records(
            Order, latest_orders.rows(session, {**params, "orders_limit": orders + 1})
        ),
    )
