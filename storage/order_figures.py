"""Order numbers for `/report`: the orders placed in a period by status, with their amounts per
currency (never converted, as everywhere), for the orders the actor may see
(`storage.access.order_scope`, the rule of deals)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.access import order_scope
from storage.models import Customer, Member, Order, OrderStatus
from storage.parsing import Money

STATUS_ORDER = tuple(OrderStatus)  # ordered → ... → paid, then cancelled
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class StatusFigure:
    status: str
    count: int
    amounts: list[Money] = field(default_factory=list)


@dataclass(frozen=True)
class OrderFigures:
    """Orders dated `first`..`last` by their status now, in the order of the statuses."""

    by_status: list[StatusFigure] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(f.count for f in self.by_status)


def order_figures(
    session: Session, *, actor: Member, first: date, last: date, currency: str
) -> OrderFigures:
    """The figures of the local dates `first`..`last`; the team's `currency` listed first."""
    rows = session.exec(
        select(Order.status, Order.currency, func.count(), func.sum(Order.total))
        .join(Customer, col(Customer.id) == col(Order.customer_id))
        .where(order_scope(actor), col(Order.ordered_on) >= first, col(Order.ordered_on) <= last)
        .group_by(col(Order.status), col(Order.currency))
    ).all()
    counts: dict[str, int] = {}
    amounts: dict[str, list[Money]] = {}
    for status, code, n, total in rows:
        counts[status] = counts.get(status, 0) + int(n)
        if code is not None and total is not None:
            money = Money(Decimal(total).quantize(_CENT), code)
            amounts.setdefault(status, []).append(money)
    return OrderFigures(
        [
            StatusFigure(
                status,
                counts[status],
                sorted(
                    amounts.get(status, []), key=lambda m: (m.currency != currency, m.currency)
                ),
            )
            for status in STATUS_ORDER
            if status in counts
        ]
    )
