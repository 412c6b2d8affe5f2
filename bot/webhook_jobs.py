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
from bot.whole_config import config_of
from handlers.context import SERVICES_KEY
from handlers.services import Services
from handlers.webhooks import endpoint_disabled_text
from storage.webhook_deliveries import (
    Outgoing,
    admins_to_tell,
    claim_due,
    mark_delivered,
    mark_failed,
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
        results = await asyncio.gather(
            *(_deliver(application, services, state, outgoing) for outgoing in batch)
        )
        delivered += sum(results)
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


async def _deliver(
    application: Any, services: Services, state: WebhookState, outgoing: Outgoing
) -> int:
    # Signed with the real time, not the injectable clock: receivers check it against theirs.
    headers = signed_headers(outgoing, datetime.now(UTC))
    try:
        response = await state.client.post(outgoing.url, content=outgoing.body, headers=headers)
    except httpx.HTTPError as exc:
        await _failed(application, services, state, outgoing, None, _describe(exc))
        return 0
    if response.is_success:
        await services.db.run(
            mark_delivered,
            delivery_id=outgoing.delivery_id,
            worker=state.worker,
            status_code=response.status_code,
            at=services.clock(),
        )
        return 1
    answer = f"HTTP {response.status_code}: {response.text[:300]}"
    await _failed(application, services, state, outgoing, response.status_code, answer)
    return 0


def _describe(exc: httpx.HTTPError) -> str:
    return f"{type(exc).__name__}: {exc}".strip().removesuffix(":")


async def _failed(
    application: Any,
    services: Services,
    state: WebhookState,
    outgoing: Outgoing,
    status_code: int | None,
    error: str,
) -> None:
    logger.info("webhook %s to %s failed: %s", outgoing.event_id, outgoing.url, error)
    failure = await services.db.run(
        mark_failed,
        delivery_id=outgoing.delivery_id,
        worker=state.worker,
        status_code=status_code,
        error=error,
        at=services.clock(),
    )
    if failure is not None and failure.disabled is not None:
        logger.warning("webhook endpoint %s failed for a day: disabled", failure.disabled)
        await _tell_admins(application, services, failure.disabled)


async def _tell_admins(application: Any, services: Services, url: str) -> None:
    """Each active admin, in their language, through the bot's paced sender."""
    sender = scheduler.state_of(application).sender
    default = services.config.locale.default_language
    for admin in await services.db.read(admins_to_tell):
        t = services.catalogs.translator(admin.language or default)
        await sender.send(admin.telegram_id, endpoint_disabled_text(t, url))
