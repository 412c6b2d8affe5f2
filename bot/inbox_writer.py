"""Recording accepted updates in the inbox, leased to this instance, off the reply's path.

Telegram takes an update as delivered once the next getUpdates confirms it (or the webhook
answered 200): the record must be durable by then, not before the handler starts.

* Webhook: `record` writes before PTB answers 200 (`bot.telegram_bot.InboxQueue`).
* Polling: only one poller exists, so every row in the inbox was there when this run started
  or was recorded by this run. An update id between the newest id this run recorded and the
  next id the inbox already holds cannot be in the inbox: such an update is handled at once
  and recorded after its answer, already handled, in one write (`finish`). `flush`, before
  the next getUpdates, gives the updates still being handled `DEFER_S` from their poll, then
  records the rest as pending and waits for every write. Any other id (the first batch after
  a start, which may re-deliver what a crashed run received, or Telegram restarting its ids
  after a week of silence) is recorded before handling, and that write re-learns the free
  range.

A crash before an update's record leaves it unconfirmed at Telegram, which delivers it again
after the restart: nothing is lost, and what it had changed is recognised as done (drafts
keep the update they applied; saves are revision-checked).

The processor starts an update this instance holds without claiming it (`take`) and records
it handled with `finish`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from telegram import Update

from storage.db import Database
from storage.inbox import (
    Received,
    mark_handled,
    next_update_id_after,
    record_in_chat_order,
    record_received,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")

# How long the next getUpdates waits for the updates of the last poll to be answered (and so
# recorded in one write, as handled) before it records the rest as pending. Most answers take
# 5-20 ms; an update arriving meanwhile waits at most this long for the poll that fetches it.
DEFER_S = 0.05


class InboxWriter:
    """One per application, shared by the bot, the webhook queue and the update processor."""

    def __init__(
        self, db: Database, worker: str, lease: timedelta, *, in_chat_order: bool = False
    ) -> None:
        self._db = db
        self.worker = worker
        self.lease = lease
        # Several instances (webhook mode): note updates queued behind an earlier update of
        # their chat that another instance is handling (`storage.inbox.record_in_chat_order`).
        self._in_chat_order = in_chat_order
        self._held: set[int] = set()  # recorded (or being recorded) by us, not yet started
        self._behind: set[int] = set()
        self._writes: dict[int, asyncio.Future[Any]] = {}
        # Polled, surely new and not written yet: (deadline on the loop's clock, the update).
        self._unwritten: dict[int, tuple[float, Update]] = {}
        self._all_taken = asyncio.Event()  # set while `_unwritten` is empty
        self._all_taken.set()
        # Ids strictly between these cannot be in the inbox (see the module docstring).
        self._newest: int | None = None
        self._next_taken: int | None = None

    async def record(self, updates: Sequence[Update]) -> None:
        """Record `updates` now; the new ones are held for this instance."""
        self._held |= await self._write(updates) or set()

    async def record_polled(self, updates: Sequence[Update]) -> None:
        """Record a polled batch: new ids once handled (`finish`) or at the next poll (`flush`),
        the others before returning."""
        new = [u for u in updates if self._surely_new(u.update_id)]
        if maybe_seen := [u for u in updates if not self._surely_new(u.update_id)]:
            await self.record(maybe_seen)
            newest = max(u.update_id for u in maybe_seen)
            if self._newest is None or newest > self._newest:
                self._newest = newest
                self._next_taken = await self._read_next_taken(newest)
        if new:
            deadline = asyncio.get_running_loop().time() + DEFER_S
            for update in new:
                self._unwritten[update.update_id] = (deadline, update)
            self._all_taken.clear()
            self._held |= {u.update_id for u in new}
            self._newest = max(self._newest or 0, *(u.update_id for u in new))

    async def flush(self) -> None:
        """Before the next getUpdates confirms the last batch: record all of it.

        Updates still being handled get until `DEFER_S` after their poll to be finished (one
        write each, as handled); the others are then recorded as pending."""
        if self._unwritten:
            oldest, _ = next(iter(self._unwritten.values()))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(oldest):
                    await self._all_taken.wait()
            if self._unwritten:
                self._start_write(list(self._unwritten), self._write_new)
        if self._writes:  # `wait`, not `gather`: a cancelled poll must not cancel the writes
            await asyncio.wait(set(self._writes.values()))

    async def finish(self, update_id: int) -> None:
        """Record that `update_id` was handled: with its record in one write if it has none."""
        if update_id in self._unwritten:
            write = self._start_write([update_id], self._write_handled)
            await asyncio.wait([write])  # a cancelled handler must not cancel the write
            if write.result():
                return
        await self.written(update_id)
        await self._db.run(mark_handled, update_ids=[update_id])

    def queued_behind(self, update_id: int) -> bool:
        """True once if an earlier update of its chat was pending elsewhere when recorded."""
        if update_id in self._behind:
            self._behind.discard(update_id)
            return True
        return False

    def take(self, update_id: int) -> bool:
        """True once for an update this instance recorded: it may start without a claim."""
        if update_id in self._held:
            self._held.discard(update_id)
            return True
        return False

    async def written(self, update_id: int) -> None:
        """Wait until the update's record is in the database (before marking it handled)."""
        if (write := self._writes.get(update_id)) is not None:
            await asyncio.wait([write])

    def _surely_new(self, update_id: int) -> bool:
        return (
            self._newest is not None
            and update_id > self._newest
            and (self._next_taken is None or update_id < self._next_taken)
        )

    def _start_write(
        self, ids: list[int], write: Callable[[list[Received]], Awaitable[T]]
    ) -> asyncio.Future[T]:
        """Take `ids` out of the unwritten and write them in the background with `write`."""
        batch = [_received(self._unwritten.pop(update_id)[1]) for update_id in ids]
        if not self._unwritten:
            self._all_taken.set()
        future = asyncio.ensure_future(write(batch))
        for update_id in ids:
            self._writes[update_id] = future
        future.add_done_callback(lambda _done: self._forget(ids))
        return future

    def _forget(self, ids: list[int]) -> None:
        for update_id in ids:
            self._writes.pop(update_id, None)

    async def _write_new(self, batch: list[Received]) -> None:
        """Record polled updates still being handled, as pending."""
        fresh = await self._write(batch)
        self._warn_if_repeated(batch, fresh)

    async def _write_handled(self, batch: list[Received]) -> bool:
        """Record a polled update after its answer, as handled; False if it was there already
        (then it still needs marking)."""
        try:
            fresh = set(
                await self._db.run(
                    record_received, updates=batch, worker=self.worker, handled=True
                )
            )
        except SQLAlchemyError as exc:
            logger.warning("database unavailable, an answered update goes unrecorded: %s", exc)
            return True  # nothing to mark; like any update handled during an outage
        self._warn_if_repeated(batch, fresh)
        return len(fresh) == len(batch)

    @staticmethod
    def _warn_if_repeated(batch: list[Received], fresh: set[int] | None) -> None:
        if fresh is None:
            return
        if repeats := sorted(r.update_id for r in batch if r.update_id not in fresh):
            # Only another poller (two runs overlapping in a restart) can cause this.
            logger.warning(
                "handled updates another run had recorded", extra={"update_ids": repeats}
            )

    async def _write(self, updates: Sequence[Update | Received]) -> set[int] | None:
        """Record `updates` leased to us; log repeats; survive a database outage.

        Returns the ids recorded as new, None if the database is down: the updates are then
        handled without a record, the handlers meet the outage and tell the member to try
        again."""
        batch = [u if isinstance(u, Received) else _received(u) for u in updates]
        try:
            if self._in_chat_order:
                recorded, behind = await self._db.run(
                    record_in_chat_order, updates=batch, worker=self.worker, lease=self.lease
                )
                self._behind |= behind
            else:
                recorded = await self._db.run(
                    record_received, updates=batch, worker=self.worker, lease=self.lease
                )
            fresh = set(recorded)
        except SQLAlchemyError as exc:
            logger.warning("database unavailable, handling updates without the inbox: %s", exc)
            return None
        if repeats := [r.update_id for r in batch if r.update_id not in fresh]:
            logger.info("Telegram re-delivered updates", extra={"update_ids": repeats})
        return fresh

    async def _read_next_taken(self, update_id: int) -> int | None:
        try:
            return await self._db.read(next_update_id_after, update_id=update_id)
        except SQLAlchemyError:
            return update_id + 1  # unknown: the next batch is recorded before handling too


def _received(update: Update) -> Received:
    return Received(update.update_id, update.to_json(), chat_of(update))


def chat_of(update: Update) -> int | None:
    """The chat an update belongs to (else its user): what one member's updates share."""
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return None
