"""Migration 0007 adds a deal's budget and decision date (issue 16): a deal written at 0006
keeps every value and gets empty ones; the new columns take what the models write."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text

from storage.db import Database
from storage.deals import DealCreate, create_deal, get_deal
from storage.migrate import current_revision, head_revision, upgrade_database
from tests.factories import make_customer, make_member
from tests.storage.test_migration_hand_over import add_customer, add_deal, add_member, database_at

BEFORE = "0006"


@pytest.fixture
def old_db(blank_db_url: str) -> Iterator[Database]:
    yield from database_at(blank_db_url, BEFORE)


def test_upgrade_keeps_deals_and_leaves_budget_and_decision_date_empty(old_db: Database) -> None:
    with old_db.engine.begin() as connection:
        owner = add_member(connection, "sales")
        deal_id = add_deal(connection, add_customer(connection, owner), owner)
    upgrade_database(old_db.engine)
    assert current_revision(old_db.engine) == head_revision()
    with old_db.engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT title, stage, budget, budget_currency, decision_date"
                " FROM deal WHERE id = :id"
            ),
            {"id": deal_id},
        ).one()
    assert tuple(row) == ("Boilers", "lead", None, None, None)


def test_upgraded_database_stores_budget_and_decision_date(old_db: Database) -> None:
    upgrade_database(old_db.engine)
    with old_db.session() as session:
        sales = make_member(session)
        customer = make_customer(session, owner=sales)
        assert customer.id is not None
        data = DealCreate(
            customer_id=customer.id,
            title="Boilers",
            stage="lead",
            budget=Decimal("60000"),
            budget_currency="CNY",
            decision_date=date(2030, 1, 31),
        )
        deal_id = create_deal(session, actor=sales, data=data).id
        assert deal_id is not None
    with old_db.session() as session:
        deal = get_deal(session, actor=sales, deal_id=deal_id)
        assert (deal.budget, deal.budget_currency, deal.decision_date) == (
            Decimal("60000.00"),
            "CNY",
            date(2030, 1, 31),
        )
