"""SQLite under concurrent writes: 40 members save customers and quick logs at the same moment
while the scheduler delivers a burst of reminders. No "database is locked" reaches a user or
the log, nothing hits the error handler, and every record is saved exactly once.

SQLite only, on purpose: one writer at a time is SQLite's limit (BEGIN IMMEDIATE plus
busy_timeout in `storage.db` is how the bot lives with it). PostgreSQL's row locks are covered
by the multi-instance and reminder-claiming tests.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import Session

from bot import scheduler
from bot.emulator import BotApiEmulator
from handlers.i18n import Catalogs
from storage.db import Database
from storage.models import Customer, CustomerPhone, Interaction, Reminder, utcnow
from storage.reminders import ReminderStatus, create_follow_up
from tests.conftest import RunningBot
from tests.e2e.helpers import eventually, first_line, rows
from tests.e2e.user import ScriptedUser
from tests.factories import make_member

WRITERS = 40
RECEIVERS, DUE_EACH = 20, 5
ERROR_KEYS = ("error.unexpected", "error.temporary")
# A company of its own per writer: the same name at the same company is a colleague's
# customer, and /log would rightly stop at the duplicate warning instead of the Save card.
ENTRY = "Met Zhang Wei at Acme{n:04d}, 138 2222 {n:04d}, follow up next Tue 3pm"


async def _enter(user: ScriptedUser, n: int) -> None:
    """A customer step by step, then a quick log: both saved with the genuine Save button."""
    await user.send("/newcustomer")
    await user.replies(2, timeout=60)
    for answer in (f"Li Na {n}", f"139 1111 {n:04d}"):
        await user.send(answer)
        await user.reply(timeout=60)
    await user.press("Review ✓")
    summary = await user.reply(timeout=60)
    await user.press("✅ Save", message=summary)
    await user.reply(timeout=60)
    await user.send(f"/log {ENTRY.format(n=n)}")
    _title, card = await user.replies(2, timeout=60)
    await user.press("✅ Save", message=card)
    await user.reply(timeout=60)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.timeout(240)
async def test_many_members_writing_at_once_never_see_a_lock(
    emu: BotApiEmulator,
    running_bot: RunningBot,
    db_url: str,
    catalogs: Catalogs,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    db = Database(db_url)
    writer_ids, receiver_ids = db.run_sync(_seed)
    writers = [ScriptedUser(emu, tid, f"Writer {n}") for n, tid in enumerate(writer_ids)]
    receivers = [ScriptedUser(emu, tid, f"Receiver {tid}") for tid in receiver_ids]
    assert running_bot.application is not None
    await asyncio.gather(
        *(_enter(user, n) for n, user in enumerate(writers)),
        scheduler.deliver_due(running_bot.application),
    )
    await eventually(
        lambda: sum(len(emu.bot_messages(r.chat_id)) for r in receivers) == RECEIVERS * DUE_EACH,
        timeout=60,
    )
    customers = rows(db_url, Customer)
    assert sorted(c.name for c in customers) == sorted(
        [f"Li Na {n}" for n in range(WRITERS)] + ["Zhang Wei"] * WRITERS
    )
    assert sorted(Counter(c.owner_id for c in customers).values()) == [2] * WRITERS
    assert len(rows(db_url, CustomerPhone)) == 2 * WRITERS
    assert len(rows(db_url, Interaction)) == WRITERS
    reminders = Counter(r.status for r in rows(db_url, Reminder))
    assert reminders == {
        ReminderStatus.PENDING: WRITERS,
        ReminderStatus.SENT: RECEIVERS * DUE_EACH,
    }
    apologies = [first_line(catalogs, "en", key, reference=0)[:40] for key in ERROR_KEYS]
    for user in writers + receivers:
        for message in emu.bot_messages(user.chat_id):
            assert not message.text.startswith(tuple(apologies)), user.transcript()
    logged = [(r.levelname, r.getMessage(), str(r.exc_info)) for r in caplog.records]
    assert not [entry for entry in logged if "locked" in " ".join(entry)]
    assert not [entry for entry in logged if entry[0] in ("ERROR", "CRITICAL")]
    db.close()


def _seed(session: Session) -> tuple[list[int], list[int]]:
    """The writers, and the receivers with reminders due now (the burst runs alongside)."""
    writers = [make_member(session, telegram_id=60_000 + n) for n in range(WRITERS)]
    receivers = [make_member(session, telegram_id=70_000 + n) for n in range(RECEIVERS)]
    for member in receivers:
        for k in range(DUE_EACH):
            create_follow_up(
                session,
                actor=member,
                due_at=utcnow() - timedelta(minutes=1),
                text=f"due {k}",
                customer_id=None,
                exact_time=True,
            )
    return [m.telegram_id for m in writers], [m.telegram_id for m in receivers]
