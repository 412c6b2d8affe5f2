"""Retries for the bot's answers to members when the Bot API has a bad moment.

PTB never retries a failed call; AIORateLimiter retries only a 429 (docs/stack-facts.md). During a
Telegram hiccup (5xx, a refused or dropped connection) an answer to a member would be lost
with the update already handled. `RetryingRateLimiter` keeps AIORateLimiter's pacing and 429
handling and adds a few retries with exponential backoff for errors that say the request was
not carried out. A timeout is different: the request may have arrived (the Bot API has no
idempotency key), so only calls that are harmless to repeat (edits, deletes, reads, answering
a button) are retried after one; a timed-out send is not, so no member gets an answer twice.

Scheduled messages do not come through here: `bot.sender` records its own retries in the
database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.ext import AIORateLimiter

logger = logging.getLogger(__name__)

ATTEMPTS = 6
FIRST_DELAY_S = 0.5
MAX_DELAY_S = 8.0  # 0.5 + 1 + 2 + 4 + 8: about 15 s of Telegram trouble is ridden out
_REPEATABLE_PREFIXES = ("edit", "delete", "get", "answer", "set")


def repeatable(endpoint: str) -> bool:
    """Whether calling `endpoint` twice does no more harm than once."""
    return endpoint.startswith(_REPEATABLE_PREFIXES)


class RetryingRateLimiter(AIORateLimiter):
    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        delay = FIRST_DELAY_S
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
            except BadRequest:
                raise
            except TimedOut:
                if attempt == ATTEMPTS or not repeatable(endpoint):
                    raise
                logger.warning("%s timed out; retrying in %.1f s", endpoint, delay)
            except NetworkError as exc:  # 5xx, connection refused or reset: not carried out
                if attempt == ATTEMPTS:
                    raise
                logger.warning("%s failed (%s); retrying in %.1f s", endpoint, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_DELAY_S)
        raise AssertionError("unreachable: the last attempt returns or raises")
