"""What needs a manager's look, computed from the records in the actor's scope.

Four kinds: a customer missing required fields, a suspected duplicate (same phone or email,
or a close name at the same normalised company, by `storage.quality.clusters`, across
salespeople), a suspicious value (a phone that is not valid, a birthday in the future or over
110 years ago, a deal amount 100 times its team's median, a close date years away), and each
new customer a salesperson entered when the team approves new customers. Nothing here is
stored: an item is there while the record is as it is. `storage.reviews` filters out the
items already decided on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from statistics import median
from typing import Any

import phonenumbers
from sqlmodel import Session, col, select

from storage.access import owner_scope
from storage.models import Customer, CustomerPhone, Deal, Member, Role, utcnow
from storage.quality.clusters import duplicate_pairs
from storage.quality.dismissals import pair_version, stamp

DEFAULT_REQUIRED = ("name", "phone")
OUTLIER_FACTOR = 100  # an amount this many times the team's median is suspicious
MIN_DEALS_FOR_MEDIAN = 3  # fewer amounts make no median worth comparing with
MAX_AGE_YEARS = 110
FAR_CLOSE_DAYS = 730  # an open deal's close date more than two years from today
NEW_DAYS = 30  # approval mode asks about customers entered in the last 30 days


@dataclass(frozen=True)
class ReviewRules:
    """What the team checks: required customer fields, and whether new customers need approval."""

    required: tuple[str, ...] = DEFAULT_REQUIRED
    approve_new: bool = False


@dataclass(frozen=True)
class ReviewKey:
    """Which item: the kind, the record, and for a duplicate the other record."""

    kind: str  # "missing" | "duplicate" | "suspicious" | "new"
    record_type: str  # "customer" | "deal"
    record_id: int
    other_id: int | None = None


@dataclass(frozen=True)
class ReviewItem:
    key: ReviewKey
    owner_id: int
    customer_id: int  # the record's customer (the customer itself, or the deal's)
    title: str  # the customer's name, or the deal's title
    details: tuple[str, ...]  # missing fields, suspicion codes, or the duplicate's reason
    since: datetime
    version: str  # the record's state the item is about; a decision holds for this version
    other_visible: bool = True  # a duplicate owned outside the actor's scope: owner name only
    other_owner: str | None = None


def missing_customer_fields(
    values: dict[str, Any], phones: Sequence[str], required: Iterable[str]
) -> tuple[str, ...]:
    """The required fields `values` leaves empty ("phone" is the customer's phone list).

    The one place that decides "missing required fields" until the quality rules' own
    completeness module replaces it."""
    missing = []
    for name in required:
        value: Any = list(phones) if name == "phone" else values.get(name)
        if name == "birthday":
            value = values.get("birthday_month")
        if value in (None, "", []):
            missing.append(name)
    return tuple(missing)


def compute_items(
    session: Session, *, actor: Member, rules: ReviewRules, today: date
) -> list[ReviewItem]:
    """Every item on records the actor may see, oldest first."""
    customers = list(
        session.exec(
            select(Customer).where(
                col(Customer.deleted_at).is_(None), owner_scope(actor, Customer.owner_id)
            )
        )
    )
    phones: dict[int, list[str]] = defaultdict(list)
    if customers:
        for customer_id, e164 in session.exec(
            select(CustomerPhone.customer_id, CustomerPhone.e164)
            .join(Customer, col(Customer.id) == col(CustomerPhone.customer_id))
            .where(col(Customer.deleted_at).is_(None), owner_scope(actor, Customer.owner_id))
            .order_by(col(CustomerPhone.id))
        ):
            phones[customer_id].append(e164)
    items = [
        *_missing(customers, phones, rules),
        *_suspicious_customers(customers, phones, today),
        *_duplicates(session, actor, customers),
        *_suspicious_deals(session, actor, today),
    ]
    if rules.approve_new:
        items.extend(_new_customers(session, customers))
    items.sort(key=lambda item: (item.since, item.key.record_id, item.key.kind))
    return items


def _customer_item(
    customer: Customer, kind: str, details: tuple[str, ...], **extra: Any
) -> ReviewItem:
    assert customer.id is not None
    return ReviewItem(
        key=ReviewKey(kind, "customer", customer.id, extra.pop("other_id", None)),
        owner_id=customer.owner_id,
        customer_id=customer.id,
        title=customer.name,
        details=details,
        since=extra.pop("since", customer.updated_at),
        version=extra.pop("version", stamp(customer.updated_at)),
        **extra,
    )


def _missing(
    customers: list[Customer], phones: dict[int, list[str]], rules: ReviewRules
) -> Iterable[ReviewItem]:
    for customer in customers:
        assert customer.id is not None
        missing = missing_customer_fields(vars(customer), phones[customer.id], rules.required)
        if missing:
            yield _customer_item(customer, "missing", missing)


def _suspicious_customers(
    customers: list[Customer], phones: dict[int, list[str]], today: date
) -> Iterable[ReviewItem]:
    for customer in customers:
        assert customer.id is not None
        codes = [*_phone_codes(phones[customer.id]), *_birthday_codes(customer, today)]
        if codes:
            yield _customer_item(customer, "suspicious", tuple(codes))


def _phone_codes(numbers: list[str]) -> list[str]:
    return ["phone_invalid"] if not all(_valid_phone(e164) for e164 in numbers) else []


@lru_cache(maxsize=200_000)  # the queue is computed again on every /review, Approve and Next
def _valid_phone(e164: str) -> bool:
    """Whether a stored number is a valid one (~0.1 ms each: most of a big queue's time)."""
    try:
        return bool(phonenumbers.is_valid_number(phonenumbers.parse(e164, None)))
    except phonenumbers.NumberParseException:
        return False


def _birthday_codes(customer: Customer, today: date) -> list[str]:
    year, month, day = customer.birthday_year, customer.birthday_month, customer.birthday_day
    if year is None or month is None or day is None:
        return []
    try:
        born = date(year, month, day)
    except ValueError:
        return ["birthday_future"] if year > today.year else []
    if born > today:
        return ["birthday_future"]
    age = today.year - year - ((today.month, today.day) < (month, day))
    return ["age_over_110"] if age > MAX_AGE_YEARS else []


def _duplicates(
    session: Session, actor: Member, customers: list[Customer]
) -> Iterable[ReviewItem]:
    """One item per linked pair of `storage.quality.clusters` (blocked by the actor's own
    customers' phones, emails and companies, across salespeople) with a customer in
    `customers`: the later of the two is the subject, unless only the earlier is the
    reviewer's to see."""
    by_id = {c.id: c for c in customers if c.id is not None}
    pairs = {
        pair: reason
        for pair, reason in duplicate_pairs(session, actor=actor).items()
        if pair[0] in by_id or pair[1] in by_id
    }
    outside = {i for pair in pairs for i in pair if i not in by_id}
    others: dict[int, tuple[datetime, str]] = {}
    if outside:
        for customer_id, updated_at, name in session.exec(
            select(Customer.id, Customer.updated_at, Member.display_name)
            .join(Member, col(Member.id) == col(Customer.owner_id))
            .where(col(Customer.id).in_(outside))
        ):
            assert customer_id is not None
            others[customer_id] = (updated_at, name)
    for (low, high), reason in pairs.items():
        owner: str | None
        if low in by_id and high in by_id:
            subject, other_id, other_at, owner = by_id[high], low, by_id[low].updated_at, None
        else:
            subject = by_id[low] if low in by_id else by_id[high]
            other_id = high if low in by_id else low
            other_at, owner = others[other_id]
        at = {subject.id: subject.updated_at, other_id: other_at}
        yield _customer_item(
            subject,
            "duplicate",
            ("name" if reason == "pinyin" else reason,),
            other_id=other_id,
            since=max(at.values()),
            version=pair_version(at[low], at[high]),
            other_visible=owner is None,
            other_owner=owner,
        )


def _suspicious_deals(session: Session, actor: Member, today: date) -> Iterable[ReviewItem]:
    """Live deals by the deal rule (the deal's and its customer's owner both in scope)."""
    rows = list(
        session.exec(
            select(Deal, Customer)
            .join(Customer, col(Customer.id) == col(Deal.customer_id))
            .where(
                col(Deal.deleted_at).is_(None),
                col(Customer.deleted_at).is_(None),
                owner_scope(actor, Deal.owner_id),
                owner_scope(actor, Customer.owner_id),
            )
        )
    )
    medians = _team_medians(session, {deal.owner_id for deal, _ in rows})
    for deal, _customer in rows:
        assert deal.id is not None
        codes = []
        team_median = medians.get(deal.owner_id)
        if deal.amount and team_median and deal.amount >= OUTLIER_FACTOR * team_median:
            codes.append("amount_outlier")
        close = deal.expected_close_date
        if close and deal.closed_at is None and abs((close - today).days) > FAR_CLOSE_DAYS:
            codes.append("close_far")
        if codes:
            yield ReviewItem(
                key=ReviewKey("suspicious", "deal", deal.id),
                owner_id=deal.owner_id,
                customer_id=deal.customer_id,
                title=deal.title,
                details=tuple(codes),
                since=deal.updated_at,
                version=stamp(deal.updated_at),
            )


def _team_medians(session: Session, owner_ids: set[int]) -> dict[int, Decimal]:
    """The median live deal amount of each owner's team (a manager and their salespeople),
    by owner: a number compared against, never shown, so the whole team counts whoever asks."""
    if not owner_ids:
        return {}
    team_of: dict[int, int] = {
        m.id: (m.id if m.role != Role.SALES or m.manager_id is None else m.manager_id)
        for m in session.exec(select(Member))
        if m.id is not None
    }
    teams = {team_of[o] for o in owner_ids}
    amounts: dict[int, list[Decimal]] = defaultdict(list)
    for owner_id, amount in session.exec(
        select(col(Deal.owner_id), col(Deal.amount)).where(
            col(Deal.deleted_at).is_(None), col(Deal.amount) > 0
        )
    ):
        team = team_of.get(owner_id)
        if team is not None and team in teams and amount is not None:
            amounts[team].append(amount)
    medians = {
        team: Decimal(median(values))
        for team, values in amounts.items()
        if len(values) >= MIN_DEALS_FOR_MEDIAN
    }
    return {o: medians[team_of[o]] for o in owner_ids if team_of[o] in medians}


def _new_customers(session: Session, customers: list[Customer]) -> Iterable[ReviewItem]:
    """Customers a salesperson entered lately; approving one holds whatever changes after."""
    cutoff = utcnow() - timedelta(days=NEW_DAYS)
    recent = [c for c in customers if c.created_at >= cutoff]
    creators = {c.created_by_id for c in recent}
    sales = set(
        session.exec(
            select(Member.id).where(col(Member.id).in_(creators), Member.role == Role.SALES)
        )
    )
    for customer in recent:
        if customer.created_by_id in sales:
            yield _customer_item(customer, "new", (), since=customer.created_at, version="new")
