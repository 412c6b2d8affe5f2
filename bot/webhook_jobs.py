"""Posting the webhook outbox: signed, bounded, never in the chat's way.

Every tick of the `deliver-webhooks` job (`handlers.webhooks`) makes sure one pass is running.
A pass claims due deliveries in batches of `max_concurrency` under a lease
(`storage.webhook_deliveries.claim_due`), posts them at once with an async httpx client and a
short timeout, and records each answer: 2xx delivered, anything else (another status, a
timeout, a refused connection) retried with backoff for a day. Handlers never wait for it: the
pass is a background task on the event loop, its database calls go through the same worker
threads as every other query, and a slow receiver only holds its own POST.

Each batch is no larger than the number of POSTs that run at once, so each POST starts as
soon as it is claimed and ends within the timeout, well inside the lease: in normal operation
a delivery is posted once. A bot killed mid-POST leaves the claim to expire and another pass
(this instance after restart, or another) posts it again: at least once across crashes, with
the same `webhook-id`, so receivers can drop the repeat.

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

import httpx
from standardwebhooks import Webhook

from bot import scheduler
from bot.ticker import worker_id
from bot.tls import client_tls_context
from bot.whole_config import config_of
from handlers.context import SERVICES_KEY
from handlers.services import Services
from handlers.webhooks import endpoint_disabled_text
from storage.webhook_deliveries import (
    Outcome,
    Outgoing,
    admins_to_tell,
    claim_due,
    record_outcomes,
)

logger = logging.getLogger(__name__)

STATE_KEY = "webhooks"
USER_AGENT = "crm-entry-bot-webhooks/1"
LEASE_MARGIN = timedelta(seconds=10)  # beyond two timeouts: the database calls around a POST


@dataclass
class WebhookState:
    worker: str
    client: httpx.AsyncClient
    timeout: float
    batch: int
    lease: timedelta


def install(application: Any) -> None:
    """One HTTP client per running bot, with as many connections as POSTs run at once."""
    settings = config_of(application.bot_data[SERVICES_KEY]).webhooks
    client = httpx.AsyncClient(
        timeout=settings.timeout_seconds,
        limits=httpx.Limits(max_connections=settings.max_concurrency),
        headers={"user-agent": USER_AGENT},
        follow_redirects=False,
        verify=client_tls_context(),
    )
    application.bot_data[STATE_KEY] = WebhookState(
        worker=worker_id(),
        client=client,
        timeout=settings.timeout_seconds,
        batch=settings.max_concurrency,
        lease=2 * timedelta(seconds=settings.timeout_seconds) + LEASE_MARGIN,
    )


async def shutdown(application: Any) -> None:
    state: WebhookState | None = application.bot_data.pop(STATE_KEY, None)
    if state is not None:
        await state.client.aclose()


async def run_pass(application: Any) -> int:
    """Post everything due now, batch after batch; the number delivered."""
    state: WebhookState = application.bot_data[STATE_KEY]
    services: Services = application.bot_data[SERVICES_KEY]
    delivered = 0
    while application.running:
        batch = await services.db.run(
            claim_due,
            now=services.clock(),
            worker=state.worker,
            limit=state.batch,
            lease=state.lease,
        )
        if not batch:
            break
        outcomes = await asyncio.gather(*(_post(state, outgoing) for outgoing in batch))
        disabled = await services.db.run(
            record_outcomes, worker=state.worker, outcomes=outcomes, at=services.clock()
        )
        delivered += sum(1 for outcome in outcomes if outcome.error is None)
        for url in disabled:
            logger.warning("webhook endpoint %s failed for a day: disabled", url)
            await _tell_admins(application, services, url)
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
    # Signed with the real time, not the injectable clock: receivers check it against theirs.
    headers = signed_headers(outgoing, datetime.now(UTC))
    try:
        response = await state.client.post(outgoing.url, content=outgoing.body, headers=headers)
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}".strip().removesuffix(":")
        logger.info("webhook %s to %s failed: %s", outgoing.event_id, outgoing.url, error)
        return Outcome(outgoing.delivery_id, None, error)
    if response.is_success:
        return Outcome(outgoing.delivery_id, response.status_code)
    error = f"HTTP {response.status_code}: {response.text[:300]}"
    logger.info("webhook %s to %s failed: %s", outgoing.event_id, outgoing.url, error)
    return Outcome(outgoing.delivery_id, response.status_code, error)


async def _tell_admins(application: Any, services: Services, url: str) -> None:
    """Each active admin, in their language, through the bot's paced sender."""
    sender = scheduler.state_of(application).sender
    default = services.config.locale.default_language
    for admin in await services.db.read(admins_to_tell):
        t = services.catalogs.translator(admin.language or default)
        await sender.send(admin.telegram_id, endpoint_disabled_text(t, url))
