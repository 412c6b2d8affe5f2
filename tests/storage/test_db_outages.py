"""Which database errors are an outage (try again in a moment) and which are a bug, measured
with real errors on both backends: pysqlite raises OperationalError for both kinds."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from storage.db import Database, is_unavailable
from tests.e2e.helpers import free_port


def error_of(database: Database, statement: str) -> DBAPIError:
    with pytest.raises(DBAPIError) as caught:
        database.read_sync(lambda session: session.execute(text(statement)))
    return caught.value


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT CASE ELSE 1 END",  # near "ELSE": syntax error
        "SELECT nope FROM member",  # no such column
        "SELECT * FROM no_such_table",
    ],
)
def test_a_refused_statement_is_a_bug_not_an_outage(db: Database, statement: str) -> None:
    assert not is_unavailable(error_of(db, statement))


def test_an_unreachable_database_is_an_outage(db_url: str, tmp_path: Path) -> None:
    if db_url.startswith("sqlite"):
        away = f"sqlite:///{tmp_path / 'missing-folder' / 'crm.sqlite3'}"  # cannot open
    else:
        away = db_url.replace(urlsplit(db_url).netloc.split("@")[-1], f"127.0.0.1:{free_port()}")
    database = Database(away)
    try:
        assert is_unavailable(error_of(database, "SELECT 1"))
    finally:
        database.close()


def test_a_connection_closed_by_the_server_is_an_outage(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("a server closing the connection is a PostgreSQL fault")
    assert is_unavailable(error_of(db, "SELECT pg_terminate_backend(pg_backend_pid())"))
