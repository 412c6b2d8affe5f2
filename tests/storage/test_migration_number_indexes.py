"""Migration 0021 indexes lower(number) of contracts, orders and tickets on a database made
by 0020, without touching a row, and /find's number lookups are served by those indexes;
0022 makes those indexes unique, renaming the numbers that clash in case first; 0026 indexes
them by length, and a suggested number's reads are served by that index."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import Connection, select, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from storage.db import Database
from storage.migrate import upgrade_database
from storage.models import Contract, Order, Ticket
from storage.numbering import number_match, number_params, suggestion_statements
from tests.storage.test_migration_hand_over import NOW, add_customer, add_member, insert

ADDED = {"ix_contract_number_lower", "ix_sales_order_number_lower", "ix_ticket_number_lower"}
BY_LENGTH = {
    "ix_contract_number_length",
    "ix_sales_order_number_length",
    "ix_ticket_number_length",
}
INDEX_NAMES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'index'",
    "postgresql": "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()",
}


def _indexes(database: Database, wanted: set[str] = ADDED) -> set[str]:
    with database.engine.connect() as connection:
        names = connection.execute(text(INDEX_NAMES[connection.dialect.name])).scalars()
        return set(names) & wanted


def test_upgrade_from_0020_indexes_numbers_and_keeps_rows(blank_db_url: str) -> None:
    database = Database(blank_db_url)
    try:
        upgrade_database(database.engine, revision="0020")
        with database.engine.begin() as connection:
            customer = add_customer(connection, add_member(connection, "sales"))
        before = _indexes(database)
        upgrade_database(database.engine, revision="0021")
        after = _indexes(database)
        with database.engine.connect() as connection:
            kept = connection.exec_driver_sql("SELECT id FROM customer").scalars().all()
    finally:
        database.close()
    assert before == set()
    assert after == ADDED
    assert kept == [customer]


@pytest.mark.parametrize("model", [Contract, Order, Ticket])
def test_a_number_lookup_reads_the_index_not_the_table(db: Database, model: type) -> None:
    """A plan over the empty tables: PostgreSQL is told to avoid a table scan, so it takes
    the index only if `LIKE 'q%'` can use it (text_pattern_ops)."""
    with db.engine.connect() as connection:
        dialect = connection.dialect.name
        matches, _ = number_match(col(model.number), dialect)
        query = select(model.id).where(matches).params(number_params("DD-2026-00", dialect))
        plan = _plan(connection, query)
    assert f"ix_{model.__tablename__}_number_lower" in plan, plan


def _plan(connection: Connection, query: Any) -> str:
    """The query's plan as one string; PostgreSQL is told to avoid table scans and sorts."""
    compiled = query.compile(connection, compile_kwargs={"literal_binds": True})
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET enable_seqscan = off")
        connection.exec_driver_sql("SET enable_sort = off")
        return " ".join(connection.exec_driver_sql(f"EXPLAIN {compiled}").scalars())
    return " ".join(map(str, connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")))


def test_upgrade_from_0025_indexes_numbers_by_length_and_keeps_rows(blank_db_url: str) -> None:
    database = Database(blank_db_url)
    try:
        upgrade_database(database.engine, revision="0025")
        with database.engine.begin() as connection:
            owner = add_member(connection, "sales")
            order = _order(connection, add_customer(connection, owner), owner, "DD-2026-0001")
        before = _indexes(database, BY_LENGTH)
        upgrade_database(database.engine, revision="0026")
        after = _indexes(database, BY_LENGTH)
        with database.engine.connect() as connection:
            kept = connection.exec_driver_sql("SELECT id, number FROM sales_order").all()
    finally:
        database.close()
    assert before == set()
    assert after == BY_LENGTH
    assert [tuple(row) for row in kept] == [(order, "DD-2026-0001")]


@pytest.mark.parametrize("model", [Contract, Order, Ticket])
def test_a_suggestions_reads_seek_the_length_index(db: Database, model: type) -> None:
    """Both reads of a suggestion (the next length down, the last numbers of a length in a
    prefix's range, in order) over the empty tables: PostgreSQL is told to avoid a table scan
    and a sort, so it takes the index only if it serves the range and the order."""
    with db.engine.connect() as connection:
        dialect = connection.dialect.name
        next_length, last_of_length = suggestion_statements(col(model.number), dialect)
        queries = [
            next_length.params(shortest=8, below=1_000_000),
            last_of_length.params(
                length=12, low="dd-2026-", high="dd-2026-\uffff", start=9, digits=4, suffix=""
            ),
        ]
        plans = [_plan(connection, query) for query in queries]
    table = model.__tablename__
    for plan in plans:
        assert f"ix_{table}_number_length" in plan, plan
        assert "TEMP B-TREE" not in plan, plan
        assert "Sort" not in plan, plan


def _order(connection: Connection, customer: int, owner: int, number: str) -> int:
    return insert(
        connection,
        "sales_order",
        NOW,
        customer_id=customer,
        owner_id=owner,
        created_by_id=owner,
        number=number,
        ordered_on="2026-12-01",
        status="ordered",
    )


def _through_0022(url: str, numbers: Sequence[str]) -> tuple[list[int], dict[int, str]]:
    """Orders numbered `numbers` on a 0021 database ("{1}" in one is the second order's id),
    upgraded to 0022: (their ids, each id's number after)."""
    database = Database(url)
    try:
        upgrade_database(database.engine, revision="0021")
        with database.engine.begin() as connection:
            owner = add_member(connection, "sales")
            customer = add_customer(connection, owner)
            ids: list[int] = []
            for number in numbers:
                ids.append(_order(connection, customer, owner, number.format(*ids)))
        upgrade_database(database.engine, revision="0022")
        with database.engine.connect() as connection:
            rows = connection.execute(text("SELECT id, number FROM sales_order ORDER BY id"))
            after = dict(rows.all())
        with pytest.raises(IntegrityError), database.engine.begin() as connection:
            _order(connection, customer, owner, numbers[0].swapcase())  # refused now
    finally:
        database.close()
    return ids, after


def test_0022_renames_all_but_the_oldest_of_numbers_equal_in_case_then_refuses_them(
    blank_db_url: str,
) -> None:
    ids, after = _through_0022(blank_db_url, ("DD-1", "dd-1", "DD-2", "Dd-1", "x" * 64, "X" * 64))
    assert after == {
        ids[0]: "DD-1",
        ids[1]: f"dd-1-{ids[1]}",
        ids[2]: "DD-2",
        ids[3]: f"Dd-1-{ids[3]}",
        ids[4]: "x" * 64,
        ids[5]: "X" * (63 - len(str(ids[5]))) + f"-{ids[5]}",
    }


def test_0022_renames_to_a_number_nobody_uses(blank_db_url: str) -> None:
    """ "dd-1" becomes "dd-1-<id>" unless some order already has that number, in any case."""
    ids, after = _through_0022(blank_db_url, ("DD-1", "dd-1", "DD-1-{1}", "dd-1-{1}-2"))
    first, clash, taken, also_taken = ids
    assert after == {
        first: "DD-1",
        clash: f"dd-1-{clash}-3",
        taken: f"DD-1-{clash}",
        also_taken: f"dd-1-{clash}-2",
    }
