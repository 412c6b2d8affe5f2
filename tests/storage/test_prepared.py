"""Prepared selects (storage/prepared.py) give what SQLAlchemy gives, on both backends: the
same converted values, and records the ORM would have loaded."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import bindparam, inspect, literal, select
from sqlmodel import Session, SQLModel, col

from storage.db import Database
from storage.models import (
    Contract,
    ContractStatus,
    Customer,
    Deal,
    Interaction,
    Member,
    Order,
    OrderStatus,
    Reminder,
    Role,
    utcnow,
)
from storage.prepared import PreparedSelect, as_records, prepared, width
from storage.reminders import ReminderStatus
from tests.factories import make_customer, make_member, pk

MODELS: tuple[type[SQLModel], ...] = (Customer, Interaction, Deal, Reminder, Order, Contract)


def _everything_filled(session: Session) -> tuple[Member, Customer]:
    """A customer with one of each record the card reads, every column of each set."""
    owner = make_member(session, role=Role.SALES)
    when = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
    customer = Customer(
        owner_id=pk(owner),
        name="王伟 Wang",
        email="w@example.com",
        company="Acme",
        position="Buyer",
        industry="retail",
        region="华东",
        gender="male",
        birthday_month=2,
        birthday_day=29,
        birthday_year=1980,
        source="referral",
        category="a",
        tags=["vip", "大客户"],
        needs="needs\nmore",
        contact_cadence_days=14,
        last_contact_at=when,
        created_by_id=pk(owner),
        updated_by_id=pk(owner),
        created_at=when,
        updated_at=when + timedelta(days=1),
    )
    session.add(customer)
    session.flush()
    by = {"created_by_id": pk(owner), "updated_by_id": pk(owner)}
    records: list[SQLModel] = [
        Interaction(
            customer_id=pk(customer),
            owner_id=pk(owner),
            **by,
            kind="visit",
            happened_at=when,
            summary="met",
            outcome="ok",
            latitude=31.2304,
            longitude=121.4737,
        ),
        Deal(
            customer_id=pk(customer),
            owner_id=pk(owner),
            **by,
            title="X2",
            amount=Decimal("500000.50"),
            currency="CNY",
            stage="proposal",
            expected_close_date=date(2026, 12, 31),
            probability=40,
            budget=Decimal("12.34"),
            budget_currency="USD",
            decision_date=date(2027, 1, 2),
        ),
        Reminder(
            customer_id=pk(customer),
            member_id=pk(owner),
            kind="follow_up",
            due_at=when,
            text="call",
            status=ReminderStatus.PENDING,
        ),
        Order(
            customer_id=pk(customer),
            owner_id=pk(owner),
            **by,
            number="DD-2026-0001",
            currency="CNY",
            ordered_on=date(2026, 2, 1),
            delivery_due_on=date(2026, 2, 9),
            status=OrderStatus.SHIPPED,
            total=Decimal("1234.56"),
        ),
        Contract(
            customer_id=pk(customer),
            owner_id=pk(owner),
            **by,
            number="HT-2026-0001",
            title="Service",
            amount=Decimal("99.99"),
            currency="CNY",
            signed_on=date(2026, 1, 1),
            starts_on=date(2026, 1, 2),
            ends_on=date(2027, 1, 1),
            renewal_notice_days=30,
            terms="30 days",
            status=ContractStatus.ACTIVE,
        ),
    ]
    session.add_all(records)
    session.flush()
    return owner, customer


def _by_customer(model: type[SQLModel]) -> Any:
    return select(model).where(model.customer_id == bindparam("customer_id"))  # type: ignore[attr-defined]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_rows_hold_the_values_sqlalchemy_converts(db: Database, model: type[SQLModel]) -> None:
    with db.session() as session:
        _owner, customer = _everything_filled(session)
        statement = _by_customer(model) if model is not Customer else select(Customer)
        params = {"customer_id": pk(customer)}
        expected = [tuple(row) for row in session.connection().execute(statement, params)]
        got = PreparedSelect(statement).rows(session, params)
        assert expected  # the comparison is over a real row
        assert got == expected
        assert [[type(v) for v in row] for row in got] == [
            [type(v) for v in row] for row in expected
        ]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_records_are_what_the_orm_loads_and_detached(db: Database, model: type[SQLModel]) -> None:
    with db.session() as session:
        _owner, customer = _everything_filled(session)
        statement = _by_customer(model) if model is not Customer else select(Customer)
        params = {"customer_id": pk(customer)}
        (record,) = as_records(model, PreparedSelect(statement).rows(session, params))
        session.expunge_all()
        (loaded,) = session.scalars(statement, params)
        assert record.model_dump() == loaded.model_dump()
        state = inspect(record)
        assert state.detached
        assert state.identity == inspect(loaded).identity
    # Added to a later session it is the stored row again, not a new one to insert.
    with db.session() as session:
        session.add(record)
        session.flush()
        assert session.scalar(select(model).where(model.id == record.id)) is record  # type: ignore[attr-defined]
        assert len(session.scalars(select(model.id)).all()) == 1  # type: ignore[attr-defined]


def test_literals_and_typed_values_in_the_statement_are_bound(db: Database) -> None:
    """The statement's own values (an enum, a list of literals, a datetime) go through their
    types' bind processors, as SQLAlchemy binds them."""
    with db.session() as session:
        owner, customer = _everything_filled(session)
        deals = select(Deal.title).where(
            col(Deal.stage).not_in([literal("won"), literal("lost")]),
            col(Deal.customer_id) == bindparam("customer_id"),
        )
        pending = select(Reminder.text).where(
            col(Reminder.status) == ReminderStatus.PENDING,
            col(Reminder.due_at) < utcnow() + timedelta(days=3650),
            col(Reminder.member_id) == bindparam("member"),
        )
        assert PreparedSelect(deals).rows(session, {"customer_id": pk(customer)}) == [("X2",)]
        assert PreparedSelect(pending).rows(session, {"member": pk(owner)}) == [("call",)]
        assert PreparedSelect(pending).rows(session, {"member": pk(owner) + 1}) == []


def test_a_list_parameter_takes_any_number_of_values(db: Database) -> None:
    """Each length of list gets its SQL once; a length seen before reuses it."""
    statement = PreparedSelect(_IDS_IN_ORDER)
    with db.session() as session:
        owner = make_member(session, role=Role.SALES)
        ids = [pk(make_customer(session, owner=owner, name=f"c{n}")) for n in range(4)]
        for count in (0, 1, 3, 1):
            params = {"ids": ids[:count], "name": "c"}
            expected = [tuple(row) for row in session.connection().execute(_IDS_IN_ORDER, params)]
            assert len(expected) == count
            assert statement.rows(session, params) == expected
            assert prepared(_IDS_IN_ORDER).rows(session, params) == expected


_IDS_IN_ORDER = (
    select(Customer.id, Customer.name)
    .where(
        col(Customer.id).in_(bindparam("ids", expanding=True)),
        col(Customer.name) > bindparam("name"),
    )
    .order_by(col(Customer.id))
)


def test_values_in_a_list_and_in_the_statement_go_through_their_types(db: Database) -> None:
    """A time given, one in a list and one the statement carries are each bound as SQLAlchemy
    binds them (storage's own format on SQLite), so an equality finds the row."""
    with db.session() as session:
        _owner, customer = _everything_filled(session)
        when = customer.last_contact_at
        assert when is not None
        in_list = select(Reminder.text).where(
            col(Reminder.due_at).in_(bindparam("times", expanding=True))
        )
        fixed = select(Reminder.text).where(col(Reminder.due_at) == when)
        given = select(Reminder.text).where(col(Reminder.due_at) == bindparam("at"))
        assert PreparedSelect(in_list).rows(session, {"times": [when]}) == [("call",)]
        assert PreparedSelect(fixed).rows(session, {}) == [("call",)]
        assert PreparedSelect(given).rows(session, {"at": when}) == [("call",)]


def test_an_in_of_fixed_values_is_refused_when_compiled(db: Database) -> None:
    """SQLAlchemy would expand it again at every run: the statement lists literal()s."""
    statement = select(Deal.id).where(col(Deal.stage).in_(["won", "lost"]))
    with db.session() as session, pytest.raises(ValueError, match="^an IN of fixed values"):
        PreparedSelect(statement).rows(session, {})


def test_text_parameters_lose_their_nul_characters(db: Database) -> None:
    """As every other statement's (storage/db.py): PostgreSQL refuses a NUL in text."""
    statement = select(Customer.id).where(col(Customer.name) == bindparam("name"))
    with db.session() as session:
        owner = make_member(session, role=Role.SALES)
        customer = make_customer(session, owner=owner, name="Ada")
        got = PreparedSelect(statement).rows(session, {"name": "A\x00da"})
        assert got == [(pk(customer),)]


def test_records_start_where_their_columns_do(db: Database) -> None:
    """A row of (order, customer) gives each its own columns (`width`)."""
    with db.session() as session:
        _owner, customer = _everything_filled(session)
        statement = select(Order, Customer).join(
            Customer, col(Customer.id) == col(Order.customer_id)
        )
        rows = PreparedSelect(statement).rows(session, {})
        (order,) = as_records(Order, rows)
        (buyer,) = as_records(Customer, rows, width(Order))
        assert (order.number, buyer.id, buyer.tags) == (
            "DD-2026-0001",
            pk(customer),
            ["vip", "大客户"],
        )


def test_changes_pending_in_the_session_are_read_as_the_orm_reads_them(db: Database) -> None:
    """A write transaction that changes a record and then searches sees its own change."""
    statement = select(Customer.id).where(col(Customer.deleted_at).is_(None))
    with db.session() as session:
        owner = make_member(session, role=Role.SALES)
        customer = make_customer(session, owner=owner)
        customer.deleted_at = utcnow()
        assert PreparedSelect(statement).rows(session, {}) == []
        with session.no_autoflush:
            customer.deleted_at = None
            assert PreparedSelect(statement).rows(session, {}) == []
        assert PreparedSelect(statement).rows(session, {}) == [(pk(customer),)]
