"""Purchases: what a customer bought, optionally as the outcome of one of their deals."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal

from sqlalchemy import bindparam, func
from sqlmodel import Session, col, select

from storage.access import NotFound, actor_id, owner_for, require_customer, require_deal
from storage.audit import diff, record_audit, snapshot
from storage.customers import record_contact
from storage.models import Member, Purchase, utcnow

_CENT = Decimal("0.01")


@dataclass(frozen=True)
class PurchaseCreate:
    """What the purchase step collects; amounts come from `parsing.parse_amount`."""

    customer_id: int
    product: str
    purchased_on: date
    quantity: Decimal | None = None
    amount: Decimal | None = None
    currency: str | None = None
    deal_id: int | None = None

    def __post_init__(self) -> None:
        if self.amount is not None and self.currency is None:
            raise ValueError("an amount needs a currency")


def create_purchase(session: Session, *, actor: Member, data: PurchaseCreate) -> Purchase:
    """Record a purchase for a customer the actor may see.

    A deal given must be one of this customer's: another customer's deal (a stale button, a
    forged id) is refused with the same NotFound as an invisible one. The purchase is contact
    with the customer on its date (`record_contact`).
    """
    customer = require_customer(session, actor=actor, customer_id=data.customer_id)
    if data.deal_id is not None:
        deal = require_deal(session, actor=actor, deal_id=data.deal_id)
        if deal.customer_id != customer.id:
            raise NotFound
    purchase = Purchase(
        **asdict(data), owner_id=owner_for(actor, customer), created_by_id=actor_id(actor)
    )
    session.add(purchase)
    session.flush()
    assert purchase.id is not None
    record_contact(session, customer_id=data.customer_id, at=_contact_time(data.purchased_on))
    record_audit(
        session,
        actor_id=actor.id,
        action="create",
        entity_type="purchase",
        entity_id=purchase.id,
        changes=diff({}, snapshot(**asdict(data), owner_id=purchase.owner_id)),
    )
    return purchase


def _contact_time(purchased_on: date) -> datetime:
    """Now for a purchase of today (or a later date), else the start of its day: a purchase
    entered late does not count as a contact made today."""
    now = utcnow()
    if purchased_on >= now.date():
        return now
    return datetime.combine(purchased_on, time.min, tzinfo=UTC)


def purchases_total(session: Session, *, actor: Member, customer_id: int) -> dict[str, Decimal]:
    """What a customer has spent, per currency (amounts in different currencies never add up).

    Purchases without an amount count for nothing here. SQLite sums in floating point, so
    the totals are rounded back to cents.
    """
    require_customer(session, actor=actor, customer_id=customer_id)
    return spent_per_currency(session, customer_id=customer_id)


_SPENT_PER_CURRENCY = (  # built once: building it cost more than running it
    select(Purchase.currency, func.sum(Purchase.amount))
    .where(
        col(Purchase.customer_id) == bindparam("customer_id"),
        col(Purchase.deleted_at).is_(None),
        col(Purchase.amount).is_not(None),
        col(Purchase.currency).is_not(None),
    )
    .group_by(col(Purchase.currency))
    .order_by(col(Purchase.currency))
)


def spent_per_currency(session: Session, *, customer_id: int) -> dict[str, Decimal]:
    """`purchases_total` for a caller that has checked access already (the card)."""
    rows = session.execute(_SPENT_PER_CURRENCY, {"customer_id": customer_id})
    return {currency: Decimal(total or 0).quantize(_CENT) for currency, total in rows if currency}
