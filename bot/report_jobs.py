"""The weekly report for members who asked for it (`/subscribe report weekly`), sent with the
digests: at the weekly digest slot (`notifications.weekly_day` at `reminders.digest_time`,
in the member's timezone, once their working hours have begun; on their first working day
after it when they do not work on that day).

Called from `bot.digest_jobs.run_pass`, and exactly once in the same way: the unique key
`report.weekly:<member>:<local date of the weekly day>` is claimed in `notification_log` before
anything is sent, so a second pass, a second instance or a restart sends nothing. The report
covers the 7 full local days before the slot's day; its charts are drawn in a thread, and
the text and the album of images go through the shared paced `Sender`.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.notify import NotifyState, claim_slot, due_slot, record, send_deadline
from bot.sender import Delivery
from handlers.report import render_report, report_text, send_charts
from handlers.review import review_rules
from handlers.services import Services
from storage.members import set_reachable
from storage.models import Member
from storage.quality_stats import member_scores
from storage.reports import build_report, report_period
from storage.subscriptions import REPORT, WEEKLY, list_subscribers

logger = logging.getLogger(__name__)

KIND = "report.weekly"


async def send_due_reports(services: Services, state: NotifyState) -> int:
    """Send each subscriber's weekly report if its slot has come; messages accepted."""
    now = services.clock()
    sent = 0
    for member in await services.db.read(list_subscribers, kind=REPORT, cadence=WEEKLY):
        due = due_slot(services, member, now)
        if due is None or due.weekly is None:
            continue  # not the weekly slot, or before their working hours or day
        sent += await _send_report(services, state, member, due.at, due.tz, due.weekly)
    return sent


async def _send_report(
    services: Services,
    state: NotifyState,
    member: Member,
    slot: datetime,
    tz: ZoneInfo,
    weekly: date,
) -> int:
    assert member.id is not None
    day = slot.astimezone(tz).date()
    claimed = await claim_slot(
        services, state, kind=KIND, member_id=member.id, day=weekly, slot=slot
    )
    if claimed is None:
        return 0
    key, attempt = claimed
    config = services.config
    report = await services.db.read(
        build_report,
        actor=member,
        period=report_period("week", last=day - timedelta(days=1), tz=tz),
        stages=config.deals.stages,
        currency=config.locale.currency,
        tz=tz,
    )
    scores, _fields = await services.db.read(
        member_scores, actor=member, rules=review_rules(config)
    )
    t = services.catalogs.translator(member.language or config.locale.default_language)
    charts = await render_report(t, report, font_path=config.reports.font_path)
    deadline = send_deadline(state)
    text = report_text(t, report, role=member.role, scores=scores)
    outcome = await state.sender.send(member.telegram_id, text, deadline=deadline)
    if charts and outcome is Delivery.SENT:
        outcome = await state.sender.deliver(
            member.telegram_id,
            lambda: send_charts(state.sender.bot, member.telegram_id, charts),
            deadline=deadline,
        )
    if outcome is Delivery.BLOCKED:
        await services.db.run(set_reachable, member_id=member.id, reachable=False)
    await record(services, state, [key], outcome, attempt)
    return (1 + len(charts)) if outcome is Delivery.SENT else 0
