"""`/report [week|month|quarter]` and `/subscribe report weekly|off`.

    /report [week]     --> summary text (last 7 days) + up to 4 chart images
    /report month      --> the same for this calendar month so far; quarter likewise
    /report other      --> usage with an example, nothing else
    nothing recorded   --> one friendly text, no empty charts
    /subscribe report weekly --> stored (asking twice changes nothing); bot.report_jobs sends
                                 the report at the weekly digest slot
    /subscribe report off    --> stopped;  /subscribe alone --> usage and the current state

The numbers come from `storage.reports` (scoped there: sales own, managers team, admins
all); the charts are drawn by `handlers.report_charts` in a thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import html
import logging
import time
from collections.abc import Sequence
from datetime import timedelta

from telegram import Bot, InputMediaPhoto, Update

from handlers.context import CrmContext
from handlers.feature import Command, Feature
from handlers.formatting import format_date, format_money, weekday_name
from handlers.i18n import Html, Translator
from handlers.report_charts import Chart, render_charts
from handlers.review import review_rules
from storage.contract_figures import EXPIRING_DAYS, ContractFigures
from storage.deals import WON
from storage.order_figures import OrderFigures
from storage.quality_stats import MemberScore, member_scores
from storage.reports import PERIODS, PeriodKind, Report, build_report, report_period
from storage.subscriptions import (
    REPORT,
    WEEKLY,
    create_subscription,
    delete_subscription,
    get_subscription,
)
from storage.ticket_figures import Rating, TicketFigures
from storage.working_hours import WEEKDAYS

logger = logging.getLogger(__name__)


def parse_period(args: Sequence[str]) -> PeriodKind | None:
    """The period the member asked for; none named means the week."""
    if not args:
        return "week"
    word = args[0].lower()
    if len(args) == 1 and word in PERIODS:
        return PERIODS[PERIODS.index(word)]  # typed as the Literal, not str
    return None


def report_text(
    t: Translator, report: Report, *, role: str, scores: Sequence[MemberScore] = ()
) -> str:
    """The short summary: period, whose numbers, the key counts and the lead-to-won rate;
    a week's report ends with each salesperson's data quality score (`/quality`)."""
    period = report.period
    lines = [
        t(
            f"report.title.{period.kind}",
            first=format_date(period.first, lang=t.language),
            last=format_date(period.last, lang=t.language),
        ),
        t(f"report.scope.{role}"),
    ]
    contracts = (
        contract_lines(t, report.contracts)
        + order_lines(t, report.orders)
        + ticket_lines(t, report.tickets)
        + quality_lines(t, scores)
    )
    if report.empty:
        return "\n".join([*lines, "", t("report.empty"), *contracts])
    amounts = " + ".join(format_money(m, lang=t.language) for m in report.won_totals)
    lines += [
        "",
        t(
            "report.summary",
            customers=report.new_customers,
            deals=report.new_deals,
            won=report.won,
            won_amounts=f"({amounts})" if amounts else "",
            activities=report.activity_count,
        ),
    ]
    first, won = report.funnel[0], next(s for s in report.funnel if s.stage == WON)
    if first.reached and first is not won:
        lines.append(
            t(
                "report.conversion",
                first_stage=_stage(t, first.stage),
                last_stage=_stage(t, won.stage),
                percent=f"{won.reached / first.reached:.0%}",
            )
        )
    return "\n".join([*lines, *contracts])


def quality_lines(t: Translator, scores: Sequence[MemberScore]) -> list[str]:
    if not scores:
        return []
    return [
        "",
        t("quality.report_title"),
        *(
            t("quality.member", name=html.escape(s.name), score=s.score, customers=s.customers)
            for s in scores
        ),
    ]


async def week_scores(context: CrmContext, kind: str) -> list[MemberScore]:
    """The quality scores a week's report ends with (none for a month or a quarter)."""
    if kind != "week":
        return []
    rules = review_rules(context.services.config)
    scores, _fields = await context.db.read(
        member_scores, actor=context.require_member(), rules=rules
    )
    return scores


def contract_lines(t: Translator, figures: ContractFigures) -> list[str]:
    """Contracts signed in the period with their amounts, and those ending within 30 days."""
    if figures.empty:
        return []
    amounts = " + ".join(format_money(m, lang=t.language) for m in figures.contracted)
    return [
        "",
        t(
            "contract_reminders.report.signed",
            count=figures.signed,
            amounts=f"({amounts})" if amounts else "",
        ),
        t("contract_reminders.report.expiring", count=figures.expiring, days=EXPIRING_DAYS),
    ]


def order_lines(t: Translator, figures: OrderFigures) -> list[str]:
    """Orders placed in the period, a line per status they are in now, with their amounts."""
    if not figures.count:
        return []
    lines = ["", t("order_report.title", count=figures.count)]
    for figure in figures.by_status:
        amounts = " + ".join(format_money(m, lang=t.language) for m in figure.amounts)
        lines.append(
            t(
                "order_report.status",
                status=t(f"order.status.{figure.status}"),
                count=figure.count,
                amounts=f"({amounts})" if amounts else "",
            )
        )
    return lines


def ticket_lines(t: Translator, figures: TicketFigures) -> list[str]:
    """Tickets opened, resolved and overdue in the period, the median time to resolve, and the
    satisfaction of those resolved by salesperson and by type."""
    if figures.empty:
        return []
    lines = [
        "",
        t(
            "ticket_report.counts",
            opened=figures.opened,
            resolved=figures.resolved,
            overdue=figures.overdue,
        ),
    ]
    if figures.median_to_resolve is not None:
        lines.append(t("ticket_report.median", time=duration(t, figures.median_to_resolve)))
    for key, ratings in (("owner", figures.by_owner), ("type", figures.by_type)):
        if ratings:
            named = [_rating(t, r, labels=key == "type") for r in ratings]
            lines.append(t(f"ticket_report.satisfaction_{key}", ratings="; ".join(named)))
    return lines


def _rating(t: Translator, rating: Rating, *, labels: bool) -> str:
    name = t.label(f"ticket.type.{rating.key}", rating.key) if labels else rating.key
    return t(
        "ticket_report.rating",
        name=html.escape(name),
        average=f"{rating.average:.1f}",
        count=rating.count,
    )


def duration(t: Translator, delta: timedelta) -> str:
    """Hours under two days ("5.5 h"), else days ("3.2 d")."""
    hours = delta.total_seconds() / 3600
    if hours < 48:
        return t("ticket_report.hours", hours=f"{hours:.1f}")
    return t("ticket_report.days", days=f"{hours / 24:.1f}")


def _stage(t: Translator, stage: str) -> str:
    key = f"deal.stage.{stage}"
    return Html(t(key)) if t.has(key) else stage


async def render_report(t: Translator, report: Report, *, font_path: str) -> list[Chart]:
    """The charts, drawn in a thread: a report takes ~0.1-0.3 s of CPU per image."""
    if report.empty and report.tickets.empty:
        return []
    started = time.perf_counter()
    charts = await asyncio.to_thread(render_charts, t, report, font_path=font_path)
    logger.info("report charts: %d images in %.2f s", len(charts), time.perf_counter() - started)
    return charts


async def send_charts(bot: Bot, chat_id: int, charts: Sequence[Chart]) -> object:
    """One photo, or an album: the images arrive together, with one notification."""
    if len(charts) == 1:
        return await bot.send_photo(chat_id, charts[0].png)
    return await bot.send_media_group(chat_id, [InputMediaPhoto(c.png) for c in charts])


async def report(update: Update, context: CrmContext) -> None:
    chat = update.effective_chat
    assert chat is not None
    kind = parse_period(context.args or [])
    if kind is None:
        await context.bot.send_message(chat.id, context.t("report.usage"))
        return
    member = context.require_member()
    config = context.services.config
    today = context.services.clock().astimezone(context.tz).date()
    data = await context.db.read(
        build_report,
        actor=member,
        period=report_period(kind, last=today, tz=context.tz),
        stages=config.deals.stages,
        currency=config.locale.currency,
        tz=context.tz,
        now=context.services.clock(),
    )
    t = context.services.catalogs.translator(context.language)
    charts = await render_report(t, data, font_path=config.reports.font_path)
    scores = await week_scores(context, kind)
    await context.bot.send_message(chat.id, report_text(t, data, role=member.role, scores=scores))
    if charts:
        await send_charts(context.bot, chat.id, charts)


async def subscribe(update: Update, context: CrmContext) -> None:
    chat = update.effective_chat
    assert chat is not None
    words = [word.lower() for word in context.args or []]
    member = context.require_member()
    if words == [REPORT, WEEKLY]:
        await context.db.run(create_subscription, actor=member, kind=REPORT, cadence=WEEKLY)
        await context.bot.send_message(chat.id, _subscribed_text(context))
    elif words == [REPORT, "off"]:
        stopped = await context.db.run(delete_subscription, actor=member, kind=REPORT)
        key = "subscribe.stopped" if stopped else "subscribe.not_subscribed"
        await context.bot.send_message(chat.id, context.t(key))
    else:
        current = await context.db.read(get_subscription, actor=member, kind=REPORT)
        state = "subscribe.current.none" if current is None else "subscribe.current.weekly"
        text = f"{context.t(state)}\n\n{context.t('subscribe.usage')}"
        await context.bot.send_message(chat.id, text)


def _subscribed_text(context: CrmContext) -> str:
    """When it comes: the weekly digest's day and time, on the member's own clock."""
    config = context.services.config
    weekly = WEEKDAYS.index(config.notifications.weekly_day)
    day = weekday_name(weekly, lang=context.language, width="wide")
    clock = config.reminders.digest_time.strftime("%H:%M")
    return context.t("subscribe.done", day=day, time=clock)


FEATURE = Feature(
    name="report",
    commands=(Command("report", report), Command("subscribe", subscribe)),
)
