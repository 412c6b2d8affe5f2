"""Recording accepted updates in the inbox, leased to this instance, off the reply's path.

Telegram takes an update as delivered once the next getUpdates confirms it (or the webhook
answered 200): the record must be durable by then, not before the handler starts.

* Webhook: `record` writes before PTB answers 200 (`bot.telegram_bot.InboxQueue`).
* Polling: only one poller exists, so every row in the inbox was there when this run started
  or was recorded by this run. An update id between the newest id this run recorded and the
  next id the inbox already holds cannot be in the inbox: `record_polled` writes such updates
  in the background while they are handled, and `flush` (before the next getUpdates) waits
  for the write. Any other id (the first batch after a start, which may re-deliver what a
  crashed run received, or Telegram restarting its ids after a week of silence) is recorded
  before handling, and that write re-learns the free range.

The processor starts an update this instance holds without claiming it (`take`) and marks it
handled only after its record is written (`written`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from telegram import Update

from storage.db import Database
from storage.inbox import (
    Received,
    next_update_id_after,
    record_in_chat_order,
    record_received,
)

logger = logging.getLogger(__name__)


class InboxWriter:
    """One per application, shared by the bot, the webhook queue and the update processor."""

    def __init__(
        self, db: Database, worker: str, lease: timedelta, *, in_chat_order: bool = False
    ) -> None:
        self._db = db
        self.worker = worker
        self._lease = lease
        # Several instances (webhook mode): note updates queued behind an earlier update of
        # their chat that another instance is handling (`storage.inbox.record_in_chat_order`).
        self._in_chat_order = in_chat_order
        self._held: set[int] = set()  # recorded (or being recorded) by us, not yet started
        self._behind: set[int] = set()
        self._writes: dict[int, asyncio.Future[Any]] = {}
        # Ids strictly between these cannot be in the inbox (see the module docstring).
        self._newest: int | None = None
        self._next_taken: int | None = None

    async def record(self, updates: Sequence[Update]) -> None:
        """Record `updates` now; the new ones are held for this instance."""
        self._held |= await self._write(updates) or set()

    async def record_polled(self, updates: Sequence[Update]) -> None:
        """Record a polled batch: new ids in the background, the others before returning."""
        new = [u for u in updates if self._surely_new(u.update_id)]
        if maybe_seen := [u for u in updates if not self._surely_new(u.update_id)]:
            await self.record(maybe_seen)
            newest = max(u.update_id for u in maybe_seen)
            if self._newest is None or newest > self._newest:
                self._newest = newest
                self._next_taken = await self._read_next_taken(newest)
        if new:
            ids = {u.update_id for u in new}
            self._held |= ids
            write = asyncio.ensure_future(self._write_new(new))
            for update_id in ids:
                self._writes[update_id] = write
            write.add_done_callback(lambda _done: self._forget(ids))
            self._newest = max(self._newest or 0, *ids)

    async def flush(self) -> None:
        """Wait for the background writes: what the next getUpdates confirms is recorded."""
        if self._writes:  # `wait`, not `gather`: a cancelled poll must not cancel the writes
            await asyncio.wait(set(self._writes.values()))

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

    def _forget(self, ids: set[int]) -> None:
        for update_id in ids:
            self._writes.pop(update_id, None)

    async def _write_new(self, updates: Sequence[Update]) -> None:
        fresh = await self._write(updates)
        if fresh is None:
            return
        if repeats := sorted(u.update_id for u in updates if u.update_id not in fresh):
            # Only another poller (two runs overlapping in a restart) can cause this.
            logger.warning(
                "handled updates another run had recorded", extra={"update_ids": repeats}
            )

    async def _write(self, updates: Sequence[Update]) -> set[int] | None:
        """Record `updates` leased to us; log repeats; survive a database outage.

        Returns the ids recorded as new, None if the database is down: the updates are then
        handled without a record, the handlers meet the outage and tell the member to try
        again."""
        batch = [Received(u.update_id, u.to_json(), chat_of(u)) for u in updates]
        try:
            if self._in_chat_order:
                recorded, behind = await self._db.run(
                    record_in_chat_order, updates=batch, worker=self.worker, lease=self._lease
                )
                self._behind |= behind
            else:
                recorded = await self._db.run(
                    record_received, updates=batch, worker=self.worker, lease=self._lease
                )
            fresh = set(recorded)
        except SQLAlchemyError as exc:
            logger.warning("database unavailable, handling updates without the inbox: %s", exc)
            return None
        if repeats := [u.update_id for u in updates if u.update_id not in fresh]:
            logger.info("Telegram re-delivered updates", extra={"update_ids": repeats})
        return fresh

    async def _read_next_taken(self, update_id: int) -> int | None:
        try:
            return await self._db.read(next_update_id_after, update_id=update_id)
        except SQLAlchemyError:
            return update_id + 1  # unknown: the next batch is recorded before handling too


def chat_of(update: Update) -> int | None:
    """The chat an update belongs to (else its user): what one member's updates share."""
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return None
