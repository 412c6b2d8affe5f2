"""Customers: creation with normalised phones, duplicate detection, recent customers.

Phones live in `customer_phone` in E.164, so "the same number typed another way" is an exact
index hit. Duplicates are checked across the whole database, not only what the actor may see:
a salesperson must learn that a colleague already owns this customer, though not their data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from rapidfuzz import fuzz
from sqlalchemy import bindparam, or_, update
from sqlmodel import Session, col, select

from storage.access import owner_scope, require_customer
from storage.audit import record_audit
from storage.models import Attachment, Customer, CustomerPhone, Member
from storage.prepared import PreparedSelect
from storage.quality.company import normalise_company
from storage.search.index import customer_search, index_customer

# The codes of the choice fields, as the entry flow offers them and the API accepts them.
SOURCES = ("referral", "website", "advertising", "event", "cold_call", "other")
CATEGORIES = ("potential", "existing", "loyal")
GENDERS = ("male", "female")
NAME_SIMILARITY = 85  # rapidfuzz ratio at which "Zhang Wei" and "Zhang  Wei." count as one


@dataclass(frozen=True)
class CustomerCreate:
    name: str
    phones: list[str] = field(default_factory=list)
    email: str | None = None
    company: str | None = None
    position: str | None = None
    industry: str | None = None
    region: str | None = None
    gender: str | None = None
    birthday_month: int | None = None
    birthday_day: int | None = None
    birthday_year: int | None = None
    source: str | None = None
    category: str | None = None
    tags: list[str] = field(default_factory=list)
    needs: str | None = None
    photos: list[tuple[str, str]] = field(default_factory=list)  # (file_id, file_unique_id)


@dataclass(frozen=True)
class DuplicateMatch:
    """An existing customer that looks like the one being entered, and why."""

    customer_id: int
    reason: str  # "phone" | "email" | "name"
    visible: bool  # False: owned by someone the actor may not see; show only the owner
    name: str
    company: str | None
    owner_name: str
    own: bool = False  # the actor's own customer (a visible one may be a teammate's)


def create_customer(session: Session, *, actor: Member, data: CustomerCreate) -> Customer:
    assert actor.id is not None
    values = {k: v for k, v in vars(data).items() if k not in ("phones", "photos")}
    customer = Customer(**values, owner_id=actor.id, created_by_id=actor.id)
    session.add(customer)
    session.flush()
    assert customer.id is not None
    for e164 in dict.fromkeys(data.phones):
        session.add(CustomerPhone(customer_id=customer.id, e164=e164))
    index_customer(session, customer_id=customer.id)
    for file_id, unique_id in data.photos:
        session.add(
            Attachment(
                customer_id=customer.id,
                kind="photo",
                telegram_file_id=file_id,
                telegram_file_unique_id=unique_id,
                created_by_id=actor.id,
            )
        )
    record_audit(
        session,
        actor_id=actor.id,
        action="create",
        entity_type="customer",
        entity_id=customer.id,
        changes={k: [None, v] for k, v in vars(data).items() if v not in (None, [], "")},
    )
    return customer


def record_contact(session: Session, *, customer_id: int, at: datetime) -> None:
    """Move a customer's last contact forward to `at`, never back, in the caller's transaction.

    Every touch calls it (a note, a purchase, a new deal, a stage move, a merge), since the
    stay-in-touch nudges and the digest's stale count promise that any of them counts as
    contact. A late entry for an old visit does not make the customer look neglected, and
    the condition sits in the UPDATE, so of two touches at once the later one stays.
    """
    last = col(Customer.last_contact_at)
    session.execute(
        update(Customer)
        .where(col(Customer.id) == customer_id, or_(last.is_(None), last < at))
        .values(last_contact_at=at)
    )


def find_duplicates(
    session: Session,
    *,
    actor: Member,
    phones: list[str],
    email: str | None,
    name: str,
    company: str | None,
    exclude_id: int | None = None,
) -> list[DuplicateMatch]:
    """Same phone or email (case-insensitive) anywhere, or a very similar name at the same
    company, compared normalised (`normalise_company`, on the search index's key);
    `exclude_id` is the customer being edited, who is no duplicate of itself."""
    found: dict[int, tuple[Customer, str]] = {}
    if phones:
        rows = session.exec(
            select(Customer)
            .join(CustomerPhone, col(CustomerPhone.customer_id) == col(Customer.id))
            .where(col(CustomerPhone.e164).in_(phones), col(Customer.deleted_at).is_(None))
            .order_by(col(Customer.id))
        )
        for customer in rows:
            found.setdefault(customer.id, (customer, "phone"))  # type: ignore[arg-type]
    if email:
        rows = session.exec(  # through the indexed search key, not a scan of every customer
            select(Customer)
            .join(customer_search, customer_search.c.customer_id == col(Customer.id))
            .where(
                customer_search.c.email_key == email.lower(), col(Customer.deleted_at).is_(None)
            )
            .order_by(col(Customer.id))
        )
        for customer in rows:
            found.setdefault(customer.id, (customer, "email"))  # type: ignore[arg-type]
    if company and (company_key := normalise_company(company)):
        rows = session.exec(  # "上海华为有限公司" is "上海华为", "ACME Co., Ltd." is "Acme"
            select(Customer)
            .join(customer_search, customer_search.c.customer_id == col(Customer.id))
            .where(
                customer_search.c.company_key == company_key,
                col(Customer.deleted_at).is_(None),
            )
            .order_by(col(Customer.id))  # the same matches in the same order on both backends
            .limit(500)
        )
        for customer in rows:
            if fuzz.ratio(customer.name.casefold(), name.casefold()) >= NAME_SIMILARITY:
                found.setdefault(customer.id, (customer, "name"))  # type: ignore[arg-type]
    if exclude_id is not None:
        found.pop(exclude_id, None)
    if not found:
        return []
    visible = set(
        session.exec(
            select(Customer.id).where(
                col(Customer.id).in_(found), owner_scope(actor, Customer.owner_id)
            )
        )
    )
    owners = {
        m.id: m.display_name
        for m in session.exec(
            select(Member).where(col(Member.id).in_({c.owner_id for c, _ in found.values()}))
        )
    }
    return [
        DuplicateMatch(
            customer_id=customer_id,
            reason=reason,
            visible=customer_id in visible,
            name=customer.name,
            company=customer.company,
            owner_name=owners[customer.owner_id],
            own=customer.owner_id == actor.id,
        )
        for customer_id, (customer, reason) in found.items()
    ]


def get_customer(session: Session, *, actor: Member, customer_id: int) -> Customer:
    return require_customer(session, actor=actor, customer_id=customer_id)


_PHONES = PreparedSelect(  # built once and prepared: the card shows the phones on every open
    select(CustomerPhone.e164)
    .where(col(CustomerPhone.customer_id) == bindparam("customer_id"))
    .order_by(col(CustomerPhone.id))
)


def list_phones(session: Session, *, customer_id: int) -> list[str]:
    return [e164 for (e164,) in _PHONES.rows(session, {"customer_id": customer_id})]


def recent_customers(session: Session, *, actor: Member, limit: int = 5) -> list[Customer]:
    """The customers the actor touched last: the likely answer to "which customer?"."""
    return list(
        session.exec(
            select(Customer)
            .where(col(Customer.deleted_at).is_(None), owner_scope(actor, Customer.owner_id))
            .order_by(col(Customer.updated_at).desc(), col(Customer.id).desc())
            .limit(limit)
        )
    )
