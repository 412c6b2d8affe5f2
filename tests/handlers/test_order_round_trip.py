"""An export of orders imports back as it was (issue 17): lines from the one Lines cell,
statuses by their labels, a cancelled order with its reason, dates and totals, in English and
Chinese. Storage and the export's rendering, without the chat (the chat's own steps are in
tests/e2e/test_import_orders.py and test_order_export.py)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, select

from handlers.export import render_table
from handlers.i18n import Catalogs
from storage.db import Database
from storage.export import list_order_rows
from storage.models import Member, Order, OrderLine, utcnow
from storage.orders import (
    OrderCreate,
    OrderLineCreate,
    advance_order,
    cancel_order,
    create_order,
)
from tests.storage.import_helpers import add_member, existing_customer
from tests.storage.test_import_orders import run


def _orders(session: Session, actor: Member, customer: int) -> None:
    today = utcnow().date()
    made = [
        OrderCreate(
            customer_id=customer,
            ordered_on=today - timedelta(days=3),
            lines=(
                OrderLineCreate("X2", Decimal(50), Decimal(1200)),
                OrderLineCreate("cable 10m", Decimal("2.5"), Decimal("30.5")),
            ),
            currency="CNY",
            number="DD-1",
            delivery_due_on=today + timedelta(days=7),
        ),
        OrderCreate(  # as a purchase became an order: an amount, no unit price
            customer_id=customer,
            ordered_on=today - timedelta(days=30),
            lines=(OrderLineCreate("iPhone 15", Decimal(2), amount=Decimal(9000)),),
            currency="USD",
            number="DD-2",
        ),
        OrderCreate(
            customer_id=customer,
            ordered_on=today,
            lines=(OrderLineCreate("Desk"),),
            total=Decimal(800),
            currency="CNY",
            number="DD-3",
        ),
    ]
    ids = [create_order(session, actor=actor, data=data).id or 0 for data in made]
    advance_order(session, actor=actor, order_id=ids[0], status="confirmed")
    for status in ("confirmed", "shipped", "delivered", "paid"):
        advance_order(session, actor=actor, order_id=ids[1], status=status)
    cancel_order(session, actor=actor, order_id=ids[2], reason="客户换了供应商")


def _kept(session: Session) -> dict[str, tuple[object, ...]]:
    """number -> what an order is, but its number."""
    found: dict[str, tuple[object, ...]] = {}
    for order in session.exec(select(Order).order_by(col(Order.id))):
        lines = session.exec(
            select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.position)
        )
        found[order.number] = (
            order.customer_id,
            order.status,
            order.cancel_reason,
            order.total,
            order.currency,
            order.ordered_on,
            order.delivery_due_on,
            [(ln.product, ln.quantity, ln.unit_price, ln.amount) for ln in lines],
        )
    return found


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_an_export_of_orders_imports_back_as_it_was(
    db: Database, catalogs: Catalogs, lang: str
) -> None:
    sales = add_member(db)
    customer = existing_customer(db, sales)
    db.run_sync(lambda s: _orders(s, s.get_one(Member, sales.id), customer))
    table = db.read_sync(list_order_rows, actor=sales)
    exported = render_table("csv", table, catalogs.translator(lang), tz=ZoneInfo("UTC"))
    run(db, sales, exported.replace(b"DD-", b"EX-"))  # the same orders under new numbers
    kept = db.read_sync(_kept)
    assert list(kept) == ["DD-1", "DD-2", "DD-3", "EX-1", "EX-2", "EX-3"]
    for n in (1, 2, 3):
        assert kept[f"EX-{n}"] == kept[f"DD-{n}"]
    assert kept["EX-3"][1:3] == ("cancelled", "客户换了供应商")
