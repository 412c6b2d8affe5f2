"""kill -9 in the middle of a reminder burst: after restart every reminder arrives, and only
a send Telegram accepted but the dead process never recorded arrives twice.

That is the documented guarantee (README, "Reminders"): delivery is at least once. The Bot
API has no idempotency key, so a message Telegram accepted in the instant between its answer
and the `mark_sent` commit cannot be told apart from one that never went out; the scheduler
sends it again rather than lose it. The test kills the bot from inside the emulator at the
moment it stores a reminder message, before it answers: the worst instant, so the window is
always hit and the duplicates are counted exactly, not hoped away.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.emulator import BotApiEmulator, BotMessage
from storage.db import Database
from storage.migrate import upgrade_database
from storage.models import Reminder, utcnow
from storage.reminders import ReminderStatus, create_follow_up
from tests.e2e.helpers import eventually
from tests.e2e.process import spawn_bot, write_config
from tests.e2e.user import ScriptedUser
from tests.factories import make_member

MEMBERS = 20
REMINDERS = 200  # two claim batches (scheduler.BATCH = 100), 10 per member
KILL_AT = 70  # delivered before the kill: some of the first batch, none of the second
TAG = re.compile(r"burst-(\d{3})")


async def test_kill_9_during_a_reminder_burst_loses_none_and_repeats_only_the_unrecorded(
    emu: BotApiEmulator, db_url: str, tmp_path: Path
) -> None:
    db = Database(db_url)
    upgrade_database(db.engine)
    _seed(db, emu)
    config, logs = write_config(tmp_path, emu, db_url), tmp_path / "bot.log"
    delivered: list[int] = []
    process = await spawn_bot(config, logs)

    def watch(kind: str, message: BotMessage) -> None:
        found = TAG.search(message.text or "") if kind == "new" else None
        if found is None:
            return
        delivered.append(int(found[1]))
        if len(delivered) == KILL_AT and process.returncode is None:
            os.kill(process.pid, signal.SIGKILL)  # before the emulator answers this send

    emu.subscribe(watch)
    try:
        await eventually(lambda: len(delivered) >= KILL_AT, timeout=90)
        await asyncio.wait_for(process.wait(), 10)
        assert process.returncode == -signal.SIGKILL
        await asyncio.sleep(0.5)  # requests the emulator had already read still land
        before_restart = list(delivered)
        sent_ids = _sent_texts(db)
        unrecorded = {i for i in before_restart if i not in sent_ids}
        assert delivered[KILL_AT - 1] in unrecorded, "the send accepted at the kill is unrecorded"
        assert len(unrecorded) <= 5, f"only sends in flight may be unrecorded: {unrecorded}"
        assert len(before_restart) < REMINDERS
        _expire_dead_leases(db)  # what waiting out scheduler.LEASE (5 min) would do
        process = await spawn_bot(config, logs)
        await eventually(lambda: len(_sent_texts(db)) == REMINDERS, timeout=120)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 30)
        emu.unsubscribe(watch)
    times = Counter(delivered)
    assert set(times) == set(range(REMINDERS)), "every reminder is delivered"
    doubled = {i for i, n in times.items() if n > 1}
    assert doubled == unrecorded, "exactly the unrecorded in-flight sends repeat"
    assert max(times.values()) == 2
    db.close()


def _seed(db: Database, emu: BotApiEmulator) -> None:
    """MEMBERS salespeople (known to the emulator) with REMINDERS due reminders, interleaved."""
    due = utcnow() - timedelta(minutes=1)

    def seed(session: Session) -> dict[int, list[int]]:
        members = [make_member(session, telegram_id=5000 + n) for n in range(MEMBERS)]
        numbers: dict[int, list[int]] = {m.telegram_id: [] for m in members}
        for i in range(REMINDERS):
            member = members[i % MEMBERS]
            create_follow_up(
                session,
                actor=member,
                due_at=due,
                text=f"burst-{i:03d}",
                customer_id=None,
                exact_time=True,  # never held back by working hours
            )
            numbers[member.telegram_id].append(i)
        return numbers

    for telegram_id in db.run_sync(seed):
        ScriptedUser(emu, telegram_id, f"Rep {telegram_id}")


def _sent_texts(db: Database) -> set[int]:
    """The reminder numbers the database records as sent."""
    texts = db.read_sync(
        lambda s: list(
            s.exec(select(Reminder.text).where(col(Reminder.status) == ReminderStatus.SENT))
        )
    )
    return {int(TAG.search(t or "")[1]) for t in texts}  # type: ignore[index]


def _expire_dead_leases(db: Database) -> None:
    db.run_sync(
        lambda s: s.execute(
            update(Reminder)
            .where(col(Reminder.claimed_by).is_not(None))
            .values(claimed_until=utcnow() - timedelta(seconds=1))
        )
    )
