"""Update processing: one chat at a time in order, many chats at once, each update once.

PTB runs updates strictly one after another by default (~20/s with a 50 ms Telegram round
trip), and `concurrent_updates=True` breaks the order of a conversation. This processor keeps
a lock per chat: a member's steps run in order while other members are served in parallel.
Before handling, the update is claimed in the inbox (a lease for this instance, see
`storage.inbox`); one already handled, or held by another live instance, is skipped. With
several instances (webhook mode) the lock spans them too: an update whose chat's earlier
update is being handled at another instance waits for it (`_earlier_first`). If that
instance died, the earlier update is taken over and handled here as soon as its lease runs
out, before the later one: handled after it, it would have been refused as already past.

Leases (`[instances] update_lease_seconds`) are kept alive by `maintain`, which
`bot.inbox_leases` runs every `renew_every`: it renews this instance's leases and marks done
what finished while the database was away.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.inbox_writer import InboxWriter, chat_of
from storage.db import Database
from storage.inbox import claim_update, earliest_pending, holds_pending, mark_handled, renew_leases
from storage.models import InboxUpdate, utcnow

logger = logging.getLogger(__name__)

# Three renewals fit in a lease: a busy or briefly stalled instance keeps what it holds, and a
# dead one's updates are taken over a lease later (at once by the chat's next update waiting
# for them, else by the next replay tick: within a lease and a third).
RENEWALS_PER_LEASE = 3
ORDER_POLL_S = 0.05


def chat_key(update: object) -> object:
    """What must be serialised: the chat, else the user (inline queries), else the update."""
    if isinstance(update, Update):
        if update.effective_chat is not None:
            return ("chat", update.effective_chat.id)
        if update.effective_user is not None:
            return ("user", update.effective_user.id)
        return ("update", update.update_id)
    return ("object", id(update))


class PerChatUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, db: Database, inbox: InboxWriter, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self._db = db
        # What this instance recorded in the inbox is leased to itself (bot.inbox_writer):
        # started without a claim, one write transaction less per update.
        self._inbox = inbox
        self.worker = inbox.worker
        self.lease = inbox.lease
        self.renew_every = inbox.lease / RENEWALS_PER_LEASE
        # How long an update waits for its chat's earlier update while another instance renews
        # its lease (alive but slow): a lease, and a renewal's margin for clocks that differ.
        self._order_wait = self.lease + self.renew_every
        self._locks: dict[object, asyncio.Lock] = {}
        self._waiting: dict[object, int] = {}
        self._unmarked: set[int] = set()  # handled, but the database was away to record it
        self._replay: Callable[[str], Awaitable[Any]] | None = None

    def replay_with(self, handle: Callable[[str], Awaitable[Any]]) -> None:
        """How a taken-over update's stored payload is run through the application's
        handlers (the application is built after its processor)."""
        self._replay = handle

    async def initialize(self) -> None:
        """Nothing to allocate: locks are made per chat on demand."""

    async def shutdown(self) -> None:
        self._locks.clear()
        self._waiting.clear()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = chat_key(update)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                await self._process_once(update, coroutine)
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key], self._locks[key]

    async def _process_once(self, update: object, coroutine: Awaitable[Any]) -> None:
        if not isinstance(update, Update):
            await coroutine
            return
        fresh = update.update_id not in self._unmarked and (
            self._inbox.take(update.update_id) or await self._claim(update)
        )
        if not fresh:
            logger.info(
                "skipping an update handled before or elsewhere",
                extra={"update_id": update.update_id},
            )
            if inspect.iscoroutine(coroutine):
                coroutine.close()
            return
        if self._inbox.queued_behind(update.update_id):
            await self._earlier_first(update)
        try:
            await coroutine
        finally:
            try:
                await self._inbox.finish(update.update_id)
            except Exception:
                logger.exception(
                    "could not mark update handled; will retry",
                    extra={"update_id": update.update_id},
                )
                self._unmarked.add(update.update_id)

    async def _earlier_first(self, update: Update) -> None:
        """Let this chat's earlier updates be handled first (webhook mode).

        One another live instance holds is waited for, up to a lease and a renewal; one whose
        lease ran out (its instance died) or that nobody holds is taken over and handled here
        now."""
        chat_id = chat_of(update)
        assert chat_id is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._order_wait.total_seconds()
        while True:
            try:
                earlier = await self._db.read(
                    earliest_pending, chat_id=chat_id, update_id=update.update_id
                )
                if earlier is None or earlier.update_id in self._unmarked:
                    return
                if not _held_elsewhere(earlier, self.worker) and await self._take_over(earlier):
                    continue
            except Exception:  # the database is away: go on, the handler reports it
                logger.exception("could not check the chat's earlier updates")
                return
            if loop.time() >= deadline:
                logger.warning(
                    "started an update while an earlier one of its chat is still handled "
                    "elsewhere",
                    extra={"update_id": update.update_id, "chat_id": chat_id},
                )
                return
            await asyncio.sleep(ORDER_POLL_S)

    async def _take_over(self, earlier: InboxUpdate) -> bool:
        """Lease `earlier` to this instance and handle it now; False if another took it."""
        assert self._replay is not None, "replay_with was not called"
        taken = await self._db.run(
            claim_update,
            update_id=earlier.update_id,
            payload=earlier.payload,
            chat_id=earlier.chat_id,
            worker=self.worker,
            lease=self.lease,
        )
        if not taken:
            return False
        logger.info(
            "handling an earlier update of the chat first", extra={"update_id": earlier.update_id}
        )
        self._inbox.take(earlier.update_id)  # a copy of it queued here is then found done
        try:
            await self._replay(earlier.payload)
        finally:
            try:
                await self._inbox.finish(earlier.update_id)
            except Exception:
                logger.exception(
                    "could not mark update handled; will retry",
                    extra={"update_id": earlier.update_id},
                )
                self._unmarked.add(earlier.update_id)
        return True

    async def _claim(self, update: Update) -> bool:
        """Take an update this instance did not record itself (a repeat, or a replay)."""
        try:
            return await self._db.run(
                claim_update,
                update_id=update.update_id,
                payload=update.to_json(),
                chat_id=chat_of(update),
                worker=self.worker,
                lease=self.lease,
            )
        except Exception:  # the database is down: handle anyway, handlers report the outage
            logger.exception("could not claim update", extra={"update_id": update.update_id})
            return True

    async def maintain(self) -> None:
        """Renew this instance's leases and record what finished during a database outage.

        An update whose handling ended while the database was away stays leased to us (and
        renewed) until it is marked, so no other instance replays what the member was already
        answered about."""
        if self._unmarked:
            done = set(self._unmarked)
            await self._db.run(mark_handled, update_ids=done)
            self._unmarked -= done
        if await self._db.read(holds_pending, worker=self.worker):  # idle: no write
            await self._db.run(renew_leases, worker=self.worker, lease=self.lease)


def _held_elsewhere(row: InboxUpdate, worker: str) -> bool:
    """Another instance holds it and is alive (renews its lease)."""
    return (
        row.claimed_by != worker and row.claimed_until is not None and row.claimed_until > utcnow()
    )
