"""Shared fixtures: real databases on both backends, the Bot API emulator, the real bot.

Every test that takes `db_url` runs on SQLite and on PostgreSQL. PostgreSQL gets a schema of
its own per test, so tests never see each other's rows. Which server: CRM_TEST_POSTGRES_URL,
else the machine's on 127.0.0.1:5432, else a throwaway one the run starts itself
(tests/postgres_server.py). CRM_TEST_BACKENDS=sqlite leaves PostgreSQL out on purpose.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import IntegrityError

from bot.app import (
    CrmApplication,
    build_application,
    start_application,
    stop_application,
    watch_errors,
)
from bot.config import AccessConfig, Config, DatabaseConfig, LocaleConfig, TelegramConfig
from bot.emulator import BotApiEmulator
from handlers.i18n import Catalogs
from storage.db import Database
from storage.migrate import MIGRATIONS_DIR, upgrade_database
from tests.e2e.user import ScriptedUser
from tests.postgres_server import MACHINE_URL, PostgresChoice, choose_postgres

# Opt into PTB's timedelta `retry_after`; the old int form warns (and warnings are errors).
os.environ.setdefault("PTB_TIMEDELTA", "true")

BACKENDS = os.environ.get("CRM_TEST_BACKENDS", "sqlite,postgresql").split(",")
POSTGRES = PostgresChoice(MACHINE_URL)  # chosen once per run, in pytest_configure
TOKEN = "123456:TEST-token-for-the-emulator"
EXTENSIONS_SCHEMA = "test_extensions"
ADMIN_ID = 1001


def pytest_configure() -> None:
    global POSTGRES
    if "postgresql" in BACKENDS:
        POSTGRES = choose_postgres()


def pytest_report_header() -> str | None:
    return POSTGRES.note


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from _database_url(request.param, tmp_path)


@pytest.fixture(params=[backend for backend in BACKENDS if backend == "postgresql"])
def postgres_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """For behaviour only PostgreSQL has (row locks with SKIP LOCKED)."""
    for url in _database_url(request.param, tmp_path):
        database = Database(url)
        upgrade_database(database.engine)
        yield database
        database.close()


def _database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'crm.sqlite3'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES.url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        _install_extensions(admin)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        pytest.fail(
            f"PostgreSQL at {POSTGRES.url} is not usable ({exc}). Start it (see .ci/run) or "
            "set CRM_TEST_BACKENDS=sqlite to run without it."
        )
    separator = "&" if "?" in POSTGRES.url else "?"
    # Extensions live in their own schema, on every test's path; `public` is not on it, so
    # nothing a developer keeps there can leak into a test.
    yield f"{POSTGRES.url}{separator}options=-csearch_path%3D{schema},{EXTENSIONS_SCHEMA}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _install_extensions(engine: Engine) -> None:
    """pg_trgm once, in its own schema: created inside a test schema it would vanish with it."""
    where = text(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = 'pg_trgm'"
    )
    with engine.connect() as conn:
        schema = conn.scalar(where)
    if schema == EXTENSIONS_SCHEMA:
        return
    try:
        with engine.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {EXTENSIONS_SCHEMA}"))
            if schema is None:
                conn.execute(
                    text(f"CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA {EXTENSIONS_SCHEMA}")
                )
            else:  # left in another schema by an older run: move it
                conn.execute(text(f"ALTER EXTENSION pg_trgm SET SCHEMA {EXTENSIONS_SCHEMA}"))
    except IntegrityError:  # another test process did it at the same moment
        pass


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    if db_url.startswith("sqlite:///"):  # a copy of the migrated schema: ~1 s less per test
        shutil.copyfile(_sqlite_at_head(), db_url.removeprefix("sqlite:///"))
        database = Database(db_url)
    else:
        database = Database(db_url)
        upgrade_database(database.engine)
    yield database
    database.close()


def _sqlite_at_head() -> Path:
    """An SQLite file migrated to head, made once per version of the migrations and shared by
    test runs (mutation testing starts one per mutant): running them took ~1 s per test."""
    files = sorted(MIGRATIONS_DIR.rglob("*.py"))
    key = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"crm-test-schema-{key}.sqlite3"
    if not path.exists():
        scratch = path.with_name(f"{path.name}.{uuid.uuid4().hex}")
        database = Database(f"sqlite:///{scratch}")
        upgrade_database(database.engine)
        database.close()
        with closing(sqlite3.connect(scratch)) as folded:  # the WAL into the file itself
            folded.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        os.replace(scratch, path)  # whole or absent, whoever else makes it meanwhile
    return path


@pytest.fixture(scope="session")
def catalogs() -> Catalogs:
    return Catalogs()


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN, bot_username="crm_test_bot") as emulator:
        yield emulator


def make_config(emu: BotApiEmulator, db_url: str, **locale: Any) -> Config:
    return Config(
        telegram=TelegramConfig(base_url=emu.base_url, base_file_url=emu.base_file_url),
        database=DatabaseConfig(url=db_url),
        access=AccessConfig(admins=[ADMIN_ID]),
        locale=LocaleConfig(**locale),
    )


class RunningBot:
    """The real application, started as `crm-bot run` starts it; errors it hits are kept.
    `sections` replace the test config's (`instances=InstancesConfig(...)`)."""

    def __init__(self, emu: BotApiEmulator, db_url: str, **sections: Any) -> None:
        self.emu = emu
        self.db_url = db_url
        self.sections = sections
        self.errors: list[BaseException] = []
        self.application: CrmApplication | None = None

    async def start(self) -> CrmApplication:
        config = make_config(self.emu, self.db_url).model_copy(update=self.sections)
        application = build_application(config, token=TOKEN)
        watch_errors(application, self._record_error)
        await start_application(application, poll_timeout=1)
        self.application = application
        return application

    async def stop(self) -> None:
        if self.application is not None:
            await stop_application(self.application)
            self.application = None

    async def restart(self) -> CrmApplication:
        await self.stop()
        return await self.start()

    async def _record_error(self, _update: object, context: Any) -> None:
        self.errors.append(context.error)


@pytest.fixture
async def running_bot(emu: BotApiEmulator, db_url: str) -> AsyncIterator[RunningBot]:
    bot = RunningBot(emu, db_url)
    await bot.start()
    yield bot
    await bot.stop()
    assert not bot.errors, f"the bot's error handler was reached: {bot.errors!r}"


@pytest.fixture
def admin(emu: BotApiEmulator, running_bot: RunningBot) -> ScriptedUser:
    return ScriptedUser(emu, ADMIN_ID, "Ada", language_code="en")
