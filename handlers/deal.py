"""`/newdeal`: records a deal for a customer; its card moves it through the pipeline.

Asks the customer (by search, or prefilled from a customer's "New deal" button), the title
(required), amount, stage (the configured pipeline), expected close date, win probability,
budget notes and decision-maker notes. Saved, the deal shows as a card with a button per
other stage. Moving to won or lost first asks why (the small "stage_reason" flow); other
stages change at once. Storage records every move (who, when, why). A won deal's card offers
"Record purchase", which starts the purchase flow for its customer and deal.

    /newdeal -> customer -> title -> amount -> stage -> close -> probability -> budget
             -> decision_maker -> confirm --Save--> card
    card --stage button--> [won/lost: stage_reason (reason -> confirm --Save-->)] -> card
    card (won) --Record purchase--> purchase flow, prefilled
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import InlineKeyboardMarkup, Update

from handlers.callback_data import DealAction
from handlers.context import CrmContext
from handlers.customer_pick import customer_field, picked_id
from handlers.customer_pick import label as customer_label
from handlers.feature import Callback, Command, Feature, Route
from handlers.flows import field_parsers as fp
from handlers.flows.engine import FlowEngine
from handlers.flows.flow import Choice, Env, Field, Flow, label_of
from handlers.formatting import format_date, format_money
from handlers.keyboards import inline_keyboard
from handlers.purchase import FLOW_NAME as PURCHASE_FLOW_NAME
from handlers.telegram_helpers import answer_query, button_data, edit_message
from storage.access import NotFound
from storage.calls import StorageCall
from storage.customers import get_customer
from storage.deals import (
    CLOSED_STAGES,
    WON,
    DealCreate,
    change_stage,
    create_deal,
    get_deal,
)
from storage.models import Deal
from storage.parsing import Money

logger = logging.getLogger(__name__)

FLOW_NAME = "deal"
REASON_FLOW_NAME = "stage_reason"


def stage_choices(env: Env) -> tuple[Choice, ...]:
    """The configured pipeline. The default stages have catalog labels (`deal.stage.<stage>`);
    a stage a team adds in its config has none, and is shown by its own name."""
    return tuple(Choice(stage, f"deal.stage.{stage}") for stage in env.stages)


def stage_label(context: CrmContext, stage: str) -> str:
    return label_of(context, Choice(stage, f"deal.stage.{stage}"))


def _never(_values: dict[str, Any]) -> bool:
    """A value the flow is started with (from a button), never asked."""
    return False


FIELDS = (
    customer_field(),
    Field("title", parse=fp.text("title"), required=True),
    Field("amount", parse=fp.money, show=fp.show_money),
    Field("stage", choices=stage_choices, required=True, show=lambda v, c: stage_label(c, v)),
    Field("close", parse=fp.day("future"), show=fp.show_date),
    Field("probability", parse=fp.probability, show=fp.show_percent),
    Field("budget", parse=fp.text("notes")),
    Field("decision_maker", parse=fp.text("notes")),
)
REASON_FIELDS = (
    Field("deal", when=_never),
    Field("stage", when=_never),
    Field("reason", parse=fp.text("reason"), required=True),
)


def _save(
    context: CrmContext, values: dict[str, Any], _attachments: list[list[str]]
) -> StorageCall[Deal]:
    money = fp.to_money(values.get("amount"))
    data = DealCreate(
        customer_id=picked_id(values["customer"]),
        title=values["title"],
        stage=values["stage"],
        amount=money.amount if money else None,
        currency=money.currency if money else None,
        expected_close_date=fp.to_date(values.get("close")),
        probability=values.get("probability"),
        budget_notes=values.get("budget"),
        decision_maker_notes=values.get("decision_maker"),
    )
    return StorageCall(create_deal, actor=context.require_member(), data=data)


async def show_deal(context: CrmContext, chat_id: int, deal: Deal) -> None:
    """Send the deal's card with its stage buttons (and the purchase button once won)."""
    text, keyboard = await deal_card(context, deal)
    await context.bot.send_message(chat_id, text, reply_markup=keyboard)


async def deal_card(context: CrmContext, deal: Deal) -> tuple[str, InlineKeyboardMarkup | None]:
    customer = await context.db.read(
        get_customer, actor=context.require_member(), customer_id=deal.customer_id
    )
    empty = context.t("deal.card_empty")
    amount = (
        format_money(Money(deal.amount, deal.currency), lang=context.language)
        if deal.amount is not None and deal.currency
        else empty
    )
    close = deal.expected_close_date
    text = context.t(
        "deal.card",
        id=deal.id,
        title=deal.title,
        customer=customer_label(customer),
        amount=amount,
        stage=stage_label(context, deal.stage),
        close=format_date(close, lang=context.language) if close else empty,
    )
    if deal.close_reason:
        text += "\n" + context.t("deal.card_reason", reason=deal.close_reason)
    return text, _card_keyboard(context, deal)


def _card_keyboard(context: CrmContext, deal: Deal) -> InlineKeyboardMarkup | None:
    assert deal.id is not None
    stages = context.services.config.deals.stages
    buttons = [
        (stage_label(context, stage), DealAction("stage", deal.id, str(index)))
        for index, stage in enumerate(stages)
        if stage != deal.stage
    ]
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    if deal.stage == WON:
        rows.append([(context.t("deal.button.purchase"), DealAction("purchase", deal.id))])
    return inline_keyboard(rows)


async def _after_save(context: CrmContext, chat_id: int, deal: Deal) -> None:
    await show_deal(context, chat_id, deal)


def _save_reason(
    context: CrmContext, values: dict[str, Any], _attachments: list[list[str]]
) -> StorageCall[Deal]:
    return StorageCall(
        change_stage,
        actor=context.require_member(),
        deal_id=picked_id(values["deal"]),
        stage=values["stage"],
        reason=values["reason"],
        stages=tuple(context.services.config.deals.stages),
    )


FLOW = Flow(name=FLOW_NAME, fields=FIELDS, save=_save, after_save=_after_save)
REASON_FLOW = Flow(
    name=REASON_FLOW_NAME, fields=REASON_FIELDS, save=_save_reason, after_save=_after_save
)


def bind(engine: FlowEngine) -> dict[str, Callback]:
    async def new_deal(update: Update, context: CrmContext) -> None:
        await engine.start(update, context, FLOW_NAME)

    async def deal_button(update: Update, context: CrmContext) -> None:
        """Open the card, move the stage, or record a purchase: the id is checked first."""
        action = await button_data(update, context, DealAction)
        if action is None:
            return
        query = update.callback_query
        assert query is not None
        assert update.effective_chat is not None
        try:
            deal = await context.db.read(
                get_deal, actor=context.require_member(), deal_id=action.deal_id
            )
        except NotFound:
            await answer_query(query, context.t("common.not_found"))
            return
        if action.action == "stage":
            await move(update, context, deal, action.value)
            return
        await answer_query(query)
        if action.action == "purchase":
            await start_purchase(update, context, deal)
        else:
            await show_deal(context, update.effective_chat.id, deal)

    async def move(update: Update, context: CrmContext, deal: Deal, index: str) -> None:
        """Won or lost asks why first; any other stage changes at once, on the same card."""
        query = update.callback_query
        assert query is not None
        assert deal.id is not None
        stages = context.services.config.deals.stages
        if not index.isdigit() or int(index) >= len(stages):
            await answer_query(query, context.t("common.stale_button"))
            return
        stage = stages[int(index)]
        if stage in CLOSED_STAGES and stage != deal.stage:
            await answer_query(query)
            chosen = {"deal": {"id": str(deal.id), "label": deal.title}, "stage": stage}
            await engine.start(update, context, REASON_FLOW_NAME, values=chosen)
            return
        moved = await context.db.run(
            change_stage,
            actor=context.require_member(),
            deal_id=deal.id,
            stage=stage,
            reason=None,
            stages=stages,
        )
        logger.info("moved a deal to %s", stage, extra={"member_id": context.member_id})
        await answer_query(query, context.t("deal.moved", stage=stage_label(context, stage)))
        text, keyboard = await deal_card(context, moved)
        await edit_message(query, text, keyboard)

    async def start_purchase(update: Update, context: CrmContext, deal: Deal) -> None:
        customer = await context.db.read(
            get_customer, actor=context.require_member(), customer_id=deal.customer_id
        )
        values = {
            "customer": {"id": str(customer.id), "label": customer_label(customer)},
            "deal": {"id": str(deal.id), "label": deal.title},
        }
        await engine.start(update, context, PURCHASE_FLOW_NAME, values=values)

    return {"new_deal": new_deal, "deal_button": deal_button}


FEATURE = Feature(
    name="deal",
    commands=(Command("newdeal", "new_deal"),),
    # edit / delete / restore belong to record maintenance (handlers.records.deals)
    routes=(Route(DealAction, "deal_button", ("open", "stage", "purchase")),),
    flows=(FLOW, REASON_FLOW),
    bind=bind,
)
