"""Shared fixtures: real databases on both backends, the Bot API emulator, the real bot.

Every test that takes `db_url` runs on SQLite and on PostgreSQL. PostgreSQL gets a schema of
its own per test, so tests never see each other's rows; neither backend migrates per test
(tests/schema_templates.py). Which server: CRM_TEST_POSTGRES_URL,
else the machine's on 127.0.0.1:5432, else a throwaway one the run starts itself
(tests/postgres_server.py). CRM_TEST_BACKENDS=sqlite leaves PostgreSQL out on purpose.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, text
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
from tests import postgres_server
from tests.e2e.user import ScriptedUser
from tests.postgres_server import MACHINE_URL, PostgresChoice, choose_postgres
from tests.schema_templates import PostgresSchemas, SqliteTemplate

# Opt into PTB's timedelta `retry_after`; the old int form warns (and warnings are errors).
os.environ.setdefault("PTB_TIMEDELTA", "true")

BACKENDS = os.environ.get("CRM_TEST_BACKENDS", "sqlite,postgresql").split(",")
POSTGRES = PostgresChoice(MACHINE_URL)  # chosen once per run, in pytest_configure
TOKEN = "123456:TEST-token-for-the-emulator"
EXTENSIONS_SCHEMA = "test_extensions"
ADMIN_ID = 1001


def pytest_configure() -> None:
    # Under pytest-xdist this runs in the controller first, which starts a throwaway server if
    # one is needed and names it in CRM_TEST_POSTGRES_URL; the workers inherit that variable.
    global POSTGRES
    if "postgresql" in BACKENDS:
        POSTGRES = choose_postgres()


def pytest_unconfigure() -> None:
    postgres_server.stop_started()


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook: ignored where xdist is not loaded
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """How many workers `-n auto` starts: one per core (xdist decides) for the suite or a
    folder; none, so the tests run in this process, when the command names only files or tests
    in them: each worker collects the tests again, imports the bot and migrates its own
    templates, which costs more than a file or two gain (docs/testing.md)."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist reads it
    named = [config.invocation_params.dir / arg.split("::")[0] for arg in config.args]
    if all(path.is_file() for path in named):
        return 0
    return None


def pytest_report_header() -> str | None:
    return POSTGRES.note


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of the test's own at the newest schema, not migrated again per test:
    a copy of a migrated file on SQLite, an emptied or replayed schema on PostgreSQL."""
    yield from _database_url(request, request.param, tmp_path)


@pytest.fixture(params=BACKENDS)
def blank_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of the test's own, for tests of the migrations themselves."""
    yield from _database_url(request, request.param, tmp_path, blank=True)


@pytest.fixture(params=[backend for backend in BACKENDS if backend == "postgresql"])
def postgres_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """For behaviour only PostgreSQL has (row locks with SKIP LOCKED)."""
    for url in _database_url(request, request.param, tmp_path):
        database = Database(url)
        yield database
        database.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    return SqliteTemplate(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def postgres_schemas() -> Iterator[PostgresSchemas]:
    """The test process's PostgreSQL schemas, through one connection pool."""
    admin = create_engine(POSTGRES.url.replace("postgresql://", "postgresql+psycopg://"))

    @event.listens_for(admin, "connect")
    def _no_flush_wait(dbapi_connection: Any, _record: Any) -> None:
        # Schemas are made and emptied for the tests only: a commit need not wait for the disk.
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit = off")
        dbapi_connection.commit()

    try:
        _install_extensions(admin)
        schemas = PostgresSchemas(admin, POSTGRES.url, EXTENSIONS_SCHEMA)
    except Exception as exc:
        pytest.fail(
            f"PostgreSQL at {POSTGRES.url} is not usable ({exc}). Start it (see .ci/run) or "
            "set CRM_TEST_BACKENDS=sqlite to run without it."
        )
    yield schemas
    schemas.close()
    admin.dispose()


def _database_url(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path, *, blank: bool = False
) -> Iterator[str]:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'crm.sqlite3'}"
        if not blank:
            request.getfixturevalue("sqlite_template").copy_to(url)
        yield url
        return
    schemas: PostgresSchemas = request.getfixturevalue("postgres_schemas")
    schema = schemas.take_blank() if blank else schemas.take()
    yield schemas.url(schema)
    schemas.give_back(schema)


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
    database = Database(db_url)
    yield database
    database.close()


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
def bot_sections() -> dict[str, Any]:
    """Config sections `running_bot` replaces; a module overrides this fixture to set them."""
    return {}


@pytest.fixture
async def running_bot(
    emu: BotApiEmulator, db_url: str, bot_sections: dict[str, Any]
) -> AsyncIterator[RunningBot]:
    bot = RunningBot(emu, db_url, **bot_sections)
    await bot.start()
    yield bot
    await bot.stop()
    assert not bot.errors, f"the bot's error handler was reached: {bot.errors!r}"


@pytest.fixture
def admin(emu: BotApiEmulator, running_bot: RunningBot) -> ScriptedUser:
    return ScriptedUser(emu, ADMIN_ID, "Ada", language_code="en")
