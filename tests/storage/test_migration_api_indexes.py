"""Migration 0017 adds the API's indexes to a database made by 0016 (idempotency keys by age,
customers by last change) without touching a row."""

from __future__ import annotations

from sqlalchemy import inspect

from storage.db import Database
from storage.migrate import upgrade_database
from tests.storage.test_migration_hand_over import add_customer, add_member

NEW = {
    ("api_idempotent_request", "ix_api_idempotent_request_created_at"),
    ("customer", "ix_customer_updated_at_id"),
    ("customer", "ix_customer_owner_id_updated_at_id"),
}


def _indexes(database: Database) -> set[tuple[str, str]]:
    found = inspect(database.engine)
    return {
        (table, index["name"] or "")
        for table in ("api_idempotent_request", "customer")
        for index in found.get_indexes(table)
    }


def test_upgrade_from_0016_adds_the_indexes_and_keeps_customers(blank_db_url: str) -> None:
    database = Database(blank_db_url)
    try:
        upgrade_database(database.engine, revision="0016")
        with database.engine.begin() as connection:
            customer = add_customer(connection, add_member(connection, "sales"))
        before = _indexes(database)
        upgrade_database(database.engine)
        after = _indexes(database)
        with database.engine.connect() as connection:
            kept = connection.exec_driver_sql("SELECT id FROM customer").scalars().all()
    finally:
        database.close()
    assert before & NEW == set()
    assert after - before == NEW
    assert kept == [customer]
