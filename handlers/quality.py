"""`/quality` for managers and admins: how complete the team's customers are (by salesperson
and by required field), the duplicates open and merged, and the review items waiting and for
how long, with a chart of the two completeness tallies (drawn off the event loop, in the
/report charts' style).

    /quality --> summary text + one chart image (none when there is no customer yet)
"""

from __future__ import annotations

import asyncio
import html

from telegram import Update

from handlers.context import CrmContext
from handlers.feature import LEADS, Command, Feature
from handlers.i18n import Translator
from handlers.report_charts import Panel, render_panels
from handlers.review import field_label, review_rules
from storage.access import NotFound
from storage.quality_stats import QualityStats, quality_stats

KINDS = ("missing", "duplicate", "suspicious", "new")


def quality_text(t: Translator, stats: QualityStats) -> str:
    lines = [t("quality.title"), "", t("quality.by_member")]
    lines += [
        t("quality.member", name=html.escape(m.name), score=m.score, customers=m.customers)
        for m in stats.members
    ]
    lines += ["", t("quality.by_field")]
    lines += [
        t("quality.field", field=field_label(t, name), percent=percent)
        for name, percent in stats.fields
    ]
    open_total = sum(stats.open_items.values())
    lines += [
        "",
        t("quality.duplicates", open=stats.duplicates_open, merged=stats.merged),
        t("quality.open", count=open_total, days=stats.oldest_days),
    ]
    lines += [
        t("quality.open_kind", kind=t(f"quality.kind.{kind}"), count=stats.open_items[kind])
        for kind in KINDS
        if stats.open_items.get(kind)
    ]
    return "\n".join(lines)


def quality_panels(t: Translator, stats: QualityStats) -> list[Panel]:
    panels = []
    if stats.members:
        panels.append(
            Panel(
                "members",
                t("quality.chart.members"),
                [m.name for m in stats.members],
                [float(m.score) for m in stats.members],
            )
        )
    if stats.fields:
        panels.append(
            Panel(
                "fields",
                t("quality.chart.fields"),
                [field_label(t, name) for name, _ in stats.fields],
                [float(percent) for _, percent in stats.fields],
            )
        )
    return panels


async def quality(update: Update, context: CrmContext) -> None:
    chat = update.effective_chat
    assert chat is not None
    now = context.services.clock()
    try:
        stats = await context.db.read(
            quality_stats,
            actor=context.require_member(),
            rules=review_rules(context.services.config),
            today=now.astimezone(context.tz).date(),
            now=now,
        )
    except NotFound:
        await context.bot.send_message(chat.id, context.t("review.leads_only"))
        return
    t = context.services.catalogs.translator(context.language)
    await context.bot.send_message(chat.id, quality_text(t, stats))
    font = context.services.config.reports.font_path
    chart = await asyncio.to_thread(render_panels, quality_panels(t, stats), font_path=font)
    if chart is not None:
        await context.bot.send_photo(chat.id, chart.png)


FEATURE = Feature(name="quality", commands=(Command("quality", quality, LEADS),))
