"""The migrations build exactly the models' schema; UTC columns; SQLite's pragmas."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import Session, SQLModel

from storage.db import Database
from storage.migrate import current_revision, head_revision, upgrade_database
from storage.models import Customer, Member
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


def test_upgrade_builds_schema_matching_models(db: Database) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_upgrade_leaves_database_at_head(db: Database) -> None:
    assert head_revision() is not None
    assert current_revision(db.engine) == head_revision()


def test_upgrade_twice_keeps_revision_and_rows(db: Database) -> None:
    with db.session() as session:
        member = make_member(session)
    upgrade_database(db.engine)
    assert current_revision(db.engine) == head_revision()
    assert db.read_sync(lambda session: session.get(Member, member.id)) is not None


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
