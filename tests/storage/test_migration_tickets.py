"""Migration 0015 adds tickets (issue 18): a database at 0014 keeps its rows, takes tickets
with their reminders and files, and goes back to 0014 without them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import inspect, text

from storage.db import Database
from storage.interactions import AttachmentRef
from storage.migrate import alembic_config, current_revision, head_revision, upgrade_database
from storage.models import Role, utcnow
from storage.tickets import Priority, TicketCreate, create_ticket
from tests.factories import make_member
from tests.storage.test_migration_hand_over import add_customer, add_member, database_at

BEFORE = "0014"


@pytest.fixture
def old_db(blank_db_url: str) -> Iterator[Database]:
    yield from database_at(blank_db_url, BEFORE)


def test_upgrade_keeps_customers_and_stores_tickets(old_db: Database) -> None:
    with old_db.engine.begin() as connection:
        customer_id = add_customer(connection, add_member(connection, "sales"))
    upgrade_database(old_db.engine)
    assert current_revision(old_db.engine) == head_revision()
    with old_db.session() as session:
        admin = make_member(session, role=Role.ADMIN)
        data = TicketCreate(
            customer_id=customer_id,
            type="repair",
            priority=Priority.URGENT,
            description="broken pump",
            due_at=utcnow() + timedelta(hours=4),
            files=(AttachmentRef("photo", "f", "u"),),
        )
        ticket = create_ticket(session, actor=admin, data=data)
        assert ticket.number.startswith("GD-")
    with old_db.engine.connect() as connection:
        reminders = connection.execute(
            text("SELECT count(*) FROM reminder WHERE ticket_id IS NOT NULL")
        ).scalar()
    assert reminders == 2


def test_downgrade_drops_tickets_and_keeps_the_rest(old_db: Database) -> None:
    with old_db.engine.begin() as connection:
        add_customer(connection, add_member(connection, "sales"))
    upgrade_database(old_db.engine)
    config = alembic_config(str(old_db.engine.url))
    with old_db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, BEFORE)
    assert current_revision(old_db.engine) == BEFORE
    tables = inspect(old_db.engine).get_table_names()
    assert "ticket" not in tables
    assert "ticket_id" not in {c["name"] for c in inspect(old_db.engine).get_columns("reminder")}
    with old_db.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM customer")).scalar() == 1
