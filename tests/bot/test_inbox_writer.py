"""The inbox writer: polled updates are recorded before the next poll confirms them, new ones
in the background, and an id the inbox may already hold is checked before it is handled."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from telegram import Update

from bot import inbox_writer
from bot.inbox_writer import InboxWriter
from storage.db import Database
from storage.inbox import InboxStatus, record_received
from storage.models import InboxUpdate
from tests.factories import message_update

WORKER = "this-run"
LEASE = timedelta(seconds=30)
CHAT = 4242


def polled(*update_ids: int) -> list[Update]:
    return [message_update(i, CHAT, f"step {i}") for i in update_ids]


def row(db: Database, update_id: int) -> InboxUpdate | None:
    return db.read_sync(lambda session: session.get(InboxUpdate, update_id))


def stored_as(db: Database, update_id: int) -> tuple[str, str | None] | None:
    """(status, claimed_by) of the update's row, None without one."""
    stored = row(db, update_id)
    return None if stored is None else (stored.status, stored.claimed_by)


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """The batches written, in order; each write waits on `gate` when one is set."""
    batches: list[list[int]] = []

    def recording(session: Any, **kwargs: Any) -> list[int]:
        batches.append([received[0] for received in kwargs["updates"]])
        return record_received(session, **kwargs)

    monkeypatch.setattr(inbox_writer, "record_received", recording)
    return batches


@pytest.fixture
def hold_writes(db: Database, monkeypatch: pytest.MonkeyPatch) -> Callable[[], asyncio.Event]:
    """`hold_writes()`: from then on the database's writes wait until the event it returns
    is set."""

    def hold() -> asyncio.Event:
        release = asyncio.Event()
        original = db.run

        async def waiting(fn: Any, /, **kwargs: Any) -> Any:
            await release.wait()
            return await original(fn, **kwargs)

        monkeypatch.setattr(db, "run", waiting)
        return release

    return hold


async def test_first_batch_is_recorded_before_it_is_handled(
    db: Database, writes: list[list[int]]
) -> None:
    """After a start the first batch may re-deliver what a crashed run received."""
    db.run_sync(record_received, updates=[(11, "{}")])  # the crashed run's last update
    inbox = InboxWriter(db, WORKER, LEASE)
    await inbox.record_polled(polled(11, 12))
    assert writes == [[11, 12]]
    assert not inbox.take(11), "a re-delivery is not started as new"
    assert inbox.take(12)
    stored = row(db, 12)
    assert stored is not None
    assert (stored.claimed_by, stored.chat_id) == (WORKER, CHAT)


async def test_an_update_answered_before_the_next_poll_is_recorded_once_as_handled(
    db: Database, writes: list[list[int]]
) -> None:
    inbox = InboxWriter(db, WORKER, LEASE)
    await inbox.record_polled(polled(30))
    await inbox.record_polled(polled(31))
    assert writes == [[30]], "a surely new update is not written before it is handled"
    assert inbox.take(31)
    flushed = asyncio.ensure_future(inbox.flush())
    await asyncio.sleep(0)
    assert not flushed.done(), "the next poll waits for the answer"
    await inbox.finish(31)
    await flushed
    assert writes == [[30], [31]], "one write for the record and the mark"
    assert stored_as(db, 31) == (InboxStatus.DONE, WORKER)
    stored = row(db, 31)
    assert stored is not None
    assert (stored.chat_id, stored.handled_at is not None) == (CHAT, True)


async def test_the_next_poll_records_a_slow_update_as_pending_after_the_grace(
    db: Database, writes: list[list[int]]
) -> None:
    inbox = InboxWriter(db, WORKER, LEASE)
    await inbox.record_polled(polled(32))
    await inbox.record_polled(polled(33))
    loop = asyncio.get_running_loop()
    started = loop.time()
    await inbox.flush()  # the handler of 33 is still running
    assert loop.time() - started >= inbox_writer.DEFER_S * 0.9
    assert stored_as(db, 33) == (InboxStatus.PENDING, WORKER)
    await inbox.finish(33)
    assert writes == [[32], [33]]
    assert stored_as(db, 33) == (InboxStatus.DONE, WORKER)


async def test_finishing_waits_for_the_pending_record_then_marks(
    db: Database, hold_writes: Callable[[], asyncio.Event]
) -> None:
    inbox = InboxWriter(db, WORKER, LEASE)
    await inbox.record_polled(polled(34))
    await inbox.flush()
    release = hold_writes()
    await inbox.record_polled(polled(35))
    flushed = asyncio.ensure_future(inbox.flush())
    await asyncio.sleep(inbox_writer.DEFER_S * 2)  # the pending write has started, and waits
    finished = asyncio.ensure_future(inbox.finish(35))
    await asyncio.sleep(0.05)
    assert not finished.done()
    assert not flushed.done()
    release.set()
    await asyncio.gather(finished, flushed)
    assert stored_as(db, 35) == (InboxStatus.DONE, WORKER)


async def test_an_id_the_inbox_already_holds_is_checked_even_above_the_newest(
    db: Database, writes: list[list[int]]
) -> None:
    """Rows above this run's newest id (a crashed run's, with Telegram's ids restarted after
    a week of silence) end the range that is written in the background."""
    db.run_sync(record_received, updates=[(50, "{}")])
    inbox = InboxWriter(db, WORKER, LEASE)
    await inbox.record_polled(polled(40))
    await inbox.record_polled(polled(41, 50, 51))
    await inbox.flush()
    assert sorted(writes) == [[40], [41], [50, 51]]
    assert inbox.take(41)
    assert inbox.take(51)
    assert not inbox.take(50), "the update the inbox held is a repeat"


async def test_a_poll_cancelled_while_flushing_leaves_the_write_to_finish(
    db: Database, hold_writes: Callable[[], asyncio.Event]
) -> None:
    """Stopping the bot cancels the poll that waits in `flush`: a write it started goes on,
    and what it had not started yet is recorded by PTB's last poll at stop."""
    inbox = InboxWriter(db, WORKER, LEASE)
    await inbox.record_polled(polled(60))
    await inbox.flush()
    release = hold_writes()
    await inbox.record_polled(polled(61))
    poll = asyncio.ensure_future(inbox.flush())
    await asyncio.sleep(inbox_writer.DEFER_S * 2)
    poll.cancel()
    with pytest.raises(asyncio.CancelledError):
        await poll
    await inbox.record_polled(polled(62))
    poll = asyncio.ensure_future(inbox.flush())
    await asyncio.sleep(0.01)  # within the grace: nothing written yet
    poll.cancel()
    with pytest.raises(asyncio.CancelledError):
        await poll
    release.set()
    await inbox.written(61)
    assert row(db, 61) is not None
    assert row(db, 62) is None
    await inbox.flush()  # the last poll at stop
    assert row(db, 62) is not None
