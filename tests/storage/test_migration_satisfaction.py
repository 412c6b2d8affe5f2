"""Migration 0018 adds `satisfaction_score` to a database made by 0017 and copies in the
scores already recorded on tickets, so the customer card's average is the same after it."""

from __future__ import annotations

from sqlalchemy import Connection

from storage.db import Database
from storage.migrate import upgrade_database
from storage.models import Customer, Member
from storage.ticket_views import customer_tickets
from tests.storage.test_migration_hand_over import NOW, add_customer, add_member, insert

BEFORE = "0017"


def add_ticket(
    connection: Connection, customer: int, owner: int, number: str, score: int | None
) -> int:
    return insert(
        connection,
        "ticket",
        {**NOW, "due_at": "CURRENT_TIMESTAMP", "resolved_at": "CURRENT_TIMESTAMP"},
        customer_id=customer,
        owner_id=owner,
        assignee_id=owner,
        number=number,
        type="repair",
        priority="normal",
        description="pump leaks",
        status="resolved",
        satisfaction_score=score,
        created_by_id=owner,
    )


def test_upgrade_from_0017_copies_the_tickets_scores(blank_db_url: str) -> None:
    database = Database(blank_db_url)
    try:
        upgrade_database(database.engine, revision=BEFORE)
        with database.engine.begin() as connection:
            sales = add_member(connection, "sales")
            customer = add_customer(connection, sales)
            for number, score in (("GD-1", 4), ("GD-2", 2), ("GD-3", None)):
                add_ticket(connection, customer, sales, number, score)
        upgrade_database(database.engine)
        with database.session() as session:
            summary = customer_tickets(
                session,
                actor=session.get_one(Member, sales),
                customer=session.get_one(Customer, customer),
            )
    finally:
        database.close()
    assert (summary.rated, summary.average, summary.open) == (2, 3.0, 0)
