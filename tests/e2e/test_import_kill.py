"""kill -9 in the middle of an import: after a restart the import finishes by itself, every
row is accounted for once, and no customer is created twice.

The bot runs as a real `python -m bot run` child (tests/e2e/process.py) so SIGKILL lands at
whatever it was doing: between chunks, inside a chunk's transaction, or in the normaliser
process. Chunks commit with their `import_row` records, so the restart resumes after the
last committed chunk.
"""

from __future__ import annotations

import asyncio
import signal
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, update
from sqlmodel import Session, select

from bot.emulator import BotApiEmulator
from storage.db import Database
from storage.imports.models import ImportBatch, ImportRow
from storage.models import Customer, CustomerPhone, utcnow
from tests.conftest import ADMIN_ID
from tests.e2e.helpers import eventually
from tests.e2e.process import spawn_bot, write_config
from tests.e2e.test_import import to_preview, upload
from tests.e2e.user import ScriptedUser

ROWS = 12_000


def _file() -> bytes:
    lines = ["Name,Phone,Email"]
    lines += [f"Customer {i},1380{i:07d},c{i}@example.com" for i in range(ROWS)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _batch(db_url: str) -> ImportBatch | None:
    db = Database(db_url)
    try:
        return db.read_sync(lambda s: s.exec(select(ImportBatch)).first())
    finally:
        db.close()


def _counts(db_url: str) -> tuple[int, int, int, int]:
    """Customers, distinct customer names, phones, and import_row records."""

    def read(session: Session) -> tuple[int, int, int, int]:
        def scalar(statement: object) -> int:
            return int(session.execute(statement).scalar_one())  # type: ignore[call-overload]

        return (
            scalar(select(func.count()).select_from(Customer)),
            scalar(select(func.count(func.distinct(Customer.name)))),
            scalar(select(func.count()).select_from(CustomerPhone)),
            scalar(select(func.count()).select_from(ImportRow)),
        )

    db = Database(db_url)
    try:
        return db.read_sync(read)
    finally:
        db.close()


def _expire_import_lease(db_url: str) -> None:
    """What waiting out the dead process's lease (storage.imports.LEASE) would do."""
    db = Database(db_url)
    try:
        db.run_sync(
            lambda s: s.execute(
                update(ImportBatch).values(claimed_until=utcnow() - timedelta(seconds=1))
            )
        )
    finally:
        db.close()


async def test_kill_9_during_an_import_resumes_and_doubles_nothing(
    emu: BotApiEmulator, db_url: str, tmp_path: Path
) -> None:
    config, logs = write_config(tmp_path, emu, db_url), tmp_path / "bot.log"
    admin = ScriptedUser(emu, ADMIN_ID, "Ada")
    process = await spawn_bot(config, logs)
    try:
        await admin.send("/start")
        await admin.reply(timeout=60)
        preview = await to_preview(admin, await upload(admin, "big.csv", _file()))
        await admin.press("▶ Start import", message=preview)

        def part_done() -> bool:
            batch = _batch(db_url)
            return batch is not None and 0 < batch.processed_rows < ROWS

        await eventually(part_done, timeout=120)
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    killed_at = _batch(db_url)
    assert killed_at is not None
    assert killed_at.processed_rows < ROWS, "the kill came after the import had finished"
    assert killed_at.status == "running"
    _expire_import_lease(db_url)
    process = await spawn_bot(config, logs)
    try:

        def finished() -> bool:
            batch = _batch(db_url)
            return batch is not None and batch.status == "done"

        await eventually(finished, timeout=180)
        result = await admin.reply(timeout=60)
        while "Created:" not in (result.text or ""):
            result = await admin.reply(timeout=60)
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)
    assert f"Created: {ROWS:,}" in (result.text or "")
    assert _counts(db_url) == (ROWS, ROWS, ROWS, ROWS)
    done = _batch(db_url)
    assert done is not None
    assert (done.created_count, done.processed_rows) == (ROWS, ROWS)
