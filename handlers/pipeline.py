"""`/deals` and `/pipeline`: the open pipeline at a glance.

    /deals --> own open deals grouped by stage (count and totals per currency),
               a row per deal, 10 a page (handlers/paging.py): the deal --press--> its card
               (handlers/deal.py), ✏️ edit / 🗑 delete it (handlers/records/deals.py)
    /pipeline (managers: team, admins: everyone) --> totals by stage and by salesperson,
               in as many messages as a large team needs

Amounts are summed per currency and never converted. Sales asking for /pipeline are
pointed to /deals; storage applies the access rule either way.
"""

from __future__ import annotations

from decimal import Decimal
from functools import partial

from telegram import Update

from handlers.callback_data import DealAction, ListPage
from handlers.context import CrmContext
from handlers.deal import stage_label
from handlers.feature import LEADS, Command, Feature
from handlers.formatting import format_money
from handlers.keyboards import Row, inline_keyboard
from handlers.paging import keyset_nav_row, show
from handlers.text_limits import split_blocks
from storage.access import NotFound
from storage.models import Role
from storage.paging import Cursor
from storage.parsing import Money
from storage.pipeline import count_pipeline, page_my_deals

DEALS_PER_PAGE = 10


def _total(context: CrmContext, totals: dict[str, Decimal]) -> str:
    if not totals:
        return context.t("pipeline.no_amount")
    return ", ".join(
        format_money(Money(amount, currency), lang=context.language)
        for currency, amount in sorted(totals.items())
    )


async def deals(update: Update, context: CrmContext) -> None:
    await deals_page(update, context, None)


async def deals_page(update: Update, context: CrmContext, cursor: Cursor | None) -> None:
    """Totals per stage over all open deals, then a row per deal, `DEALS_PER_PAGE` a page."""
    found = await context.db.read(
        page_my_deals,
        actor=context.require_member(),
        stages=context.services.config.deals.stages,
        cursor=cursor,
        size=DEALS_PER_PAGE,
    )
    if not found.groups:
        await show(update, context, (context.t("deals.none"), None))
        return
    lines = [context.t("deals.title", count=sum(g.count for g in found.groups))]
    for group in found.groups:
        stage = stage_label(context, group.key)
        lines.append(
            context.t(
                "deals.stage", stage=stage, count=group.count, total=_total(context, group.totals)
            )
        )
    rows: list[Row] = []
    for stage, deal, customer in found.page.items:
        label = f"{stage_label(context, stage)} · {deal.title} · {customer}"
        rows.append(
            [
                (label, DealAction("open", deal.id or 0)),
                (context.t("records.button.edit_short"), DealAction("edit", deal.id or 0)),
                (context.t("records.button.delete_short"), DealAction("delete", deal.id or 0)),
            ]
        )
    rows.append(keyset_nav_row(context.t, found.page, partial(ListPage, "deals")))
    await show(update, context, ("\n".join(lines), inline_keyboard(rows)))


async def pipeline(update: Update, context: CrmContext) -> None:
    assert update.effective_chat is not None
    member = context.require_member()
    try:
        totals = await context.db.read(
            count_pipeline, actor=member, stages=context.services.config.deals.stages
        )
    except NotFound:
        await context.bot.send_message(update.effective_chat.id, context.t("pipeline.leads_only"))
        return
    title = "pipeline.title_all" if member.role == Role.ADMIN else "pipeline.title_team"
    lines = [context.t(title), ""]
    if not totals.by_stage:
        lines.append(context.t("pipeline.none"))
    else:
        lines.append(context.t("pipeline.by_stage"))
        lines += [
            context.t(
                "pipeline.line",
                name=stage_label(context, g.key),
                count=g.count,
                total=_total(context, g.totals),
            )
            for g in totals.by_stage
        ]
        lines += ["", context.t("pipeline.by_owner")]
        lines += [
            context.t("pipeline.line", name=g.key, count=g.count, total=_total(context, g.totals))
            for g in totals.by_owner
        ]
    for message in split_blocks(lines, separator="\n"):  # a big team: by salesperson goes on
        await context.bot.send_message(update.effective_chat.id, message)


FEATURE = Feature(
    name="pipeline",
    commands=(Command("deals", deals), Command("pipeline", pipeline, LEADS)),
)
