"""Migration 0017 indexes the API's idempotency keys by age (what the 24-hour prune deletes
by) on a database made by 0016, without touching a row."""

from __future__ import annotations

from sqlalchemy import inspect

from storage.db import Database
from storage.migrate import upgrade_database
from tests.storage.test_migration_hand_over import add_customer, add_member

INDEX = "ix_api_idempotent_request_created_at"


def _indexes(database: Database) -> set[str]:
    found = inspect(database.engine).get_indexes("api_idempotent_request")
    return {index["name"] or "" for index in found}


def test_upgrade_from_0016_indexes_the_keys_by_age_and_keeps_rows(blank_db_url: str) -> None:
    database = Database(blank_db_url)
    try:
        upgrade_database(database.engine, revision="0016")
        with database.engine.begin() as connection:
            customer = add_customer(connection, add_member(connection, "sales"))
        before = _indexes(database)
        upgrade_database(database.engine, revision="0017")
        after = _indexes(database)
        with database.engine.connect() as connection:
            kept = connection.exec_driver_sql("SELECT id FROM customer").scalars().all()
    finally:
        database.close()
    assert INDEX not in before
    assert after - before == {INDEX}
    assert kept == [customer]
