"""Migrations 0023 and 0025 key and index the titles of the contracts already there: after the
upgrade from 0022 they are found by a part of them (two characters too), and a title lookup,
short or long, reads an index on either engine."""

from __future__ import annotations

import pytest
from sqlalchemy import select as sa_select
from sqlmodel import select

from storage.contract_lookups import MIN_TRIGRAM, title_match, title_params
from storage.db import Database
from storage.lookups import find_records
from storage.migrate import upgrade_database
from storage.models import Contract, Member
from tests.storage.test_migration_hand_over import NOW, add_customer, add_member, insert


def test_upgrade_from_0022_finds_existing_titles_by_a_part_of_them(
    blank_db_url: str,
) -> None:
    database = Database(blank_db_url)
    try:
        upgrade_database(database.engine, revision="0022")
        with database.engine.begin() as connection:
            owner = add_member(connection, "admin")
            customer = add_customer(connection, owner)
            for number, title in (("HT-1", "Forklift maintenance"), ("HT-2", "叉车维保合同")):
                insert(
                    connection,
                    "contract",
                    NOW,
                    customer_id=customer,
                    owner_id=owner,
                    created_by_id=owner,
                    number=number,
                    title=title,
                    status="active",
                    renewal_notice_days=30,
                )
        upgrade_database(database.engine)
        with database.session() as session:
            admin = session.exec(select(Member).where(Member.id == owner)).one()
            found = {
                query: [
                    c.number for c, _ in find_records(session, actor=admin, query=query).contracts
                ]
                for query in ("LIFT MAIN", "维保合", "维保", "nothing like it")
            }
    finally:
        database.close()
    assert found == {
        "LIFT MAIN": ["HT-1"],
        "维保合": ["HT-2"],
        "维保": ["HT-2"],
        "nothing like it": [],
    }


@pytest.mark.parametrize("text", ["maintenance", "维保"])
def test_a_title_lookup_reads_the_index_not_the_table(db: Database, text: str) -> None:
    """A plan over the empty table: PostgreSQL is told to avoid a table scan, so it takes the
    trigram index only if ILIKE '%text%' can use it."""
    with db.engine.connect() as connection:
        dialect = connection.dialect.name
        query = (
            sa_select(Contract.id)
            .where(title_match(dialect, short=len(text) < MIN_TRIGRAM))
            .params(title_params(text, dialect))
        )
        compiled = query.compile(connection, compile_kwargs={"literal_binds": True})
        if dialect == "postgresql":
            connection.exec_driver_sql("SET enable_seqscan = off")
            plan = connection.exec_driver_sql(f"EXPLAIN {compiled}").scalars().all()
            expected = "ix_contract_title_trgm"
        else:
            plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()
            expected = "VIRTUAL TABLE INDEX"
            table = "contract_title_fts" if len(text) < MIN_TRIGRAM else "contract_title_text_fts"
            assert f"SCAN {table} VIRTUAL TABLE INDEX" in " ".join(map(str, plan)), plan
    assert expected in " ".join(map(str, plan)), plan
