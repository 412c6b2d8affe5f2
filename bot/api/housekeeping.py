"""The API's own clean-up while `crm-bot api` runs: it forgets remembered answers to keyed
creates older than `IDEMPOTENCY_RETENTION`, as `crm-bot run` does every six hours, so an
API serving without the bot (or in front of it on another machine) keeps the table small."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from storage.api_tokens import prune_idempotent
from storage.db import Database, is_unavailable

logger = logging.getLogger(__name__)

PRUNE_EVERY = timedelta(hours=6)
FIRST_PRUNE = timedelta(minutes=1)  # after the start, off the start's own work


async def prune_forever(
    db: Database, *, every: timedelta = PRUNE_EVERY, first: timedelta = FIRST_PRUNE
) -> None:
    """Prune now and then until cancelled; a database that does not answer waits a turn."""
    await asyncio.sleep(first.total_seconds())
    while True:
        try:
            forgotten = await db.run(prune_idempotent)
            logger.info("pruned %d idempotency keys of the API", forgotten)
        except Exception as exc:  # noqa: BLE001 - the pass must outlive any one failure
            if is_unavailable(exc):
                logger.warning("idempotency keys not pruned, database away: %s", exc)
            else:
                logger.exception("idempotency keys not pruned")
        await asyncio.sleep(every.total_seconds())


def pruning(db: Database) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """A FastAPI lifespan running `prune_forever` while the app serves."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(prune_forever(db), name="prune-idempotency-keys")
        try:
            yield
        finally:
            task.cancel()

    return lifespan
