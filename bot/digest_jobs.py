"""Manager notifications on a ticker: daily digests, weekly summaries, team feed posts and
big-deal notices, each sent exactly once.

Like `bot.scheduler`, the database is the source of truth and the JobQueue only a ticker
(PITFALLS: jobs are forgotten on restart and skipped on misfire). Every `TICK` a pass:
- works out, per manager and admin, the latest digest slot (`digest_time` in their own
  timezone, so daylight-saving changes move it with the wall clock) and sends it unless the
  log has it: a slot missed while the bot was down is sent at start;
- reads new customers and deal stage changes of the last `LOOKBACK` from the records (so a
  change made by any path is reported) and posts those not yet posted to each linked group;
- tells the owner's manager about big deals won or lost.
- sends the weekly report to members who subscribed to it (`bot.report_jobs`).

Exactly once: every message has a unique key in `notification_log`, inserted (claimed) before
sending and marked sent after Telegram accepted it. A second instance or a restart finds the
key and sends nothing; a claim of a process that died mid-send is a lease another pass takes
over (see `storage.digest.claim_notification`). Sends go through the scheduler's paced
`Sender`, so reminders and notifications share Telegram's limits.

A 403 stops cleanly with no retries: a blocked manager becomes unreachable, a group that
removed the bot loses its feed. Network errors and floods are retried from the next pass.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot import report_jobs, scheduler
from bot.sender import Outcome, Sender, scheduled_bot
from handlers.context import SERVICES_KEY
from handlers.digest import KICK_KEY, big_deal_message, digest_messages, feed_messages
from handlers.services import Services
from storage.digest import (
    DAILY,
    SENT,
    WEEKLY,
    claim_notification,
    claim_notifications,
    finish_notification,
    last_period_end,
    list_digest_recipients,
    retry_notification,
    team_digest,
    unsettled_keys,
)
from storage.feeds import big_deal_notices, deactivate_feed, feed_events, list_active_feeds
from storage.members import set_reachable
from storage.models import Member
from storage.notification_models import TeamFeed
from storage.parsing import Money
from storage.working_hours import next_delivery_time, parse_clock

logger = logging.getLogger(__name__)

STATE_KEY = "digest_jobs"
# Tests park the ticker (or call `run_pass` directly) instead of sleeping.
TICK = timedelta(seconds=20)
FIRST_TICK = timedelta(seconds=2)
LEASE = timedelta(minutes=5)
RETRY_AFTER = timedelta(minutes=1)
MAX_ATTEMPTS = 10
LOOKBACK = timedelta(days=1)  # feed events older than this when first seen are not posted
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FEED = "feed"
BIG_DEAL = "big_deal"


@dataclass
class DigestState:
    worker: str
    sender: Sender
    task: asyncio.Task[int] | None = None


def install(application: Any) -> None:
    """Register the notification ticker; share the scheduler's sender when there is one."""
    worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    if scheduler.STATE_KEY in application.bot_data:
        sender = scheduler.state_of(application).sender
    else:
        sender = Sender(scheduled_bot(application.bot), is_open=lambda: application.running)
    application.bot_data[STATE_KEY] = DigestState(worker=worker, sender=sender)
    application.bot_data[KICK_KEY] = lambda: start_pass(application)
    assert application.job_queue is not None
    application.job_queue.run_repeating(
        _tick,
        interval=TICK,
        first=FIRST_TICK,
        name="notifications",
        job_kwargs=scheduler.JOB_KWARGS,
    )


def state_of(application: Any) -> DigestState:
    state: DigestState = application.bot_data[STATE_KEY]
    return state


async def _tick(context: Any) -> None:
    start_pass(context.application)


def start_pass(application: Any) -> None:
    """Start a pass unless one is still running (the ticker and deal closes both call this)."""
    state = state_of(application)
    if application.running and (state.task is None or state.task.done()):
        state.task = application.create_task(run_pass(application), name="notifications")


async def run_pass(application: Any) -> int:
    """Send everything due now; the number of messages Telegram accepted."""
    services: Services = application.bot_data[SERVICES_KEY]
    state = state_of(application)
    sent = await send_due_digests(services, state)
    sent += await post_feeds(services, state)
    sent += await send_big_deal_notices(services, state)
    sent += await report_jobs.send_due_reports(services, state)
    return sent


# --- digests -----------------------------------------------------------------------------------


def latest_slot(now: datetime, tz: ZoneInfo, at: time) -> tuple[date, datetime]:
    """The local date and UTC instant of the last `at` o'clock (wall time in `tz`) <= now."""
    local_date = now.astimezone(tz).date()
    for day in (local_date, local_date - timedelta(days=1)):
        slot = datetime.combine(day, at, tzinfo=tz).astimezone(UTC)
        if slot <= now:
            return day, slot
    day = local_date - timedelta(days=2)  # only reachable around a DST jump
    return day, datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


async def send_due_digests(services: Services, state: DigestState) -> int:
    config = services.config
    now = services.clock()
    sent = 0
    for recipient in await services.db.read(list_digest_recipients):
        tz = ZoneInfo(recipient.timezone or config.locale.timezone)
        day, slot = latest_slot(now, tz, config.reminders.digest_time)
        if slot < recipient.created_at:
            continue  # they were not a manager yet: nothing is owed
        start = parse_clock(recipient.work_start) or config.reminders.work_start
        end = parse_clock(recipient.work_end) or config.reminders.work_end
        if now < next_delivery_time(slot, tz=tz, work_start=start, work_end=end, exact=False):
            continue  # before their working hours: a later pass sends the same day's digest
        kinds = [DAILY]
        if WEEKDAYS[day.weekday()] == config.notifications.weekly_day:
            kinds.append(WEEKLY)
        for kind in kinds:
            sent += await _send_digest(services, state, recipient, kind, day, slot, tz)
    return sent


async def _send_digest(
    services: Services,
    state: DigestState,
    recipient: Member,
    kind: str,
    day: date,
    slot: datetime,
    tz: ZoneInfo,
) -> int:
    assert recipient.id is not None
    key = f"{kind}:{recipient.id}:{day.isoformat()}"
    now = services.clock()
    if not await services.db.read(unsettled_keys, keys=[key], now=now):
        return 0
    attempt = await services.db.run(
        claim_notification,
        kind=kind,
        key=key,
        worker=state.worker,
        now=now,
        lease=LEASE,
        member_id=recipient.id,
        period_end=slot,
    )
    if not attempt:
        return 0
    since = slot - timedelta(days=7 if kind == WEEKLY else 1)
    if kind == DAILY:
        last = await services.db.read(last_period_end, member_id=recipient.id, kind=DAILY)
        since = last if last is not None and last < slot else since
    settings = services.config.notifications
    digest = await services.db.read(
        team_digest,
        recipient=recipient,
        since=since,
        until=slot,
        today=day,
        stale_days=settings.stale_days,
    )
    t = services.catalogs.translator(recipient.language or services.config.locale.default_language)
    texts = digest_messages(
        t, digest, weekly=kind == WEEKLY, stale_days=settings.stale_days, tz=tz, now=now
    )
    outcome = await _send_all(state, recipient.telegram_id, texts)
    if outcome is Outcome.BLOCKED:
        await services.db.run(set_reachable, member_id=recipient.id, reachable=False)
    await _record(services, state, [key], outcome, attempt)
    return len(texts) if outcome is Outcome.SENT else 0


# --- team feeds and big deals ------------------------------------------------------------------


def _big(services: Services) -> Money:
    settings = services.config.notifications
    return Money(
        settings.big_deal_amount, settings.big_deal_currency or services.config.locale.currency
    )


async def post_feeds(services: Services, state: DigestState) -> int:
    sent = 0
    for feed in await services.db.read(list_active_feeds):
        sent += await _post_feed(services, state, feed)
    return sent


async def _post_feed(services: Services, state: DigestState, feed: TeamFeed) -> int:
    """One post per feed per pass with every new event, so a busy team stays under the
    group limit (20 messages a minute)."""
    now = services.clock()
    since = max(feed.created_at, now - LOOKBACK)
    events = await services.db.read(
        feed_events, feed=feed, since=since, until=now, big=_big(services)
    )
    by_key = {f"{FEED}:{feed.id}:{event.key}": event for event in events}
    open_keys = await services.db.read(unsettled_keys, keys=by_key, now=now)
    if not open_keys:
        return 0
    claimed = await services.db.run(
        claim_notifications,
        kind=FEED,
        keys=[key for key in by_key if key in open_keys],
        worker=state.worker,
        now=now,
        lease=LEASE,
    )
    if not claimed:
        return 0
    t = services.catalogs.translator(feed.language or services.config.locale.default_language)
    texts = feed_messages(t, [by_key[key] for key in claimed])
    outcome = await _send_all(state, feed.chat_id, texts)
    if outcome is Outcome.BLOCKED:
        logger.info(
            "team feed stopped: Telegram refused the group", extra={"chat_id": feed.chat_id}
        )
        await services.db.run(deactivate_feed, chat_id=feed.chat_id, now=services.clock())
    await _record(services, state, claimed, outcome, attempt=1)
    return len(texts) if outcome is Outcome.SENT else 0


async def send_big_deal_notices(services: Services, state: DigestState) -> int:
    now = services.clock()
    notices = await services.db.read(
        big_deal_notices, since=now - LOOKBACK, until=now, big=_big(services)
    )
    open_keys = await services.db.read(unsettled_keys, keys=[n.key for n in notices], now=now)
    sent = 0
    for notice in notices:
        if notice.key not in open_keys:
            continue
        attempt = await services.db.run(
            claim_notification,
            kind=BIG_DEAL,
            key=notice.key,
            worker=state.worker,
            now=now,
            lease=LEASE,
            member_id=notice.manager_id,
        )
        if not attempt:
            continue
        t = services.catalogs.translator(
            notice.language or services.config.locale.default_language
        )
        outcome = await _send_all(state, notice.chat_id, [big_deal_message(t, notice)])
        if outcome is Outcome.BLOCKED:
            await services.db.run(set_reachable, member_id=notice.manager_id, reachable=False)
        await _record(services, state, [notice.key], outcome, attempt)
        sent += outcome is Outcome.SENT
    return sent


# --- sending and bookkeeping -------------------------------------------------------------------


async def _send_all(state: DigestState, chat_id: int, texts: list[str]) -> Outcome:
    """Send the parts of one message in order; the first part that is not SENT decides."""
    deadline = state.sender.monotonic() + (LEASE - scheduler.LEASE_MARGIN).total_seconds()
    for text in texts:
        outcome = await state.sender.send(chat_id, text, deadline=deadline)
        if outcome is not Outcome.SENT:
            return outcome
    return Outcome.SENT


async def _record(
    services: Services, state: DigestState, keys: list[str], outcome: Outcome, attempt: int
) -> None:
    """Sent, final (blocked / refused / out of attempts), or back for a later pass."""
    now = services.clock()
    final = {Outcome.SENT: SENT, Outcome.BLOCKED: "blocked", Outcome.FAILED: "failed"}
    if outcome in final or attempt >= MAX_ATTEMPTS:
        result = final.get(outcome, "failed")
        if result != SENT:
            logger.warning("notification not delivered (%s): %s", result, keys)
        for key in keys:
            await services.db.run(
                finish_notification, key=key, worker=state.worker, now=now, outcome=result
            )
        return
    not_before = now if outcome is Outcome.SKIPPED else now + RETRY_AFTER
    for key in keys:
        await services.db.run(
            retry_notification, key=key, worker=state.worker, not_before=not_before
        )
