"""Per-chat processing: one chat's updates in order, chats in parallel, each update once."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from bot import inbox_writer, processing
from bot.inbox_writer import InboxWriter
from bot.processing import PerChatUpdateProcessor
from storage.db import Database
from storage.inbox import InboxStatus, Received, claim_update, mark_handled, record_received
from storage.models import InboxUpdate, utcnow
from tests.factories import message_update

CHAT_A, CHAT_B = 5001, 5002
WORKER = "this-instance"
LEASE = timedelta(seconds=15)
GUARD_S = 10  # fails a hung test instead of waiting for pytest's timeout; never waited out


@pytest.fixture
def serial_db(db: Database) -> Iterator[Database]:
    """One database worker thread: database calls finish in the order they were made, so a
    processor that skipped the chat lock would deterministically run a chat's second update
    before another chat's later one."""
    database = Database(db.url, workers=1)
    yield database
    database.close()


@pytest.fixture
async def processor(serial_db: Database) -> AsyncIterator[PerChatUpdateProcessor]:
    inbox = InboxWriter(serial_db, WORKER, LEASE)
    async with PerChatUpdateProcessor(serial_db, inbox) as update_processor:
        yield update_processor


def status(db: Database, update_id: int) -> str | None:
    row = db.read_sync(lambda session: session.get(InboxUpdate, update_id))
    return row.status if row is not None else None


async def test_process_update_runs_one_chats_updates_in_order(
    processor: PerChatUpdateProcessor,
) -> None:
    events: list[str] = []
    first_started, release_first = asyncio.Event(), asyncio.Event()

    async def slow_first() -> None:
        events.append("A1 start")
        first_started.set()
        await release_first.wait()
        events.append("A1 end")

    async def record(name: str) -> None:
        events.append(name)

    async with asyncio.timeout(GUARD_S):
        first = asyncio.create_task(
            processor.process_update(message_update(1, CHAT_A), slow_first())
        )
        await first_started.wait()
        second = asyncio.create_task(
            processor.process_update(message_update(2, CHAT_A), record("A2"))
        )
        # Another chat's update, handled completely while A1 still holds chat A.
        await processor.process_update(message_update(3, CHAT_B), record("B"))
        assert events == ["A1 start", "B"]
        release_first.set()
        await asyncio.gather(first, second)
    assert events == ["A1 start", "B", "A1 end", "A2"]


async def test_process_update_runs_different_chats_concurrently(
    processor: PerChatUpdateProcessor,
) -> None:
    a_started, b_done = asyncio.Event(), asyncio.Event()

    async def waits_for_b() -> None:
        a_started.set()
        await b_done.wait()  # deadlocks (and the guard fails the test) if chats were serialised

    async def b() -> None:
        b_done.set()

    async with asyncio.timeout(GUARD_S):
        a_task = asyncio.create_task(
            processor.process_update(message_update(1, CHAT_A), waits_for_b())
        )
        await a_started.wait()
        await processor.process_update(message_update(2, CHAT_B), b())
        await a_task


async def test_process_update_skips_update_handled_before(
    processor: PerChatUpdateProcessor, serial_db: Database
) -> None:
    update = message_update(7, CHAT_A)
    serial_db.run_sync(record_received, updates=[(7, update.to_json())])
    serial_db.run_sync(mark_handled, update_ids=[7])
    ran = False

    async def handler() -> None:
        nonlocal ran
        ran = True

    coroutine = handler()
    await processor.process_update(update, coroutine)
    assert ran is False
    # Closed, not just dropped: no "coroutine was never awaited" warning at garbage collection.
    assert inspect.getcoroutinestate(coroutine) == inspect.CORO_CLOSED


async def test_process_update_marks_update_handled_after_processing(
    processor: PerChatUpdateProcessor, serial_db: Database
) -> None:
    seen_during: list[str | None] = []

    async def handler() -> None:
        seen_during.append(await serial_db.read(lambda s: s.get_one(InboxUpdate, 8).status))

    await processor.process_update(message_update(8, CHAT_A), handler())
    assert seen_during == [InboxStatus.PENDING]
    assert status(serial_db, 8) == InboxStatus.DONE


async def test_process_update_handles_pending_update_from_inbox(
    processor: PerChatUpdateProcessor, serial_db: Database
) -> None:
    update = message_update(9, CHAT_A)
    serial_db.run_sync(record_received, updates=[(9, update.to_json())])  # no lease: a backlog
    ran: list[int] = []

    async def handler() -> None:
        ran.append(update.update_id)

    await processor.process_update(update, handler())
    assert ran == [9]
    assert status(serial_db, 9) == InboxStatus.DONE


async def test_process_update_leaves_no_locks_behind(
    processor: PerChatUpdateProcessor,
) -> None:
    async def nothing() -> None:
        return None

    updates = [message_update(10 + i, CHAT_A if i % 2 else CHAT_B) for i in range(6)]
    async with asyncio.timeout(GUARD_S):
        await asyncio.gather(*(processor.process_update(u, nothing()) for u in updates))
    assert processor._locks == {}
    assert processor._waiting == {}


async def test_process_update_skips_update_another_live_instance_holds(
    processor: PerChatUpdateProcessor, serial_db: Database
) -> None:
    update = message_update(20, CHAT_A)
    serial_db.run_sync(
        claim_update, update_id=20, payload=update.to_json(), worker="other", lease=LEASE
    )
    ran = False

    async def handler() -> None:
        nonlocal ran
        ran = True

    await processor.process_update(update, handler())
    assert ran is False
    assert status(serial_db, 20) == InboxStatus.PENDING  # the other instance finishes it


async def test_maintain_marks_what_finished_while_the_database_was_away(
    processor: PerChatUpdateProcessor, serial_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    def database_away(*_args: object, **_kwargs: object) -> None:
        raise OperationalError("UPDATE", {}, Exception("connection refused"))

    async def nothing() -> None:
        return None

    with monkeypatch.context() as patch:
        patch.setattr(inbox_writer, "mark_handled", database_away)
        await processor.process_update(message_update(21, CHAT_A), nothing())
    assert status(serial_db, 21) == InboxStatus.PENDING
    await processor.maintain()
    assert status(serial_db, 21) == InboxStatus.DONE


async def test_an_update_this_instance_recorded_starts_without_a_claim(
    serial_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    update = message_update(8, CHAT_A)
    inbox = InboxWriter(serial_db, WORKER, LEASE)
    await inbox.record([update])
    claims: list[int] = []

    def counting_claim(session: object, **kwargs: object) -> bool:
        claims.append(int(kwargs["update_id"]))  # type: ignore[call-overload]
        return claim_update(session, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(processing, "claim_update", counting_claim)
    handled: list[int] = []

    async def handle() -> None:
        handled.append(8)

    async with PerChatUpdateProcessor(serial_db, inbox) as update_processor:
        await update_processor.process_update(update, handle())
        assert (claims, handled, inbox.take(8)) == ([], [8], False)
        await update_processor.process_update(update, handle())  # Telegram sends it again
    assert claims == [8], "a repeat is claimed (and found done)"
    assert handled == [8]
    assert status(serial_db, 8) == InboxStatus.DONE


async def test_an_update_behind_a_dead_instances_update_handles_that_one_first(
    serial_db: Database,
) -> None:
    """Instance "dead" accepted update 30 of the chat and was killed before handling it; 31
    reaches this instance. Once 30's lease runs out this instance takes it over and handles
    it, then 31: handled after 31, 30 was refused as already past (the member's phone
    number was lost)."""
    earlier, later = message_update(30, CHAT_A), message_update(31, CHAT_A)
    serial_db.run_sync(
        record_received,
        updates=[Received(30, earlier.to_json(), CHAT_A)],
        worker="dead",
        lease=LEASE,
    )
    inbox = InboxWriter(serial_db, WORKER, LEASE, in_chat_order=True)
    await inbox.record([later])

    def lease_ran_out(session: Session) -> None:
        session.get_one(InboxUpdate, 30).claimed_until = utcnow()

    serial_db.run_sync(lease_ran_out)
    handled: list[int] = []

    async def replay(payload: str) -> None:
        handled.append(json.loads(payload)["update_id"])

    async def handle_later() -> None:
        handled.append(31)

    async with PerChatUpdateProcessor(serial_db, inbox) as update_processor:
        update_processor.replay_with(replay)
        async with asyncio.timeout(GUARD_S):
            await update_processor.process_update(later, handle_later())
    assert handled == [30, 31]
    assert (status(serial_db, 30), status(serial_db, 31)) == (InboxStatus.DONE,) * 2
