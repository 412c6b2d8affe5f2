"""The migrations build exactly the models' schema; UTC columns; SQLite's pragmas."""

from __future__ import annotations

import subprocess
import sys
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Table, inspect, text
from sqlalchemy.exc import IntegrityError, SAWarning, StatementError
from sqlmodel import Session, SQLModel

from storage.db import Database
from storage.migrate import current_revision, head_revision, upgrade_database
from storage.models import Customer, Member
from storage.search.index import customer_search, saved_search
from tests.factories import make_member, pk

SHANGHAI_TIME = datetime(2026, 5, 4, 8, 15, 30, 123456, tzinfo=timezone(timedelta(hours=8)))


def set_unreachable(session: Session, *, member_id: int, at: datetime) -> None:
    session.get_one(Member, member_id).unreachable_at = at
    session.flush()


def add_orphan_customer(session: Session) -> None:
    session.add(Customer(owner_id=987654, created_by_id=987654, name="Orphan"))
    session.flush()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'pragmas.sqlite3'}")
    yield database
    database.close()


# The search feature's tables are declared in storage/search/index.py (core Tables kept in step by
# triggers); its FTS5 shadow tables and expression / trigram indexes exist only as raw SQL.
SEARCH_TABLES = {"customer_search", "saved_search"}
FTS_TABLES = ("customer_search_fts", "contract_title_fts", "contract_title_text_fts")
RAW_SQL_INDEXES = {
    "ix_customer_phone_e164_reversed",
    "ix_contract_number_lower",
    "ix_sales_order_number_lower",
    "ix_ticket_number_lower",
    "ix_contract_number_length",
    "ix_sales_order_number_length",
    "ix_ticket_number_length",
    "ix_contract_title_trgm",
    "ix_contract_owner_id_number_lower",
    "ix_sales_order_owner_id_number_lower",
}


def test_upgrade_builds_schema_matching_models(db: Database) -> None:
    def include(obj: object, name: str | None, kind: str, reflected: bool, other: object) -> bool:
        table = name if kind == "table" else getattr(getattr(obj, "table", None), "name", None)
        if (name or "").startswith(FTS_TABLES) or name in RAW_SQL_INDEXES:
            return False
        return table not in SEARCH_TABLES

    with db.engine.connect() as connection, warnings.catch_warnings():
        # SQLAlchemy cannot reflect expression indexes (the reversed-phone one) and says so.
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", SAWarning)
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": include}
        )
        assert compare_metadata(context, SQLModel.metadata) == []


@pytest.mark.parametrize("table", [customer_search, saved_search])
def test_upgrade_builds_search_tables_as_declared(db: Database, table: Table) -> None:
    columns = inspect(db.engine).get_columns(table.name)
    assert [c["name"] for c in columns] == [c.name for c in table.columns]


def test_upgrade_leaves_database_at_head(db: Database) -> None:
    assert head_revision() is not None
    assert current_revision(db.engine) == head_revision()


def test_upgrade_twice_keeps_revision_and_rows(db: Database) -> None:
    with db.session() as session:
        member = make_member(session)
    upgrade_database(db.engine)
    assert current_revision(db.engine) == head_revision()
    assert db.read_sync(lambda session: session.get(Member, member.id)) is not None


# Imports first, then waits for the go on stdin: the two upgrades start at the same moment.
START_UPGRADE = """
import sys
from storage.db import Database
from storage.migrate import upgrade_database

database = Database(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
upgrade_database(database.engine)
database.close()
"""


def test_two_starts_at_once_on_an_empty_database_both_upgrade(blank_db_url: str) -> None:
    """Two instances started together: without the migration lock both created the schema
    and one died on alembic_version's primary key (PostgreSQL) or on a locked or existing
    table (SQLite); with it the second waits and finds the schema at head. Processes, not
    threads: Alembic keeps the running migration's context in module globals."""
    starts = [
        subprocess.Popen(
            [sys.executable, "-c", START_UPGRADE, blank_db_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for process in starts:
        assert process.stdout is not None
        assert process.stdout.readline() == "ready\n"
    for process in starts:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    outcomes = [(process.wait(timeout=120), process.communicate()[1]) for process in starts]
    assert [code for code, _ in outcomes] == [0, 0], [log[-2000:] for _, log in outcomes]
    database = Database(blank_db_url)
    assert current_revision(database.engine) == head_revision()
    database.close()


def test_utc_datetime_reads_back_aware_utc_of_same_instant(db: Database) -> None:
    with db.session() as session:
        member = make_member(session)
        member.unreachable_at = SHANGHAI_TIME
    stored = db.read_sync(lambda session: session.get_one(Member, member.id)).unreachable_at
    assert stored is not None
    assert stored.tzinfo is UTC
    assert stored == SHANGHAI_TIME
    assert stored.hour == 0  # 08:15 at +08:00 is 00:15 UTC


def test_utc_datetime_orders_by_instant_across_zones(db: Database) -> None:
    """Stored values compare as instants: 08:15+08:00 is before 01:00 UTC the same day."""
    with db.session() as session:
        early = make_member(session)
        early.unreachable_at = SHANGHAI_TIME
        late = make_member(session)
        late.unreachable_at = datetime(2026, 5, 4, 1, 0, tzinfo=UTC)
    with db.session(write=False) as session:
        first = session.execute(
            text("SELECT id FROM member WHERE unreachable_at IS NOT NULL ORDER BY unreachable_at")
        ).first()
    assert first is not None
    assert first[0] == early.id


def test_utc_datetime_rejects_naive_datetime(db: Database) -> None:
    naive = datetime(2026, 5, 4, 8, 15)  # noqa: DTZ001 (the point of the test)
    with db.session() as session:
        member_id = pk(make_member(session))
    with pytest.raises(StatementError, match="naive datetime"):
        db.run_sync(set_unreachable, member_id=member_id, at=naive)
    assert db.read_sync(lambda session: session.get_one(Member, member_id)).unreachable_at is None


def test_foreign_key_violation_raises_integrity_error(db: Database) -> None:
    with pytest.raises(IntegrityError):
        db.run_sync(add_orphan_customer)


def test_sqlite_database_uses_wal_journal(sqlite_db: Database) -> None:
    with sqlite_db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_sqlite_database_enforces_foreign_keys(sqlite_db: Database) -> None:
    with sqlite_db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_sqlite_database_waits_for_locks(sqlite_db: Database) -> None:
    with sqlite_db.engine.connect() as connection:
        assert (connection.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0) >= 5000
