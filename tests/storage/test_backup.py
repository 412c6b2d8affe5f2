"""`crm-bot backup`: a consistent, verified copy of a live SQLite database; never PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage.backup import BackupError, backup_sqlite, target_path
from storage.db import Database
from storage.migrate import head_revision, upgrade_database
from tests.factories import make_customer, make_member


@pytest.fixture
def live_db(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'crm.sqlite3'}")
    upgrade_database(db.engine)
    yield db
    db.close()


def _count(path: Path, table: str) -> int:
    with sqlite3.connect(path) as connection:
        return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_backup_under_concurrent_writes_is_one_consistent_state(
    live_db: Database, tmp_path: Path
) -> None:
    with live_db.session() as session:
        owner = make_member(session)
        for _ in range(500):
            make_customer(session, owner=owner)
        owner_id = owner.id
    stop = threading.Event()
    written = [0]

    def keep_writing() -> None:
        while not stop.is_set():
            with live_db.session() as session:
                make_customer(session, owner=session.get_one(type(owner), owner_id))
            written[0] += 1

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        result = backup_sqlite(live_db.url, tmp_path / "copy.sqlite3")
    finally:
        stop.set()
        writer.join()
    assert written[0] > 0, "the writer never ran during the backup"
    copied = _count(result.path, "customer")
    assert 500 <= copied <= 500 + written[0]
    # every copied customer has its search row: the copy is one committed state, not a mix
    assert _count(result.path, "customer_search") == copied
    with sqlite3.connect(result.path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        [(revision,)] = connection.execute("SELECT version_num FROM alembic_version")
    assert revision == head_revision()
    assert not list(tmp_path.glob("*.partial"))


def test_backup_into_a_directory_gets_a_dated_name_and_never_overwrites(tmp_path: Path) -> None:
    now = datetime(2026, 11, 23, 9, 30, 5, tzinfo=UTC)
    assert target_path(tmp_path, now=now) == tmp_path / "crm-backup-20261123-093005.sqlite3"
    existing = tmp_path / "old.sqlite3"
    existing.write_bytes(b"keep me")
    with pytest.raises(BackupError, match="already exists"):
        target_path(existing, now=now)
    assert existing.read_bytes() == b"keep me"


def test_backup_refuses_postgresql_and_points_to_pg_dump() -> None:
    with pytest.raises(BackupError, match="pg_dump"):
        backup_sqlite("postgresql://crm@localhost/crm", Path("x"))
