"""Manager notifications on a ticker: daily digests, weekly summaries, team feed posts and
big-deal notices, each sent exactly once.

Like `bot.scheduler`, the database is the source of truth and the JobQueue only a ticker
(docs/stack-facts.md: jobs are forgotten on restart and skipped on misfire). On each tick
of the `notifications` job (`handlers.digest` declares how often) a pass:
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
over (see `storage.digest.claim_notification`; the claim and the bookkeeping after a send are
shared with the report in `bot.notify`). Sends go through the scheduler's paced
`Sender`, so reminders and notifications share Telegram's limits.

A 403 stops cleanly with no retries: a blocked manager becomes unreachable, a group that
removed the bot loses its feed. Network errors and floods are retried from the next pass.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot import report_jobs, scheduler
from bot.notify import (
    LEASE,
    NotifyState,
    claim_slot,
    due_slot,
    record,
    send_deadline,
)
from bot.sender import Delivery, Sender, scheduled_bot
from bot.ticker import start_pass, worker_id
from bot.whole_config import config_of
from handlers.context import SERVICES_KEY
from handlers.digest import big_deal_message, digest_messages, feed_messages
from handlers.review import review_rules
from handlers.services import Services
from storage.digest import (
    DAILY,
    WEEKLY,
    claim_notification,
    claim_notifications,
    last_period_end,
    list_digest_recipients,
    team_digest,
    unsettled_keys,
)
from storage.feeds import big_deal_notices, deactivate_feed, feed_events, list_active_feeds
from storage.members import set_reachable
from storage.models import Member
from storage.notification_models import TeamFeed
from storage.parsing import Money
from storage.reviews import count_new_items

logger = logging.getLogger(__name__)

STATE_KEY = "digest_jobs"
JOB = "notifications"
LOOKBACK = timedelta(days=1)  # feed events older than this when first seen are not posted
FEED = "feed"
BIG_DEAL = "big_deal"


def install(application: Any) -> None:
    """Share the scheduler's sender when there is one. A closed deal
    (`handlers.digest.notify_deal_closed`) starts a pass at once."""
    if scheduler.STATE_KEY in application.bot_data:
        sender = scheduler.state_of(application).sender
    else:
        sender = Sender(scheduled_bot(application.bot), is_open=lambda: application.running)
    application.bot_data[STATE_KEY] = NotifyState(worker=worker_id(), sender=sender)
    services: Services = application.bot_data[SERVICES_KEY]
    services.jobs.kick_digests = lambda: start_pass(application, JOB)


def state_of(application: Any) -> NotifyState:
    state: NotifyState = application.bot_data[STATE_KEY]
    return state


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


async def send_due_digests(services: Services, state: NotifyState) -> int:
    now = services.clock()
    sent = 0
    for recipient in await services.db.read(list_digest_recipients):
        due = due_slot(services, recipient, now)
        if due is None:
            continue  # before their working hours or day: a later pass sends the digest
        if due.at < recipient.created_at:
            continue  # they were not a manager yet: nothing is owed
        kinds = [(DAILY, due.day)]
        if due.weekly is not None:  # keyed by the weekly day: one per week, whatever the day
            kinds.append((WEEKLY, due.weekly))
        for kind, day in kinds:
            sent += await _send_digest(services, state, recipient, kind, day, due.at, due.tz)
    return sent


async def _send_digest(
    services: Services,
    state: NotifyState,
    recipient: Member,
    kind: str,
    day: date,
    slot: datetime,
    tz: ZoneInfo,
) -> int:
    assert recipient.id is not None
    claimed = await claim_slot(
        services, state, kind=kind, member_id=recipient.id, day=day, slot=slot
    )
    if claimed is None:
        return 0
    key, attempt = claimed
    now = services.clock()
    since = slot - timedelta(days=7 if kind == WEEKLY else 1)
    if kind == DAILY:
        last = await services.db.read(last_period_end, member_id=recipient.id, kind=DAILY)
        since = last if last is not None and last < slot else since
    settings = config_of(services).notifications
    digest = await services.db.read(
        team_digest,
        recipient=recipient,
        since=since,
        until=slot,
        today=day,
        stale_days=settings.stale_days,
    )
    review_count = await services.db.read(
        count_new_items,
        actor=recipient,
        rules=review_rules(services.config),
        today=day,
        since=since,
    )
    t = services.catalogs.translator(recipient.language or services.config.locale.default_language)
    texts = digest_messages(
        t,
        digest,
        weekly=kind == WEEKLY,
        stale_days=settings.stale_days,
        tz=tz,
        now=now,
        review_count=review_count,
    )
    outcome = await _send_all(state, recipient.telegram_id, texts)
    if outcome is Delivery.BLOCKED:
        await services.db.run(set_reachable, member_id=recipient.id, reachable=False)
    await record(services, state, [key], outcome, attempt)
    return len(texts) if outcome is Delivery.SENT else 0


# --- team feeds and big deals ------------------------------------------------------------------


def _big(services: Services) -> Money:
    settings = config_of(services).notifications
    return Money(
        settings.big_deal_amount, settings.big_deal_currency or services.config.locale.currency
    )


async def post_feeds(services: Services, state: NotifyState) -> int:
    sent = 0
    for feed in await services.db.read(list_active_feeds):
        sent += await _post_feed(services, state, feed)
    return sent


async def _post_feed(services: Services, state: NotifyState, feed: TeamFeed) -> int:
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
    if outcome is Delivery.BLOCKED:
        logger.info(
            "team feed stopped: Telegram refused the group", extra={"chat_id": feed.chat_id}
        )
        await services.db.run(deactivate_feed, chat_id=feed.chat_id, now=services.clock())
    await record(services, state, claimed, outcome, attempt=1)
    return len(texts) if outcome is Delivery.SENT else 0


async def send_big_deal_notices(services: Services, state: NotifyState) -> int:
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
        if outcome is Delivery.BLOCKED:
            await services.db.run(set_reachable, member_id=notice.manager_id, reachable=False)
        await record(services, state, [notice.key], outcome, attempt)
        sent += outcome is Delivery.SENT
    return sent


# --- sending -----------------------------------------------------------------------------------


async def _send_all(state: NotifyState, chat_id: int, texts: list[str]) -> Delivery:
    """Send the parts of one message in order; the first part that is not SENT decides."""
    deadline = send_deadline(state)
    for text in texts:
        outcome = await state.sender.send(chat_id, text, deadline=deadline)
        if outcome is not Delivery.SENT:
            return outcome
    return Delivery.SENT
