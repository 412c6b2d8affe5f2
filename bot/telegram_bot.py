"""The bot object: PTB's ExtBot plus a durable inbox and a patient start-up.

* `get_updates` records each batch in the inbox before PTB confirms it to Telegram. Repeats
  (Telegram re-delivers after a crash) are returned too, so PTB confirms them; the update
  processor then skips the ones already handled.
* `initialize` retries `getMe` with backoff, so a network outage at start-up delays the bot
  instead of killing it (PTB would exit on the first failure).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from typing import Any

from telegram import Update
from telegram.error import InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import ExtBot

from storage.db import Database
from storage.inbox import record_received

logger = logging.getLogger(__name__)

STARTUP_BACKOFF_MAX_S = 60.0


class CrmBot(ExtBot[None]):
    startup_first_delay_s = 1.0

    def __init__(self, *args: Any, db: Database, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._db = db

    async def get_updates(self, *args: Any, **kwargs: Any) -> tuple[Update, ...]:
        updates = await super().get_updates(*args, **kwargs)
        if not updates:
            return updates
        fresh = set(
            await self._db.run(
                record_received, updates=[(u.update_id, u.to_json()) for u in updates]
            )
        )
        if repeats := [u.update_id for u in updates if u.update_id not in fresh]:
            logger.info("Telegram re-delivered updates", extra={"update_ids": repeats})
        return updates

    async def initialize(self) -> None:
        delay = self.startup_first_delay_s
        while True:
            try:
                await super().initialize()
                return
            except InvalidToken:
                raise
            except RetryAfter as exc:
                wait = float(
                    exc.retry_after
                    if isinstance(exc.retry_after, int | float)
                    else exc.retry_after.total_seconds()
                )
                logger.warning("Bot API asks to wait %.0f s before start-up", wait)
                await asyncio.sleep(wait)
            except (NetworkError, TimedOut) as exc:
                logger.warning(
                    "Bot API not reachable at start-up (%s); retrying in %.0f s", exc, delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, STARTUP_BACKOFF_MAX_S)


def updates_from_payloads(payloads: Sequence[str], bot: ExtBot[None]) -> list[Update]:
    """Rebuild stored updates, for replaying the inbox after a crash."""
    return [Update.de_json(json.loads(payload), bot) for payload in payloads]
