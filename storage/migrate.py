"""Schema migrations: `crm-bot db upgrade` and start-up both call `upgrade_database`.

Instances started at the same moment on one database migrate one after the other: the
upgrade runs in one transaction that first takes the migration lock (a transaction-level
advisory lock on PostgreSQL, the write lock of BEGIN IMMEDIATE on SQLite). Without it both
found an empty schema, both created it, and one died on alembic_version's primary key; with
it the second waits, then finds the schema at head and does nothing.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from storage.db import SQLITE_BUSY_TIMEOUT_MS, writing

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# How long a start waits on SQLite for another's migration (PostgreSQL waits as long as it
# takes): a large database's data migration can outlast the usual busy timeout.
SQLITE_MIGRATION_WAIT_MS = 30 * 60 * 1000
# Per schema: instances of one bot share theirs; other schemas (other bots, tests) need not wait.
_PG_MIGRATION_LOCK = text(
    "SELECT pg_advisory_xact_lock(hashtextextended('crm-bot:migrate:' || current_schema(), 0))"
)


def alembic_config(url: str) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (the newest by default); a no-op when it already is.
    An older revision is for tests of a data migration: seed the state it repairs first."""
    if revision == "head" and current_revision(engine) == head_revision():
        # Most starts: one read instead of loading every migration script through Alembic.
        logger.info("database schema at %s", head_revision())
        return
    config = alembic_config(str(engine.url))
    with writing(engine).connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            _set_busy_timeout(connection, SQLITE_MIGRATION_WAIT_MS)
        try:
            with connection.begin():  # on SQLite, BEGIN IMMEDIATE waits for the other start
                if not sqlite:
                    connection.execute(_PG_MIGRATION_LOCK)
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
        finally:
            if sqlite:  # the connection goes back to the pool
                _set_busy_timeout(connection, SQLITE_BUSY_TIMEOUT_MS)
    logger.info("database schema at %s", current_revision(engine))


def _set_busy_timeout(connection: Connection, milliseconds: int) -> None:
    """Outside any transaction: through the driver, which SQLAlchemy's autobegin bypasses."""
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.execute(f"PRAGMA busy_timeout={milliseconds}")


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@cache
def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
