"""Test databases at the newest schema without migrating each one.

Migrating a test's database took ~0.3 s on SQLite and ~1 s on PostgreSQL (2 cores, measured),
most of a short test's time. So each test process migrates once per backend and every test
gets a copy: on SQLite a copy of the migrated file; on PostgreSQL, which cannot copy a schema,
the statements that migration wrote, replayed into a new schema in one transaction (a migration
of an empty schema reads nothing it wrote itself, so its writes alone rebuild it), and schemas
that tests gave back untouched are emptied and handed on. Tests of the migrations themselves
take `blank_db_url` and migrate for real.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.exc import DBAPIError

from storage.db import Database
from storage.migrate import upgrade_database


class SqliteTemplate:
    """A database file migrated once; each test gets a copy of it."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "template.sqlite3"
        database = Database(f"sqlite:///{self.path}")
        try:
            upgrade_database(database.engine)
        finally:
            database.close()
        # The last connection closed checkpointed the WAL into the file and removed the log.
        leftovers = [p.name for p in folder.iterdir() if p != self.path]
        assert leftovers == [], f"the template database left {leftovers}"

    def copy_to(self, url: str) -> None:
        shutil.copyfile(self.path, url.removeprefix("sqlite:///"))


@dataclass
class PostgresTemplate:
    """The writes of one migration of an empty schema, in order, with their parameters."""

    statements: list[tuple[str, Any, bool]] = field(default_factory=list)

    @classmethod
    def record(cls, url: str) -> PostgresTemplate:
        """Migrates the empty schema `url` points at, keeping what it wrote."""
        template = cls()
        database = Database(url)

        def keep(
            _conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, many: bool
        ) -> None:
            # Reads (reflection, the migration lock, the version check) change nothing.
            if not statement.lstrip().upper().startswith("SELECT"):
                template.statements.append((statement, parameters, many))

        event.listen(database.engine, "before_cursor_execute", keep)
        try:
            upgrade_database(database.engine)
        finally:
            database.close()
        return template

    def copy_to(self, url: str) -> None:
        """Writes the recorded statements into the empty schema `url` points at."""
        with psycopg.connect(url) as connection, connection.cursor() as cursor:
            # A lost commit would only matter if the server crashed mid-test.
            cursor.execute("SET LOCAL synchronous_commit = off")
            for statement, parameters, many in self.statements:
                if many:
                    cursor.executemany(statement, parameters)
                else:
                    cursor.execute(statement, parameters)


# The catalog rows of a schema's tables, columns, defaults, constraints, triggers and
# functions with the transaction that last wrote each, and its revision: any DDL changes it,
# rows written do not. {schema} is a name made from uuid4 (`_create`), never test input.
_CATALOG_STATE = """
WITH rel AS MATERIALIZED (  -- one pass over pg_class, which the suite's churn bloats
    SELECT oid, xmin FROM pg_class WHERE relnamespace = '{schema}'::regnamespace
)
SELECT md5(string_agg(row, ',' ORDER BY row)) FROM (
    SELECT format('c%s:%s', oid, xmin) AS row FROM rel
    UNION ALL
    SELECT format('a%s:%s:%s', a.attrelid, a.attnum, a.xmin) FROM pg_attribute a
    JOIN rel ON rel.oid = a.attrelid WHERE a.attnum > 0
    UNION ALL
    SELECT format('d%s:%s', d.oid, d.xmin) FROM pg_attrdef d JOIN rel ON rel.oid = d.adrelid
    UNION ALL
    SELECT format('t%s:%s', t.oid, t.xmin) FROM pg_trigger t JOIN rel ON rel.oid = t.tgrelid
    UNION ALL
    SELECT format('k%s:%s', k.oid, k.xmin) FROM pg_constraint k JOIN rel ON rel.oid = k.conrelid
    UNION ALL
    SELECT format('p%s:%s', oid, xmin) FROM pg_proc WHERE pronamespace = '{schema}'::regnamespace
    UNION ALL
    SELECT 'revision ' || version_num FROM "{schema}".alembic_version
) AS catalog
"""
_FOREIGN_KEYS = text(
    "SELECT source.relname, target.relname FROM pg_constraint k"
    " JOIN pg_class source ON source.oid = k.conrelid"
    " JOIN pg_class target ON target.oid = k.confrelid"
    " WHERE k.contype = 'f' AND k.connamespace = CAST(:schema AS regnamespace)"
)
_TABLES = text("SELECT tablename FROM pg_tables WHERE schemaname = :schema")
_SEQUENCES = text(
    "SELECT c.relname, s.seqstart FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid"
    " WHERE c.relnamespace = CAST(:schema AS regnamespace)"
)
_OTHERS_CONNECTED = text(
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE application_name = :schema AND pid <> pg_backend_pid()"
)


def _catalog_state(conn: Connection, schema: str) -> str | None:
    return conn.scalar(text(_CATALOG_STATE.format(schema=schema)))


class PostgresSchemas:
    """The tests' schemas in one test process, at the newest schema.

    Creating a schema's ~85 tables, indexes and triggers and dropping them again cost the
    server 0.6-1.5 s per test on 2 cores. A schema a test gives back is emptied instead (rows
    deleted, sequences restarted) and handed to the next test, but only when nothing else is
    still connected to it (connections name their schema as `application_name`) and no DDL
    touched it since it was built; otherwise it is dropped as before.
    """

    def __init__(self, admin: Engine, server_url: str, extensions_schema: str) -> None:
        self.admin = admin
        self.server_url = server_url
        self.extensions_schema = extensions_schema
        self.idle: list[str] = []
        self.built: dict[str, str | None] = {}  # schema -> its catalog state when built
        first = self._create()
        self.template = PostgresTemplate.record(self.url(first))
        with admin.connect() as conn:
            tables = [name for (name,) in conn.execute(_TABLES, {"schema": first})]
            keys = [
                (source, target)
                for source, target in conn.execute(_FOREIGN_KEYS, {"schema": first})
            ]
            sequences = list(conn.execute(_SEQUENCES, {"schema": first}))
        order = _referencing_first(tables, keys)
        # Run as one script, {schema} filled in: rows deleted, then numbering restarted.
        self.emptying = order and "".join(
            [f'DELETE FROM "{{schema}}"."{table}";' for table in order]
            + [
                f'SELECT setval(\'"{{schema}}"."{name}"\', {start}, false);'
                for name, start in sequences
            ]
        )
        self._built(first)

    def url(self, schema: str) -> str:
        separator = "&" if "?" in self.server_url else "?"
        # Extensions live in their own schema, on every test's path; `public` is not on it,
        # so nothing a developer keeps there can leak into a test.
        path = f"{schema},{self.extensions_schema}"
        return (
            f"{self.server_url}{separator}options=-csearch_path%3D{path}&application_name={schema}"
        )

    def take(self) -> str:
        """A schema at the newest revision with no rows in it."""
        if self.idle:
            return self.idle.pop()
        schema = self._create()
        self.template.copy_to(self.url(schema))
        self._built(schema)
        return schema

    def take_blank(self) -> str:
        """An empty schema (no tables): for tests of the migrations."""
        return self._create()

    def give_back(self, schema: str) -> None:
        if schema in self.built and self._emptied(schema):
            self.idle.append(schema)
        else:
            self.built.pop(schema, None)
            self._drop(schema)

    def close(self) -> None:
        while self.idle:
            self._drop(self.idle.pop())

    def _create(self) -> str:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with self.admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        return schema

    def _built(self, schema: str) -> None:
        with self.admin.connect() as conn:
            self.built[schema] = _catalog_state(conn, schema)

    def _drop(self, schema: str) -> None:
        with self.admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))

    def _emptied(self, schema: str) -> bool:
        """Deletes the rows of a schema as it was built; False when it is not, or when
        something still uses it."""
        if not self.emptying:
            return False
        try:
            with self.admin.begin() as conn:
                if conn.scalar(_OTHERS_CONNECTED, {"schema": schema}):
                    return False
                if _catalog_state(conn, schema) != self.built[schema]:
                    return False
                # One round trip: the simple query protocol takes several statements.
                driver = conn.connection.driver_connection
                assert driver is not None
                driver.execute(self.emptying.replace("{schema}", schema).encode())
        except (DBAPIError, psycopg.Error):
            return False
        return True


def _referencing_first(tables: list[str], keys: list[tuple[str, str]]) -> list[str] | None:
    """The tables but the revision's, each before those its foreign keys point at; None when
    the keys go round in a cycle (rows could not then be deleted table by table)."""
    points_at: dict[str, set[str]] = {table: set() for table in tables}
    for source, target in keys:
        if source != target:  # a self-reference: the whole table goes in one statement
            points_at[source].add(target)
    order: list[str] = []
    while points_at:
        pointed_at = set().union(*points_at.values())
        free = sorted(table for table in points_at if table not in pointed_at)
        if not free:
            return None
        order += free
        for table in free:
            del points_at[table]
    return [table for table in order if table != "alembic_version"]
