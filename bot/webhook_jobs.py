"""Posting the webhook outbox: signed, bounded, never in the chat's way.

Every tick of the `deliver-webhooks` job (`handlers.webhooks`) makes sure one pass is running.
A pass claims due deliveries in batches of `ROUNDS` x `max_concurrency` under one lease
(`storage.webhook_deliveries.claim_due`), posts them `max_concurrency` at a time over one
pooled aiohttp client session with a short timeout, and records the batch's answers in one
transaction: 2xx delivered, anything else (another status, a timeout, a refused connection)
retried with backoff for a day. Handlers never wait for it: the pass is a background task on
the event loop, its database calls go through the same worker threads as every other query,
and a slow receiver only holds its own POSTs.

Throughput (`python -m bench webhooks`, 2,000 events): with httpx and batches as large as
the POSTs that ran at once (8), a local receiver got 13-52 events/s. Two costs dominated:
the two transactions around each small batch, and httpx itself (its pool checks every
connection's socket on each request: ~3 ms of CPU a POST here, against ~0.3 ms with
aiohttp's client). Batches of `ROUNDS` rounds and aiohttp gave 189-204/s from the bot's
start on the same loaded machine, and 917/s (2,000 events) and 1,502/s (10,000) on a quiet one
(bench/RESULTS.md). A batch holds at most one event per record and endpoint
(the claim holds later ones back while an earlier one is on its way), so order per record is
kept however the batch's POSTs interleave.

The lease covers the batch's rounds of POSTs (two timeouts and a margin a round, for the
rounds the batch claimed needs: one for a single event), so in normal operation a delivery
is posted once. A bot killed mid-POST leaves the claim to expire and another pass (this
instance after restart, or another) posts it again: at least once across crashes, with the
same `webhook-id`, so receivers can drop the repeat.

Signing follows Standard Webhooks with the `standardwebhooks` package: `webhook-id` (the
event id), `webhook-timestamp` (seconds, the time of this attempt) and `webhook-signature`
(`v1,` HMAC-SHA256 of "id.timestamp.body" with the endpoint's secret).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from standardwebhooks import Webhook

from bot.ticker import worker_id
from bot.whole_config import config_of
from handlers.context import SERVICES_KEY
from handlers.services import Services
from storage.webhook_deliveries import (
    Outcome,
    Outgoing,
    any_due,
    claim_due,
    record_outcomes,
)

logger = logging.getLogger(__name__)

STATE_KEY = "webhooks"
USER_AGENT = "crm-entry-bot-webhooks/1"
LEASE_MARGIN = timedelta(seconds=10)  # beyond the POSTs: the database calls around them
ROUNDS = 8  # a claimed batch is this many rounds of `max_concurrency` POSTs
ERROR_READ = 1200  # bytes of a refusing receiver's answer read (300 characters are kept)


@dataclass
class WebhookState:
    worker: str
    client: aiohttp.ClientSession
    timeout: float
    batch: int
    lease: timedelta  # for each round of `posting_at_once` POSTs
    posting_at_once: int
    posting: asyncio.Semaphore


def install(application: Any) -> None:
    """One HTTP session per running bot, with as many connections as POSTs run at once.
    Called from `post_init`, on the running loop the session belongs to."""
    settings = config_of(application.bot_data[SERVICES_KEY]).webhooks
    client = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=settings.max_concurrency),
        timeout=aiohttp.ClientTimeout(total=settings.timeout_seconds),
        headers={"user-agent": USER_AGENT},
    )
    application.bot_data[STATE_KEY] = WebhookState(
        worker=worker_id(),
        client=client,
        timeout=settings.timeout_seconds,
        batch=ROUNDS * settings.max_concurrency,
        lease=2 * timedelta(seconds=settings.timeout_seconds) + LEASE_MARGIN,
        posting_at_once=settings.max_concurrency,
        posting=asyncio.Semaphore(settings.max_concurrency),
    )


async def shutdown(application: Any) -> None:
    state: WebhookState | None = application.bot_data.pop(STATE_KEY, None)
    if state is not None:
        await state.client.close()


async def run_pass(application: Any) -> int:
    """Post everything due now, batch after batch; the number delivered."""
    state: WebhookState = application.bot_data[STATE_KEY]
    services: Services = application.bot_data[SERVICES_KEY]
    delivered = 0
    if not await services.db.read(any_due, now=services.clock()):
        return 0  # the usual pass: nothing due, found without the write lock
    while application.running:
        batch = await services.db.run(
            claim_due,
            now=services.clock(),
            worker=state.worker,
            limit=state.batch,
            lease=state.lease,
            per_lease=state.posting_at_once,
        )
        if not batch:
            break
        outcomes = await asyncio.gather(*(_post(state, outgoing) for outgoing in batch))
        disabled = await services.db.run(
            record_outcomes, worker=state.worker, outcomes=outcomes, at=services.clock()
        )
        delivered += sum(1 for outcome in outcomes if outcome.error is None)
        for url in disabled:  # the admins are told by the reminders recorded with it
            logger.warning("webhook endpoint %s failed for a day: disabled", url)
    if delivered:
        logger.info("delivered %d webhooks", delivered)
    return delivered


def signed_headers(outgoing: Outgoing, at: datetime) -> dict[str, str]:
    signature = Webhook(outgoing.secret).sign(outgoing.event_id, at, outgoing.body)
    return {
        "content-type": "application/json",
        "webhook-id": outgoing.event_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }


async def _post(state: WebhookState, outgoing: Outgoing) -> Outcome:
    async with state.posting:  # no POST waits for a pooled connection (that wait times out)
        return await _post_now(state, outgoing)


async def _post_now(state: WebhookState, outgoing: Outgoing) -> Outcome:
    # Signed with the real time, not the injectable clock: receivers check it against theirs.
    headers = signed_headers(outgoing, datetime.now(UTC))
    try:
        async with state.client.post(
            outgoing.url, data=outgoing.body, headers=headers, allow_redirects=False
        ) as response:
            status, answer = response.status, await response.content.read(ERROR_READ)
    except (aiohttp.ClientError, TimeoutError) as exc:
        error = f"{type(exc).__name__}: {exc}".strip().removesuffix(":")
        logger.info("webhook %s to %s failed: %s", outgoing.event_id, outgoing.url, error)
        return Outcome(outgoing.delivery_id, None, error)
    if 200 <= status < 300:
        return Outcome(outgoing.delivery_id, status)
    error = f"HTTP {status}: {answer.decode(errors='replace')[:300]}"
    logger.info("webhook %s to %s failed: %s", outgoing.event_id, outgoing.url, error)
    return Outcome(outgoing.delivery_id, status, error)
