"""What the notification senders share: the state of a pass, a member's latest slot, the
claim of one slot's message, and the bookkeeping after a send.

`bot.digest_jobs` (digests, feeds, big deals) and `bot.report_jobs` (the weekly report) both
send exactly once through `notification_log`: a message's unique key is claimed before
anything is sent and settled after (see `storage.digest.claim_notification`). Keeping the
steps here, once, keeps the two senders' rules the same and their imports one way.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from bot import scheduler
from bot.sender import Delivery, Sender
from handlers.services import Services
from storage.digest import (
    SENT,
    claim_notification,
    finish_notification,
    retry_notification,
    unsettled_keys,
)
from storage.models import Member
from storage.working_hours import (
    WEEKDAYS,
    next_delivery_time,
    parse_clock,
    parse_days,
    weekly_day_served,
)

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
RETRY_AFTER = timedelta(minutes=1)
MAX_ATTEMPTS = 10


@dataclass
class NotifyState:
    worker: str
    sender: Sender
    task: asyncio.Task[int] | None = None


def latest_slot(now: datetime, tz: ZoneInfo, at: time) -> tuple[date, datetime]:
    """The local date and UTC instant of the last `at` o'clock (wall time in `tz`) <= now."""
    local_date = now.astimezone(tz).date()
    for day in (local_date, local_date - timedelta(days=1)):
        slot = datetime.combine(day, at, tzinfo=tz).astimezone(UTC)
        if slot <= now:
            return day, slot
    day = local_date - timedelta(days=2)  # only reachable around a DST jump
    return day, datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


class Slot(NamedTuple):
    tz: ZoneInfo
    day: date  # the slot's local date: the daily digest's key
    at: datetime  # the slot, UTC: the end of the period its messages cover
    weekly: date | None  # the weekly day this delivery serves, if it is the weekly one


def due_slot(services: Services, member: Member, now: datetime) -> Slot | None:
    """The member's latest digest slot (`digest_time` in their own timezone, so
    daylight-saving changes move it with the wall clock); None while their working hours
    have not begun since it, or it fell on a day they do not work (the next working day's
    slot covers it). The weekly messages go with the slot delivered on the weekly day, or on
    the member's first working day after it."""
    config = services.config
    tz = ZoneInfo(member.timezone or config.locale.timezone)
    day, slot = latest_slot(now, tz, config.reminders.digest_time)
    start = parse_clock(member.work_start) or config.reminders.work_start
    end = parse_clock(member.work_end) or config.reminders.work_end
    work_days = parse_days(member.work_days)
    deliver = next_delivery_time(
        slot, tz=tz, work_start=start, work_end=end, exact=False, work_days=work_days
    )
    if now < deliver:
        return None
    weekly_day = WEEKDAYS.index(config.notifications.weekly_day)
    weekly = weekly_day_served(deliver.astimezone(tz).date(), weekly_day, work_days)
    return Slot(tz, day, slot, weekly)


async def claim_slot(
    services: Services, state: NotifyState, *, kind: str, member_id: int, day: date, slot: datetime
) -> tuple[str, int] | None:
    """Claim the member's `kind` message for the slot of `day`: its key and attempt number,
    or None when it is settled or another worker holds it."""
    key = f"{kind}:{member_id}:{day.isoformat()}"
    now = services.clock()
    if not await services.db.read(unsettled_keys, keys=[key], now=now):
        return None
    attempt = await services.db.run(
        claim_notification,
        kind=kind,
        key=key,
        worker=state.worker,
        now=now,
        lease=LEASE,
        member_id=member_id,
        period_end=slot,
    )
    return (key, attempt) if attempt else None


def send_deadline(state: NotifyState) -> float:
    """The sender's monotonic deadline: sends stop while the claim's lease still has margin."""
    return state.sender.monotonic() + (LEASE - scheduler.LEASE_MARGIN).total_seconds()


async def record(
    services: Services, state: NotifyState, keys: list[str], outcome: Delivery, attempt: int
) -> None:
    """Sent, final (blocked / refused / out of attempts), or back for a later pass."""
    now = services.clock()
    final = {Delivery.SENT: SENT, Delivery.BLOCKED: "blocked", Delivery.FAILED: "failed"}
    if outcome in final or attempt >= MAX_ATTEMPTS:
        result = final.get(outcome, "failed")
        if result != SENT:
            logger.warning("notification not delivered (%s): %s", result, keys)
        for key in keys:
            await services.db.run(
                finish_notification, key=key, worker=state.worker, now=now, outcome=result
            )
        return
    not_before = now if outcome is Delivery.SKIPPED else now + RETRY_AFTER
    for key in keys:
        await services.db.run(
            retry_notification, key=key, worker=state.worker, not_before=not_before
        )
