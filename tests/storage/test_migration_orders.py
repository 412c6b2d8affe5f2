"""Migration 0012 turns every purchase into an order delivered and paid (issue 17).

Each test builds the database at 0011, seeds purchases with plain SQL as the old code wrote
them, then upgrades and reads what became of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlmodel import col, select

from storage.db import Database
from storage.migrate import upgrade_database
from storage.models import Member, Order, OrderLine, OrderStatusChange
from storage.orders import OrderCreate, OrderLineCreate, create_order
from tests.storage.test_migration_hand_over import add_customer, add_deal, add_member, insert

BEFORE = "0011"
STAMPS = {
    "created_at": "'2026-03-04 05:06:07'",
    "updated_at": "'2026-03-05 06:07:08'",
}


def add_purchase(db: Database, customer: int, owner: int, on: str, **values: Any) -> int:
    sql = {**STAMPS, "purchased_on": f"'{on}'"}
    sql |= {name: str(values.pop(name)) for name in ("quantity", "amount") if name in values}
    if values.pop("deleted", False):
        sql["deleted_at"] = "'2026-04-01 00:00:00'"
    with db.engine.begin() as connection:
        return insert(
            connection,
            "purchase",
            sql,
            **{"customer_id": customer, "owner_id": owner, "created_by_id": owner, **values},
        )


def rows(db: Database, query: str, **params: Any) -> list[Any]:
    with db.engine.connect() as connection:
        return list(connection.execute(text(query), params))


@pytest.fixture
def old_db(blank_db_url: str) -> Iterator[Database]:
    database = Database(blank_db_url)
    upgrade_database(database.engine, revision=BEFORE)
    yield database
    database.close()


@pytest.fixture
def people(old_db: Database) -> dict[str, int]:
    with old_db.engine.begin() as connection:
        manager = add_member(connection, "manager")
        ann = add_member(connection, "sales", manager)
        customer = add_customer(connection, ann)
        deal = add_deal(connection, customer, ann)
    return {"manager": manager, "ann": ann, "customer": customer, "deal": deal}


def test_purchase_becomes_a_paid_order_with_one_line(
    old_db: Database, people: dict[str, int]
) -> None:
    ann, customer = people["ann"], people["customer"]
    purchase = add_purchase(
        old_db,
        customer,
        ann,
        "2026-02-03",
        product="Pallet jack",
        quantity=Decimal("2.5"),
        amount=Decimal("100.10"),
        currency="CNY",
        deal_id=people["deal"],
        import_batch_id=7,
        updated_by_id=people["manager"],
    )
    upgrade_database(old_db.engine)
    with old_db.session() as session:
        order = session.get_one(Order, purchase)
        [line] = session.exec(select(OrderLine).where(OrderLine.order_id == purchase)).all()
        moves = session.exec(
            select(OrderStatusChange)
            .where(OrderStatusChange.order_id == purchase)
            .order_by(col(OrderStatusChange.id))
        ).all()
    assert (order.status, order.number, order.total, order.currency) == (
        "paid",
        "DD-2026-0001",
        Decimal("100.10"),
        "CNY",
    )
    assert (order.customer_id, order.owner_id, order.deal_id) == (customer, ann, people["deal"])
    assert (order.ordered_on, order.delivery_due_on, order.contract_id) == (
        date(2026, 2, 3),
        None,
        None,
    )
    assert (order.import_batch_id, order.created_by_id, order.updated_by_id) == (
        7,
        ann,
        people["manager"],
    )
    assert (order.created_at.isoformat(), order.updated_at.isoformat()) == (
        "2026-03-04T05:06:07+00:00",
        "2026-03-05T06:07:08+00:00",
    )
    assert (order.deleted_at, order.cancel_reason) == (None, None)
    assert (line.position, line.product, line.quantity, line.amount, line.unit_price) == (
        1,
        "Pallet jack",
        Decimal("2.500"),
        Decimal("100.10"),
        None,
    )
    assert [(m.from_status, m.to_status, m.changed_by_id) for m in moves] == [
        (None, "delivered", ann),
        ("delivered", "paid", ann),
    ]
    assert {m.changed_at for m in moves} == {order.created_at}


def test_purchase_without_amount_or_quantity_and_deleted_purchase_move_too(
    old_db: Database, people: dict[str, int]
) -> None:
    ann, customer = people["ann"], people["customer"]
    bare = add_purchase(old_db, customer, ann, "2026-02-03", product="Desk")
    gone = add_purchase(old_db, customer, ann, "2026-02-04", product="Chair", deleted=True)
    upgrade_database(old_db.engine)
    with old_db.session() as session:
        plain, deleted = session.get_one(Order, bare), session.get_one(Order, gone)
        [line] = session.exec(select(OrderLine).where(OrderLine.order_id == bare)).all()
    assert (plain.total, plain.currency, line.quantity, line.amount) == (None, None, None, None)
    assert deleted.deleted_at is not None
    assert deleted.deleted_at.isoformat().startswith("2026-04")


def test_numbers_count_per_year_in_date_order(old_db: Database, people: dict[str, int]) -> None:
    ann, customer = people["ann"], people["customer"]
    dates = ["2026-05-01", "2025-12-31", "2026-01-02", "2026-01-02", "2025-01-01"]
    ids = [add_purchase(old_db, customer, ann, on, product="Tea") for on in dates]
    upgrade_database(old_db.engine)
    numbers = dict(rows(old_db, "SELECT id, number FROM sales_order"))
    assert [numbers[i] for i in ids] == [
        "DD-2026-0003",
        "DD-2025-0002",
        "DD-2026-0001",
        "DD-2026-0002",
        "DD-2025-0001",
    ]


def test_audit_of_a_purchase_becomes_the_orders(old_db: Database, people: dict[str, int]) -> None:
    ann, customer = people["ann"], people["customer"]
    purchase = add_purchase(old_db, customer, ann, "2026-02-03", product="Tea")
    with old_db.engine.begin() as connection:
        insert(
            connection,
            "audit_entry",
            {"at": "CURRENT_TIMESTAMP"},
            actor_id=ann,
            action="create",
            entity_type="purchase",
            entity_id=purchase,
            changes='{"product": [null, "Tea"]}',
        )
    upgrade_database(old_db.engine)
    found = rows(old_db, "SELECT entity_type, entity_id FROM audit_entry")
    assert [tuple(row) for row in found] == [("order", purchase)]


def test_purchase_table_is_gone_and_new_orders_follow_the_migrated_ones(
    old_db: Database, people: dict[str, int]
) -> None:
    ann, customer = people["ann"], people["customer"]
    last = max(add_purchase(old_db, customer, ann, "2026-02-03", product="Tea") for _ in "ab")
    upgrade_database(old_db.engine)
    assert "purchase" not in inspect(old_db.engine).get_table_names()
    with old_db.session() as session:
        member = session.get_one(Member, ann)
        data = OrderCreate(
            customer_id=customer,
            ordered_on=date(2026, 6, 1),
            lines=(OrderLineCreate("Cups", Decimal(2), Decimal(3)),),
            currency="CNY",
        )
        order = create_order(session, actor=member, data=data)
        line_ids = session.exec(select(OrderLine.id).where(OrderLine.order_id == order.id)).all()
    assert order.id is not None
    assert order.id > last
    assert order.number == "DD-2026-0003"
    assert line_ids
    assert all(line_id is not None and line_id > last for line_id in line_ids)


def test_upgrade_of_a_database_without_purchases_makes_empty_order_tables(
    old_db: Database,
) -> None:
    upgrade_database(old_db.engine)
    assert rows(old_db, "SELECT COUNT(*) FROM sales_order") == [(0,)]
    assert rows(old_db, "SELECT COUNT(*) FROM order_status_change") == [(0,)]
