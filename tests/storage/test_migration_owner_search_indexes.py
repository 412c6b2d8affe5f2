"""Migration 0024: a salesperson's search tiers and number lookups read indexes that lead with
the owner. SQLite's plans are checked (without statistics it took the plain owner index and
read every row of the owner's); PostgreSQL plans by statistics, so there the indexes are
checked to exist."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Select, select, text
from sqlmodel import col

from storage.access import ACTOR_ID, order_scope
from storage.db import Database
from storage.models import Customer, Member, Order, Role
from storage.numbering import number_match, number_params
from storage.search import statements

SALES = Member(id=7, telegram_id=7, display_name="Sam", role=Role.SALES)
ADDED = {
    "ix_customer_search_owner_id_pinyin_key",
    "ix_customer_search_owner_id_initials",
    "ix_sales_order_owner_id_number_lower",
    "ix_contract_owner_id_number_lower",
}


def _order_lookup() -> Select[Any]:
    matches, _rank = number_match(col(Order.number), "sqlite")
    return (
        select(Order.id)
        .join(Customer, col(Customer.id) == col(Order.customer_id))
        .where(order_scope(SALES), matches)
        .params(number_params("DD-2026", "sqlite"))
    )


CASES = {
    "pinyin prefix": (
        lambda: statements.starts_with(Role.SALES, "pinyin_key", "sqlite"),
        {**statements.prefix_params("zhangwei", "sqlite"), ACTOR_ID: 7, "limit": 9},
        "ix_customer_search_owner_id_pinyin_key",
    ),
    "initials prefix": (
        lambda: statements.starts_with(Role.SALES, "initials", "sqlite"),
        {**statements.prefix_params("zw", "sqlite"), ACTOR_ID: 7, "limit": 9},
        "ix_customer_search_owner_id_initials",
    ),
    "substring walk": (
        lambda: statements.owner_walk(Role.SALES),
        {"pattern": "%wei%", "compact": "%wei%", ACTOR_ID: 7, "limit": 9},
        "COVERING INDEX ix_customer_search_owner_id_name_key",
    ),
    "short substring": (
        lambda: statements.short_substring(Role.SALES),
        {"pattern": "%王芳%", ACTOR_ID: 7, "limit": 9},
        "COVERING INDEX ix_customer_search_owner_id_name_key",
    ),
    "order number": (_order_lookup, {}, "ix_sales_order_owner_id_number_lower"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_salespersons_lookup_reads_the_owner_led_index_on_sqlite(
    db: Database, case: str
) -> None:
    build, params, index = CASES[case]
    with db.engine.connect() as connection:
        if connection.dialect.name != "sqlite":
            pytest.skip("PostgreSQL plans by statistics: the indexes are checked to exist")
        compiled = build().compile(connection)
        values = compiled.construct_params(params)
        sql = compiled.string
        plan = connection.exec_driver_sql(
            f"EXPLAIN QUERY PLAN {sql}", tuple(values[name] for name in compiled.positiontup)
        ).all()
    assert index in " ".join(str(row) for row in plan), plan


def test_the_owner_led_indexes_exist(db: Database) -> None:
    names = {
        "sqlite": "SELECT name FROM sqlite_master WHERE type = 'index'",
        "postgresql": "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()",
    }
    with db.engine.connect() as connection:
        found = set(connection.execute(text(names[connection.dialect.name])).scalars())
    assert found >= ADDED
