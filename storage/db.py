"""The engine, SQLite's pragmas, and the one transaction runner every storage call goes through.

Storage functions are plain synchronous functions taking a Session first. Chat handlers call
them through `Database.run` / `Database.read`, which execute them in a small thread pool so a
query never blocks the event loop (aiosqlite was slower for short queries: docs/stack-facts.md).

On SQLite every writing transaction starts with BEGIN IMMEDIATE: a deferred transaction that
reads and then writes can fail with "database is locked" whatever busy_timeout says.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import partial
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import Session

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 10_000
CONNECT_TIMEOUT_S = 5
_IMMEDIATE = "crm_begin_immediate"


def _install_sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite would defer it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        _use_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # Checkpoint every ~32 MB of WAL instead of 4 MB: an import rewrites the same search
        # index pages chunk after chunk, and each page then reaches the database file once.
        cursor.execute("PRAGMA wal_autocheckpoint=8000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def writing(engine: Engine) -> Engine:
    """`engine` with each transaction begun by BEGIN IMMEDIATE on SQLite: the write lock is
    taken at the start, not at the first write (no effect on PostgreSQL)."""
    return engine.execution_options(**{_IMMEDIATE: True})


def _use_wal(cursor: Any) -> None:
    """WAL mode, set once in the file. While another process converts a new file to WAL or
    migrates it, SQLite answers "database is locked" here at once, without its busy handler
    (two starts at once on an empty database): retry for a few seconds."""
    for attempt in range(50):
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == 49:
                raise
            time.sleep(0.1)


def create_db_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and explicit transaction starts."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _install_sqlite_pragmas(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # prepare_threshold=None: auto-prepared generic plans made ILIKE search 1000x slower.
    # After a server restart every pooled connection is dead: pre-ping replaces each on its
    # next checkout (and invalidates the pool), so the engine reconnects by itself; a
    # connect timeout keeps an unreachable server from hanging a worker thread (psycopg's
    # default waits forever), and pool_timeout bounds the wait for a free connection.
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        pool_timeout=10,
        connect_args={"prepare_threshold": None, "connect_timeout": CONNECT_TIMEOUT_S},
    )


# SQLite's primary result codes that mean the file cannot be used right now (busy past the
# timeout, cannot be opened, I/O error), as opposed to a statement it refused.
_SQLITE_AWAY = {5, 10, 14}  # SQLITE_BUSY, SQLITE_IOERR, SQLITE_CANTOPEN
# PostgreSQL SQLSTATEs of a lost or refused connection: class 08, the server shutting down or
# starting (57P01-57P03), too many connections. libpq's own connect failures carry none.
_POSTGRES_AWAY = ("08", "57P01", "57P02", "57P03", "53300")


def is_unavailable(error: BaseException | None) -> bool:
    """The database could not be reached or dropped the connection (a restart, a network
    cut, a full pool, SQLite's lock timeout): worth trying again in a moment.

    Only the connection says so: pysqlite raises OperationalError for a syntax error or an
    unknown column too, and those are bugs, which no amount of waiting repairs."""
    if isinstance(error, PoolTimeout):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    if isinstance(error.orig, sqlite3.Error):
        code = getattr(error.orig, "sqlite_errorcode", None)
        return code is not None and code & 0xFF in _SQLITE_AWAY
    if not isinstance(error, OperationalError | InterfaceError):
        return False
    state = getattr(error.orig, "sqlstate", None)
    return state is None or state.startswith(_POSTGRES_AWAY)


class Unreachable(Exception):
    """The database took no connection; the message is the driver's reason, on one line."""


def check_connection(url: str) -> None:
    """Connect once and let go, or raise `Unreachable`: start-up and `check-config` ask this
    first, so a missing SQLite folder, a refused port or an unknown database is one line with
    the reason instead of a traceback from deep inside the migrations."""
    engine = create_db_engine(url)
    try:
        with engine.connect():
            pass
    except DBAPIError as exc:
        first_line = (str(exc.orig).splitlines() or [type(exc.orig).__name__])[0]
        reason = " ".join(first_line.split())
        password = engine.url.password
        raise Unreachable(reason.replace(password, "***") if password else reason) from exc
    finally:
        engine.dispose()


def _install_nul_filter(engine: Engine) -> None:
    """Drop NUL characters from every bound string. A Telegram client can send them, and
    PostgreSQL refuses them in text ("cannot contain NUL (0x00) bytes"), which turned a search
    or a save into an error; SQLite gets the same treatment so both store the same text.

    Bulk writes (executemany: an import's chunks) are left alone: walking every value of
    thousands of rows cost the import ~7% of its time, and its cells cannot hold a NUL (a CSV
    with one is refused as not a table, and XLSX's XML cannot carry one)."""

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def _on_execute(
        _conn: Connection,
        _cursor: Any,
        statement: str,
        parameters: Any,
        _context: Any,
        executemany: bool,
    ) -> tuple[str, Any]:
        return statement, parameters if executemany else _without_nul(parameters)


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {key: _without_nul(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_without_nul(item) for item in value)
    return value


class FairLock:
    """A lock taken in arrival order. SQLite lets one writer in at a time and its busy handler
    only polls (every 100 ms at best), so a writer that commits and begins again at once (an
    import's next chunk) kept other chats' writes waiting for seconds; a plain
    threading.Lock lets the releasing thread barge back in the same way. Queuing this
    process's writers here bounds each wait by the transactions ahead of it."""

    def __init__(self) -> None:
        self._turn = threading.Condition()
        self._next_ticket = 0
        self._serving = 0

    def __enter__(self) -> None:
        with self._turn:
            ticket = self._next_ticket
            self._next_ticket += 1
            self._turn.wait_for(lambda: self._serving == ticket)

    def __exit__(self, *_exc: object) -> None:
        with self._turn:
            self._serving += 1
            self._turn.notify_all()


class Database:
    """Owns the engine and the worker threads; one instance per running bot."""

    def __init__(self, url: str, *, workers: int = 4) -> None:
        self.url = url
        self.engine = create_db_engine(url)
        _install_nul_filter(self.engine)
        self._writer = writing(self.engine)
        self._write_turns: AbstractContextManager[None] = (
            FairLock() if self.is_sqlite else nullcontext()
        )
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="db")

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """One transaction: committed on success, rolled back on any exception."""
        if not write:
            with Session(self.engine, expire_on_commit=False) as session, session.begin():
                yield session
            return
        with (
            self._write_turns,
            Session(self._writer, expire_on_commit=False) as session,
            session.begin(),
        ):
            yield session

    def run_sync(
        self, fn: Callable[Concatenate[Session, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        with self.session() as session:
            return fn(session, *args, **kwargs)

    def read_sync(
        self, fn: Callable[Concatenate[Session, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        with self.session(write=False) as session:
            return fn(session, *args, **kwargs)

    async def run(
        self, fn: Callable[Concatenate[Session, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run a storage function that may write, in its own transaction, off the event loop."""
        call = partial(self.run_sync, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def run_best_effort(
        self, fn: Callable[Concatenate[Session, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T | None:
        """Like `run` for a write the member can do without: None, logged, if the database
        refused it, so the caller goes on instead of reaching the error handler."""
        try:
            return await self.run(fn, *args, **kwargs)
        except SQLAlchemyError as exc:
            logger.warning("best-effort %s failed: %s", getattr(fn, "__name__", fn), exc)
            return None

    async def read(
        self, fn: Callable[Concatenate[Session, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Like `run` for read-only functions: no write lock is taken on SQLite."""
        call = partial(self.read_sync, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.engine.dispose()
