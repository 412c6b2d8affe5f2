"""Migration 0020 indexes each list of the API by its order, (updated_at, id), on a
database made by 0019, without touching a row."""

from __future__ import annotations

from sqlalchemy import inspect

from storage.db import Database
from storage.migrate import upgrade_database
from tests.storage.test_migration_hand_over import add_customer, add_member

ADDED = {
    ("customer", "ix_customer_updated_at_id"),
    ("customer", "ix_customer_owner_id_updated_at_id"),
    ("deal", "ix_deal_updated_at_id"),
    ("deal", "ix_deal_owner_id_updated_at_id"),
    ("sales_order", "ix_sales_order_updated_at_id"),
    ("sales_order", "ix_sales_order_owner_id_updated_at_id"),
    ("ticket", "ix_ticket_updated_at_id"),
    ("ticket", "ix_ticket_owner_id_updated_at_id"),
    ("interaction", "ix_interaction_updated_at_id"),
    ("contract", "ix_contract_updated_at_id"),
    ("reminder", "ix_reminder_member_id_updated_at_id"),
}
TABLES = sorted({table for table, _ in ADDED})


def _indexes(database: Database) -> set[tuple[str, str]]:
    inspector = inspect(database.engine)
    return {
        (table, index["name"] or "") for table in TABLES for index in inspector.get_indexes(table)
    }


def test_upgrade_from_0019_indexes_the_list_order_and_keeps_rows(blank_db_url: str) -> None:
    database = Database(blank_db_url)
    try:
        upgrade_database(database.engine, revision="0019")
        with database.engine.begin() as connection:
            customer = add_customer(connection, add_member(connection, "sales"))
        before = _indexes(database)
        upgrade_database(database.engine, revision="0020")
        after = _indexes(database)
        with database.engine.connect() as connection:
            kept = connection.exec_driver_sql("SELECT id FROM customer").scalars().all()
    finally:
        database.close()
    assert not ADDED & before
    assert after - before == ADDED
    assert kept == [customer]
