"""Purchases: the one-tap shortcut for an order delivered and paid at once, with one line.

What a customer bought is one list, the orders (storage/orders.py); `/purchase` records into
it. Its status history reads "delivered, then paid", both at entry, as migration 0012 wrote
it for the purchases recorded before orders existed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlmodel import Session

from storage.models import Member, Order, OrderStatus
from storage.orders import (
    DEFAULT_NUMBER_PATTERN,
    OrderCreate,
    OrderLineCreate,
    advance_order,
    create_order,
)


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

    def as_order(self) -> OrderCreate:
        line = OrderLineCreate(product=self.product, quantity=self.quantity, amount=self.amount)
        return OrderCreate(
            customer_id=self.customer_id,
            ordered_on=self.purchased_on,
            lines=(line,),
            currency=self.currency if self.amount is not None else None,
            deal_id=self.deal_id,
            status=OrderStatus.DELIVERED,
        )


def create_purchase(
    session: Session,
    *,
    actor: Member,
    data: PurchaseCreate,
    number_pattern: str = DEFAULT_NUMBER_PATTERN,
) -> Order:
    """Record what a customer bought as an order delivered and paid, numbered by
    `number_pattern`: the same checks as any order (a deal of another customer, or an
    invisible one, is NotFound), and contact with the customer on its date."""
    order = create_order(session, actor=actor, data=data.as_order(), number_pattern=number_pattern)
    assert order.id is not None
    return advance_order(session, actor=actor, order_id=order.id, status=OrderStatus.PAID)
