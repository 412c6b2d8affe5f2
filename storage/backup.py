"""`crm-bot backup PATH`: a consistent copy of the SQLite database while the bot keeps running.

SQLite's online backup API copies the database page by page and restarts a step when a writer
changed a page it already copied, so the copy is one committed state even under writes (a
plain file copy of a WAL database can miss the WAL or tear a page). The copy is written to a
temporary file beside the target, checked with `PRAGMA integrity_check`, and only then renamed
into place: a crash or a full disk never leaves a half-written file under the target's name.
PostgreSQL is backed up with its own tools (`pg_dump`, see the README).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

PAGES_PER_STEP = 1024  # small steps let the bot's writers in between


class BackupError(Exception):
    """The backup could not be made; the message says why and what to do instead."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size_bytes: int
    seconds: float


def sqlite_file(database_url: str) -> Path:
    """The database file behind a SQLite URL; BackupError for anything else."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise BackupError(
            f"backup copies SQLite databases; this one is {url.get_backend_name()}: "
            "use pg_dump (see the README, 'Backups')"
        )
    if not url.database or url.database == ":memory:":
        raise BackupError("the configured SQLite database is in memory: nothing to back up")
    return Path(url.database)


def target_path(target: Path, *, now: datetime) -> Path:
    """A directory gets a dated file name inside it; an existing file is never overwritten."""
    if target.is_dir():
        target = target / f"crm-backup-{now:%Y%m%d-%H%M%S}.sqlite3"
    if target.exists():
        raise BackupError(f"{target} already exists: choose a new name or a directory")
    return target


def backup_sqlite(database_url: str, target: Path) -> BackupResult:
    """Copy the live database to `target` (a file name or a directory) and verify the copy."""
    source_path = sqlite_file(database_url)
    if not source_path.is_file():
        raise BackupError(f"no database file at {source_path}")
    started = datetime.now(UTC)
    final = target_path(target, now=started)
    partial = final.with_name(final.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)
    copy = sqlite3.connect(partial)
    try:
        source.backup(copy, pages=PAGES_PER_STEP)
        [(verdict,)] = copy.execute("PRAGMA integrity_check").fetchall()
        if verdict != "ok":
            raise BackupError(f"the copy failed its integrity check: {verdict}")
    except BaseException:
        copy.close()
        partial.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    copy.close()
    partial.replace(final)
    seconds = (datetime.now(UTC) - started).total_seconds()
    return BackupResult(path=final, size_bytes=final.stat().st_size, seconds=seconds)
