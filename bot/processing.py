"""Update processing: one chat at a time in order, many chats at once, each update once.

PTB runs updates strictly one after another by default (~20/s with a 50 ms Telegram round
trip), and `concurrent_updates=True` breaks the order of a conversation. This processor keeps
a lock per chat: a member's steps run in order while other members are served in parallel.
Before handling, the update is claimed in the inbox; one already handled is skipped.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from storage.db import Database
from storage.inbox import claim_update, mark_handled

logger = logging.getLogger(__name__)


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
    def __init__(self, db: Database, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self._db = db
        self._locks: dict[object, asyncio.Lock] = {}
        self._waiting: dict[object, int] = {}

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
        try:
            fresh = await self._db.run(
                claim_update, update_id=update.update_id, payload=update.to_json()
            )
        except Exception:  # the database is down: handle anyway, handlers report the outage
            logger.exception("could not claim update", extra={"update_id": update.update_id})
            fresh = True
        if not fresh:
            logger.info("skipping an update handled before", extra={"update_id": update.update_id})
            if inspect.iscoroutine(coroutine):
                coroutine.close()
            return
        try:
            await coroutine
        finally:
            try:
                await self._db.run(mark_handled, update_id=update.update_id)
            except Exception:
                logger.exception(
                    "could not mark update handled", extra={"update_id": update.update_id}
                )
