"""Delivery of due reminders: the database is the source of truth, the JobQueue only a ticker.

PTB's JobQueue skips jobs that misfire and forgets them on restart (docs/stack-facts.md), so
no reminder is ever a job. Every tick of the `deliver-reminders` job makes sure one delivery
pass is running; a pass claims due reminders in batches (a lease in the database,
`storage.reminders.claim_deliveries`), renders each in its member's language and timezone,
sends it through the paced `Sender`, and marks it sent only after Telegram accepted it. A
pass runs as an application task, so `Application.stop()` waits for it: it stops claiming,
finishes the sends in flight and gives unsent claims back, and the next start (any instance)
delivers them.

Exactly once: a row is claimed by one worker at a time (SKIP LOCKED / BEGIN IMMEDIATE), is
sent only while its lease has `LEASE_MARGIN` left, and `mark_sent` only applies to our own
claim. What remains is the Bot API's own gap: a process killed between Telegram's answer and
`mark_sent`, or a `TimedOut` send that did arrive, is sent again (see `bot.sender`).

Reminders that fell due while the bot was down are claimed by the first tick after start and
say they are late.

Quiet hours and nudges: every `plan-nudges` tick (`handlers.agenda`) `plan_due_nudges` creates the
birthday and stay-in-touch rows that are due by now (idempotent, by dedupe key). A claimed
reminder that is not for an exact time and falls outside its member's working hours is
moved to the next start of their working hours instead of being sent
(`storage.nudges.claim_deliverable`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup

from bot.sender import Delivery, Sender, scheduled_bot
from bot.ticker import worker_id
from handlers.agenda import nudge_message
from handlers.context import SERVICES_KEY
from handlers.reminders import Reader, reminder_message
from handlers.services import Services
from handlers.settings import nudge_rules
from storage.nudges import (
    NUDGE_KINDS,
    NudgeInfo,
    claim_deliverable,
    create_nudges,
    finish_nudge,
    wanted_nudges,
)
from storage.reminders import (
    ReminderView,
    any_due,
    mark_failed,
    mark_retry,
    mark_sent,
    mark_undeliverable,
    release,
)

logger = logging.getLogger(__name__)

STATE_KEY = "scheduler"
DELIVER_JOB = "deliver-reminders"
PLAN_JOB = "plan-nudges"
BATCH = 100
LEASE = timedelta(minutes=5)
LEASE_MARGIN = timedelta(seconds=40)  # longer than one send's HTTP timeouts (15 s + 15 s)
LATE_AFTER = timedelta(minutes=2)
MAX_ATTEMPTS = 10
BACKOFF_FIRST = timedelta(seconds=10)
BACKOFF_MAX = timedelta(hours=1)


@dataclass
class SchedulerState:
    worker: str
    sender: Sender


def install(application: Any) -> None:
    """The sender gets its own Bot on the app's connection pool. A delivery pass can take
    minutes (a burst): its ticker (`bot.jobs`) never starts a second."""
    sender = Sender(scheduled_bot(application.bot), is_open=lambda: application.running)
    application.bot_data[STATE_KEY] = SchedulerState(worker=worker_id(), sender=sender)


def state_of(application: Any) -> SchedulerState:
    state: SchedulerState = application.bot_data[STATE_KEY]
    return state


async def plan_due_nudges(application: Any) -> int:
    """Create the birthday and stay-in-touch reminders due by now; the number created."""
    services: Services = application.bot_data[SERVICES_KEY]
    # Worked out in a read, then written: the write transaction holds SQLite's one writer
    # only for the new rows (a keyed insert is safe to repeat).
    wanted = await services.db.read(
        wanted_nudges, now=services.clock(), rules=nudge_rules(services.config)
    )
    made = await services.db.run(create_nudges, wanted=wanted) if wanted else 0
    if made:
        logger.info("planned %d nudges", made)
    return made


async def deliver_due(application: Any) -> int:
    """Deliver everything due now, batch after batch; the number of reminders sent."""
    state = state_of(application)
    services: Services = application.bot_data[SERVICES_KEY]
    sent = 0
    if not await services.db.read(any_due, now=services.clock()):
        return 0  # the usual pass: nothing due, found without the write lock
    while application.running:
        claimed = await services.db.run(
            claim_deliverable,
            now=services.clock(),
            worker=state.worker,
            limit=BATCH,
            lease=LEASE,
            rules=nudge_rules(services.config),
        )
        if not claimed.views and not claimed.held_back:
            break
        deadline = state.sender.monotonic() + (LEASE - LEASE_MARGIN).total_seconds()
        by_chat: dict[int, list[ReminderView]] = defaultdict(list)
        for view in claimed.views:
            by_chat[view.chat_id].append(view)
        counts = await asyncio.gather(
            *(
                _deliver_chat(services, state, views, deadline, claimed.nudges)
                for views in by_chat.values()
            )
        )
        sent += sum(counts)
    if sent:
        logger.info("delivered %d reminders", sent)
    return sent


async def _deliver_chat(
    services: Services,
    state: SchedulerState,
    views: list[ReminderView],
    deadline: float,
    nudges: dict[int, NudgeInfo],
) -> int:
    """One chat's reminders in due order; a blocked chat stops the rest (they stay pending)."""
    sent = 0
    for index, view in enumerate(views):
        text, markup = _render(services, view, nudges.get(view.id))
        outcome = await state.sender.send(
            view.chat_id, text, reply_markup=markup, deadline=deadline
        )
        if outcome is Delivery.SENT:
            sent += await _record_sent(services, state, view)
            continue
        if outcome in (Delivery.BLOCKED, Delivery.SKIPPED):
            unsent = views[index:]
            if outcome is Delivery.BLOCKED:
                await services.db.run(mark_undeliverable, reminder_id=view.id, worker=state.worker)
                unsent = views[index + 1 :]
            if unsent:
                ids = [v.id for v in unsent]
                await services.db.run(release, reminder_ids=ids, worker=state.worker)
            break
        await _record_failure(services, state, view, outcome)
    return sent


async def _record_sent(services: Services, state: SchedulerState, view: ReminderView) -> int:
    marked = await services.db.run(
        mark_sent, reminder_id=view.id, worker=state.worker, at=services.clock()
    )
    if not marked:  # Done or Snooze pressed while it was on its way: their change stands
        logger.info("reminder %s changed while being sent", view.id)
    elif view.reminder.kind in NUDGE_KINDS:
        await services.db.run(finish_nudge, reminder_id=view.id)
    return 1


async def _record_failure(
    services: Services, state: SchedulerState, view: ReminderView, outcome: Delivery
) -> None:
    attempts = view.reminder.attempts + 1
    if outcome is Delivery.FAILED or attempts >= MAX_ATTEMPTS:
        logger.error("giving up on reminder %s after %d attempts", view.id, attempts)
        await services.db.run(
            mark_failed, reminder_id=view.id, worker=state.worker, attempts=attempts
        )
        return
    await services.db.run(
        mark_retry,
        reminder_id=view.id,
        worker=state.worker,
        attempts=attempts,
        next_attempt_at=services.clock() + backoff(attempts),
    )


def backoff(attempts: int) -> timedelta:
    """10 s, 20 s, 40 s, ... capped at an hour: the wait after the `attempts`-th failure."""
    return min(BACKOFF_FIRST * 2 ** (attempts - 1), BACKOFF_MAX)


def _render(
    services: Services, view: ReminderView, nudge: NudgeInfo | None
) -> tuple[str, InlineKeyboardMarkup | None]:
    locale = services.config.locale
    t = services.catalogs.translator(view.language or locale.default_language)
    reader = Reader(t, t.language, ZoneInfo(view.timezone or locale.timezone), services.clock())
    if nudge is not None:
        return nudge_message(reader, view, nudge)
    late = reader.now - view.reminder.due_at > LATE_AFTER
    return reminder_message(reader, view, late=late)
