"""A deal's card: its fields, how it closed, its own stage history, and the buttons it offers.

An open deal offers a button per other stage and "New contract"; a won or lost deal offers only
"Reopen" (and "Record purchase" and "Create contract" once won), because a stray press on a
stage button used to undo a closed deal without a question. The history lists the latest
moves (from → to, when in the member's timezone, who), so the card stays far under Telegram's
limit; `fit_html` is the last guard.
"""

from __future__ import annotations

from decimal import Decimal

from telegram import InlineKeyboardMarkup

from handlers.callback_data import DealAction
from handlers.context import CrmContext
from handlers.customer_pick import label as customer_label
from handlers.flows.flow import Choice, label_of
from handlers.formatting import format_date, format_money, format_when
from handlers.keyboards import inline_keyboard
from handlers.text_limits import fit_html
from storage.customers import get_customer
from storage.deals import CLOSED_STAGES, WON, list_stage_moves
from storage.models import Deal
from storage.parsing import Money

HISTORY_LIMIT = 10  # moves shown on the card; older ones are counted


def stage_label(context: CrmContext, stage: str) -> str:
    return label_of(context, Choice(stage, f"deal.stage.{stage}"))


async def deal_card(context: CrmContext, deal: Deal) -> tuple[str, InlineKeyboardMarkup | None]:
    assert deal.id is not None
    member = context.require_member()
    customer = await context.db.read(get_customer, actor=member, customer_id=deal.customer_id)
    empty = context.t("deal.card_empty")
    close = deal.expected_close_date
    lines = [
        context.t(
            "deal.card",
            id=deal.id,
            title=deal.title,
            customer=customer_label(customer),
            amount=_money(context, deal.amount, deal.currency) or empty,
            stage=stage_label(context, deal.stage),
            close=format_date(close, lang=context.language) if close else empty,
        )
    ]
    if budget := _money(context, deal.budget, deal.budget_currency):
        lines.append(context.t("deal.card_budget", budget=budget))
    if deal.decision_date:
        decision = format_date(deal.decision_date, lang=context.language)
        lines.append(context.t("deal.card_decision", date=decision))
    if deal.stage in CLOSED_STAGES:
        lines.append(_outcome(context, deal))
    lines.extend(await _history(context, deal.id))
    return fit_html("\n".join(lines)), _keyboard(context, deal)


def _money(context: CrmContext, amount: Decimal | None, currency: str | None) -> str | None:
    if amount is None or not currency:
        return None
    return format_money(Money(amount, currency), lang=context.language)


def _outcome(context: CrmContext, deal: Deal) -> str:
    """ "🏆 Won: best price" or "Lost (no reason given)": the outcome in the member's words."""
    if deal.close_reason:
        return context.t(f"deal.outcome.{deal.stage}", reason=deal.close_reason)
    return context.t(f"deal.outcome.{deal.stage}_no_reason")


async def _history(context: CrmContext, deal_id: int) -> list[str]:
    moves, total = await context.db.read(
        list_stage_moves, actor=context.require_member(), deal_id=deal_id, limit=HISTORY_LIMIT
    )
    if not moves:
        return []
    lines = ["", context.t("deal.history.title")]
    if total > len(moves):
        lines.append(context.t("deal.history.earlier", count=total - len(moves)))
    lines.extend(
        context.t(
            "deal.history.move",
            when=format_when(move.changed_at, tz=context.tz, lang=context.language),
            before=stage_label(context, move.from_stage),
            after=stage_label(context, move.to_stage),
            member=move.changed_by,
        )
        for move in moves
    )
    return lines


def _keyboard(context: CrmContext, deal: Deal) -> InlineKeyboardMarkup | None:
    assert deal.id is not None
    if deal.stage in CLOSED_STAGES:
        rows = [[(context.t("deal.button.reopen"), DealAction("reopen", deal.id))]]
    else:
        stages = context.services.config.deals.stages
        buttons = [
            (stage_label(context, stage), DealAction("stage", deal.id, str(index)))
            for index, stage in enumerate(stages)
            if stage != deal.stage
        ]
        rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    if deal.stage == WON:
        rows.append(
            [
                (context.t("deal.button.purchase"), DealAction("purchase", deal.id)),
                (context.t("deal.button.contract_won"), DealAction("contract", deal.id)),
            ]
        )
    elif deal.stage not in CLOSED_STAGES:
        rows.append([(context.t("deal.button.contract"), DealAction("contract", deal.id))])
    return inline_keyboard(rows)
