"""The inbox across instances: this process's worker id, lease upkeep, and the replay.

Every instance records each update it receives in the inbox, leased to itself (see
`storage.inbox`). Every third of the lease (`[instances] update_lease_seconds`) this ticker
renews those leases and then replays what nobody holds: updates of an instance that died (its
leases ran out) or that were recorded without a lease. So a survivor handles a dead
instance's backlog within about a lease plus one tick. A polling bot (always a single
instance) replays everything pending at start. On a clean stop the instance gives its leases
back, so nothing waits for them to run out.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from bot.config import Mode
from bot.processing import PerChatUpdateProcessor
from bot.telegram_bot import updates_from_payloads
from bot.whole_config import config_of
from handlers.context import SERVICES_KEY, CrmContext
from handlers.services import Services
from storage.inbox import any_stale, claim_stale, release_leases

logger = logging.getLogger(__name__)

JOB_KWARGS: dict[str, Any] = {"misfire_grace_time": 60, "coalesce": True, "max_instances": 1}


def new_worker_id() -> str:
    """Unique per running application: host, process and a random part (tests run two
    applications in one process)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def install(application: Any) -> None:
    assert application.job_queue is not None
    every = _processor(application).renew_every
    application.job_queue.run_repeating(
        _tick, interval=every, first=every, name="inbox-leases", job_kwargs=JOB_KWARGS
    )


def _processor(application: Any) -> PerChatUpdateProcessor:
    processor = application.update_processor
    assert isinstance(processor, PerChatUpdateProcessor)
    return processor


async def replay_at_start(application: Any) -> int:
    """Polling means a single instance (Telegram refuses a second poller with 409), so every
    pending update was left by this bot's previous run: replay it now, leased or not. In
    webhook mode other instances may be alive and holding theirs."""
    services: Services = application.bot_data[SERVICES_KEY]
    polling = config_of(services).telegram.mode is Mode.POLLING
    return await replay_stale(application, include_leased=polling)


async def replay_stale(application: Any, *, include_leased: bool = False) -> int:
    """Queue the pending updates nobody holds, now leased to us, in update order."""
    services: Services = application.bot_data[SERVICES_KEY]
    processor = _processor(application)
    if not include_leased and not await services.db.read(any_stale):
        return 0  # the usual tick: nothing left behind, found without the write lock
    stale = await services.db.run(
        claim_stale, worker=processor.worker, lease=processor.lease, include_leased=include_leased
    )
    # put_nowait: past the webhook queue's recording, these rows are in the inbox already.
    for update in updates_from_payloads([payload for _, payload in stale], application.bot):
        application.update_queue.put_nowait(update)
    if stale:
        logger.info("replaying %d unfinished updates from the inbox", len(stale))
    return len(stale)


async def _tick(context: CrmContext) -> None:
    try:
        await _processor(context.application).maintain()
        await replay_stale(context.application)
    except SQLAlchemyError as exc:  # the database is away: the next tick tries again
        logger.warning("inbox upkeep failed: %s", exc)


async def release(application: Any) -> None:
    """Give back this instance's unhandled updates (clean stop)."""
    services: Services = application.bot_data[SERVICES_KEY]
    try:
        released = await services.db.run(release_leases, worker=_processor(application).worker)
    except SQLAlchemyError as exc:
        logger.warning("could not release inbox leases: %s", exc)
        return
    if released:
        logger.info("released %d unhandled updates to the other instances", released)
