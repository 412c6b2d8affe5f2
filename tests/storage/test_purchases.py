"""Purchases: orders delivered and paid at once, with one line; access, the deal they
close, audit, status history, and totals that never mix currencies."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, col, select

from storage.access import NotFound
from storage.audit import list_audit
from storage.db import Database
from storage.deals import DealCreate, create_deal
from storage.models import (
    Customer,
    Deal,
    Member,
    Order,
    OrderLine,
    OrderStatusChange,
    Role,
    utcnow,
)
from storage.orders import orders_total
from storage.purchases import PurchaseCreate, create_purchase
from tests.factories import last_contact_of, make_customer, make_member, pk


def buy(
    session: Session,
    actor: Member,
    customer: Customer,
    amount: str | None = "100.10",
    currency: str | None = "CNY",
    *,
    deal: Deal | None = None,
) -> Order:
    assert customer.id is not None
    data = PurchaseCreate(
        customer_id=customer.id,
        product="Pallet jack",
        quantity=Decimal("2.5"),
        amount=Decimal(amount) if amount is not None else None,
        currency=currency,
        purchased_on=date(2030, 5, 1),
        deal_id=deal.id if deal is not None else None,
    )
    return create_purchase(session, actor=actor, data=data)


def open_deal(session: Session, actor: Member, customer: Customer) -> Deal:
    assert customer.id is not None
    data = DealCreate(customer_id=customer.id, title="Jacks", stage="lead")
    return create_deal(session, actor=actor, data=data)


def test_create_purchase_stores_values_and_audit(db: Database) -> None:
    with db.session() as session:
        sales = make_member(session)
        customer = make_customer(session, owner=sales)
        deal = open_deal(session, sales, customer)
        purchase_id = buy(session, sales, customer, deal=deal).id
        assert purchase_id is not None
        paid, entry = list_audit(session, entity_type="order", entity_id=purchase_id)
    with db.session() as session:
        purchase = session.get_one(Order, purchase_id)
        [line] = session.exec(select(OrderLine).where(OrderLine.order_id == purchase_id)).all()
        moves = session.exec(
            select(OrderStatusChange.from_status, OrderStatusChange.to_status)
            .where(OrderStatusChange.order_id == purchase_id)
            .order_by(col(OrderStatusChange.id))
        ).all()
    assert (purchase.status, purchase.total, purchase.currency) == (
        "paid",
        Decimal("100.10"),
        "CNY",
    )
    assert (purchase.ordered_on, purchase.number) == (date(2030, 5, 1), "DD-2030-0001")
    assert (line.product, line.quantity, line.amount) == (
        "Pallet jack",
        Decimal("2.5"),
        Decimal("100.10"),
    )
    assert (line.position, line.unit_price) == (1, None)
    assert purchase.deal_id == deal.id
    assert purchase.owner_id == sales.id
    assert moves == [(None, "delivered"), ("delivered", "paid")]
    assert (entry.action, paid.action) == ("create", "update")
    assert entry.actor_id == sales.id
    assert entry.changes["total"] == [None, "100.10"]
    assert entry.changes["ordered_on"] == [None, "2030-05-01"]
    assert entry.changes["deal_id"] == [None, deal.id]
    assert entry.changes["lines"] == [None, ["2.5 × Pallet jack = 100.10"]]
    assert paid.changes == {"status": ["delivered", "paid"]}


def test_create_purchase_for_other_salespersons_customer_is_not_found(db: Database) -> None:
    with db.session() as session:
        sales = make_member(session)
        customer = make_customer(session, owner=make_member(session))
        with pytest.raises(NotFound):
            buy(session, sales, customer)


def test_create_purchase_by_manager_for_team_customer_belongs_to_salesperson(
    db: Database,
) -> None:
    with db.session() as session:
        manager = make_member(session, role=Role.MANAGER)
        sales = make_member(session, manager=manager)
        purchase = buy(session, manager, make_customer(session, owner=sales))
    assert purchase.owner_id == sales.id
    assert purchase.created_by_id == manager.id


def test_create_purchase_with_another_customers_deal_is_not_found(db: Database) -> None:
    with db.session() as session:
        sales = make_member(session)
        deal = open_deal(session, sales, make_customer(session, owner=sales))
        with pytest.raises(NotFound):
            buy(session, sales, make_customer(session, owner=sales), deal=deal)


def test_create_purchase_with_invisible_deal_is_not_found(db: Database) -> None:
    with db.session() as session:
        sales = make_member(session)
        other = make_member(session)
        deal = open_deal(session, other, make_customer(session, owner=other))
        with pytest.raises(NotFound):
            buy(session, sales, make_customer(session, owner=sales), deal=deal)


def test_purchase_with_amount_but_no_currency_is_refused() -> None:
    with pytest.raises(ValueError, match="currency"):
        PurchaseCreate(
            customer_id=1, product="x", purchased_on=date(2030, 1, 1), amount=Decimal(1)
        )


def test_orders_total_per_currency(db: Database) -> None:
    with db.session() as session:
        sales = make_member(session)
        customer = make_customer(session, owner=sales)
        for amount in ("0.10", "0.20", "1000000.05"):
            buy(session, sales, customer, amount, "CNY")
        buy(session, sales, customer, "99.99", "USD")
        buy(session, sales, customer, None, None)
        buy(session, sales, customer, "5.00", "USD").deleted_at = utcnow()
        buy(session, sales, make_customer(session, owner=sales), "7.00", "CNY")
        assert customer.id is not None
        totals = orders_total(session, actor=sales, customer_id=customer.id)
    assert totals == {"CNY": Decimal("1000000.35"), "USD": Decimal("99.99")}


def test_orders_total_without_orders_is_empty(db: Database) -> None:
    with db.session() as session:
        sales = make_member(session)
        customer = make_customer(session, owner=sales)
        assert customer.id is not None
        assert orders_total(session, actor=sales, customer_id=customer.id) == {}


def test_orders_total_of_other_salespersons_customer_is_not_found(db: Database) -> None:
    with db.session() as session:
        sales = make_member(session)
        customer = make_customer(session, owner=make_member(session))
        assert customer.id is not None
        with pytest.raises(NotFound):
            orders_total(session, actor=sales, customer_id=customer.id)


def test_create_purchase_is_a_contact_on_its_date(db: Database) -> None:
    with db.session() as session:
        sales = make_member(session)
        customer = make_customer(session, owner=sales)
        customer.last_contact_at = utcnow() - timedelta(days=90)
        week_ago = (utcnow() - timedelta(days=7)).date()
        data = PurchaseCreate(customer_id=pk(customer), product="Desk", purchased_on=week_ago)
        create_purchase(session, actor=sales, data=data)
        assert last_contact_of(session, customer) == datetime.combine(week_ago, time.min, UTC)
        before = utcnow()
        today = replace(data, purchased_on=before.date())
        create_purchase(session, actor=sales, data=today)
        assert (last_contact_of(session, customer) or before) >= before
