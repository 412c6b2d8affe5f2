"""`/newdeal`: records a deal for a customer; its card moves it through the pipeline.

Asks the customer (by search, or prefilled from a customer's "New deal" button), the title
(required), amount, the customer's budget and decision date, stage (the configured pipeline),
expected close date, win probability, budget notes and decision-maker notes. Saved, the deal
shows as a card (handlers/deal_card.py) with a button per other stage. Moving to won or lost
first asks why, optionally (the small "deal_won" / "deal_lost" flows); other stages change at
once. A closed deal offers "Reopen" instead, after a Yes/No question. Storage records every
move (who, when, why). A won deal's card offers "Record purchase" and "Create contract", which
start the purchase or contract flow for its customer and deal; an open deal's card offers
"New contract".

    /newdeal -> customer -> title -> amount -> budget_amount -> decision_date -> stage
             -> close -> probability -> budget -> decision_maker -> confirm --Save--> card
    card --stage button--> [won/lost: deal_won/deal_lost (reason? -> confirm --Save-->)] -> card
    card (closed) --Reopen--> "really?" --Yes--> card with stage buttons; --No--> as it was
    card (won) --Record purchase / Create contract--> purchase / contract flow, prefilled
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from telegram import Update

from handlers.callback_data import DealAction
from handlers.context import CrmContext
from handlers.customer_pick import customer_field, picked_id
from handlers.customer_pick import label as customer_label
from handlers.deal_card import deal_card, stage_label
from handlers.feature import Callback, Command, Feature, Route
from handlers.flows import field_parsers as fp
from handlers.flows.engine import FlowEngine
from handlers.flows.flow import Choice, Env, Field, Flow
from handlers.keyboards import inline_keyboard
from handlers.telegram_helpers import answer_query, button_data, edit_message, guarded
from storage.calls import StorageCall
from storage.customers import get_customer
from storage.deals import (
    CLOSED_STAGES,
    LOST,
    WON,
    DealClosed,
    DealCreate,
    change_stage,
    create_deal,
    get_deal,
    reopen_deal,
)
from storage.models import Deal

logger = logging.getLogger(__name__)

FLOW_NAME = "deal"
REASON_FLOW_NAMES = {WON: "deal_won", LOST: "deal_lost"}  # the question says which
CONFIRMED, KEPT = "1", "0"  # the Reopen question's Yes and No


def stage_choices(env: Env) -> tuple[Choice, ...]:
    """The configured pipeline. The default stages have catalog labels (`deal.stage.<stage>`);
    a stage a team adds in its config has none, and is shown by its own name."""
    return tuple(Choice(stage, f"deal.stage.{stage}") for stage in env.stages)


def _never(_values: dict[str, Any]) -> bool:
    """A value the flow is started with (from a button), never asked."""
    return False


FIELDS = (
    customer_field(),
    Field("title", parse=fp.text("title"), required=True),
    Field("amount", parse=fp.money, show=fp.show_money),
    Field("budget_amount", parse=fp.money, show=fp.show_money),
    Field("decision_date", parse=fp.day("future"), show=fp.show_date),
    Field("stage", choices=stage_choices, required=True, show=lambda v, c: stage_label(c, v)),
    Field("close", parse=fp.day("future"), show=fp.show_date),
    Field("probability", parse=fp.probability, show=fp.show_percent),
    Field("budget", parse=fp.text("notes")),
    Field("decision_maker", parse=fp.text("notes")),
)
REASON_FIELDS = (
    Field("deal", when=_never),
    Field("reason", parse=fp.optional_text("reason")),
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
        **deal_details(values),
    )
    return StorageCall(create_deal, actor=context.require_member(), data=data)


def deal_details(values: dict[str, Any]) -> dict[str, Any]:
    """The answers past title, stage and amount as `DealCreate`'s fields (None where not
    given): the deal entry's, and /log's when the team requires some (`handlers.quick_log`)."""
    budget = fp.to_money(values.get("budget_amount"))
    return {
        "expected_close_date": fp.to_date(values.get("close")),
        "probability": values.get("probability"),
        "budget": budget.amount if budget else None,
        "budget_currency": budget.currency if budget else None,
        "decision_date": fp.to_date(values.get("decision_date")),
        "budget_notes": values.get("budget"),
        "decision_maker_notes": values.get("decision_maker"),
    }


async def show_deal(context: CrmContext, chat_id: int, deal: Deal) -> None:
    """Send the deal's card with its stage buttons (and the purchase button once won)."""
    text, keyboard = await deal_card(context, deal)
    await context.bot.send_message(chat_id, text, reply_markup=keyboard)


async def _after_save(context: CrmContext, chat_id: int, deal: Deal) -> None:
    await show_deal(context, chat_id, deal)


async def _after_closing(context: CrmContext, chat_id: int, closed: Deal | Refused) -> None:
    """The closed deal's card; or, when a colleague closed or removed it while the reason was
    being typed, what happened instead (nothing was written)."""
    if isinstance(closed, Deal):
        await show_deal(context, chat_id, closed)
    else:
        await context.bot.send_message(chat_id, context.t(closed.key))


@dataclass(frozen=True)
class Refused:
    """A save storage refused: the catalog text that says why."""

    key: str


def _reason_flow(stage: str) -> Flow:
    """Won or lost, with an optional reason: Skip (or typed "skip") closes it without one."""

    def save(
        context: CrmContext, values: dict[str, Any], _attachments: list[list[str]]
    ) -> StorageCall[Deal | Refused]:
        return (
            StorageCall(
                change_stage,
                actor=context.require_member(),
                deal_id=picked_id(values["deal"]),
                stage=stage,
                reason=values.get("reason") or None,
                stages=tuple(context.services.config.deals.stages),
            )
            .or_if_refused(Refused("deal.closed_meanwhile"), DealClosed)
            .or_if_missing(Refused("common.not_found"))
        )

    return Flow(
        name=REASON_FLOW_NAMES[stage], fields=REASON_FIELDS, save=save, after_save=_after_closing
    )


FLOW = Flow(name=FLOW_NAME, fields=FIELDS, save=_save, after_save=_after_save)
REASON_FLOWS = tuple(_reason_flow(stage) for stage in CLOSED_STAGES)


def bind(engine: FlowEngine) -> dict[str, Callback]:
    async def new_deal(update: Update, context: CrmContext) -> None:
        await engine.start(update, context, FLOW_NAME)

    async def deal_button(update: Update, context: CrmContext) -> None:
        """Open the card, move the stage, or record a purchase or contract: the id is checked
        first."""
        action = await button_data(update, context, DealAction)
        if action is None:
            return
        assert update.effective_chat is not None
        load = context.db.read(get_deal, actor=context.require_member(), deal_id=action.deal_id)
        # A stage move or reopen answers the press itself, with what it did.
        deal = await guarded(
            update, context, load, answer=action.action not in ("stage", "reopen")
        )
        if deal is None:
            return
        if action.action == "stage":
            await move(update, context, deal, action.value)
            return
        if action.action == "reopen":
            await reopen(update, context, deal, action.value)
            return
        if action.action in ("purchase", "contract"):
            await start_from_deal(update, context, deal, action.action)
        else:
            await show_deal(context, update.effective_chat.id, deal)

    async def move(update: Update, context: CrmContext, deal: Deal, index: str) -> None:
        """Won or lost asks why first; any other stage changes at once, on the same card. A
        closed deal is not moved (its card has no stage buttons: this press is old or forged)."""
        query = update.callback_query
        assert query is not None
        assert deal.id is not None
        stages = context.services.config.deals.stages
        if not index.isdigit() or int(index) >= len(stages):
            await answer_query(query, context.t("common.stale_button"))
            return
        stage = stages[int(index)]
        if deal.stage in CLOSED_STAGES and stage != deal.stage:
            await answer_query(query, context.t("deal.closed_refused"))
            return
        if stage in CLOSED_STAGES and stage != deal.stage:
            await answer_query(query)
            chosen = {"deal": {"id": str(deal.id), "label": deal.title}}
            await engine.start(update, context, REASON_FLOW_NAMES[stage], values=chosen)
            return
        try:
            moved = await context.db.run(
                change_stage,
                actor=context.require_member(),
                deal_id=deal.id,
                stage=stage,
                reason=None,
                stages=stages,
            )
        except DealClosed:  # closed by someone else since it was loaded
            await answer_query(query, context.t("deal.closed_refused"))
            return
        logger.info("moved a deal to %s", stage, extra={"member_id": context.member_id})
        await answer_query(query, context.t("deal.moved", stage=stage_label(context, stage)))
        text, keyboard = await deal_card(context, moved)
        await edit_message(query, text, keyboard)

    async def reopen(update: Update, context: CrmContext, deal: Deal, answer: str) -> None:
        """Reopen asks first; Yes puts the deal back in its last open stage, No keeps it."""
        query = update.callback_query
        assert query is not None
        assert update.effective_chat is not None
        assert deal.id is not None
        await answer_query(query)
        if answer == KEPT:
            await edit_message(query, context.t("deal.reopen.kept", title=deal.title))
            return
        if answer != CONFIRMED:
            yes = (context.t("deal.reopen.yes"), DealAction("reopen", deal.id, CONFIRMED))
            no = (context.t("deal.reopen.no"), DealAction("reopen", deal.id, KEPT))
            await context.bot.send_message(
                update.effective_chat.id,
                context.t("deal.reopen.confirm", title=deal.title),
                reply_markup=inline_keyboard([[yes, no]]),
            )
            return
        reopened = await context.db.run(
            reopen_deal,
            actor=context.require_member(),
            deal_id=deal.id,
            stages=tuple(context.services.config.deals.stages),
        )
        logger.info("reopened a deal", extra={"member_id": context.member_id})
        text, keyboard = await deal_card(context, reopened)
        await edit_message(query, text, keyboard)

    async def start_from_deal(
        update: Update, context: CrmContext, deal: Deal, flow_name: str
    ) -> None:
        """The purchase or contract flow (named as the button's action) for this deal."""
        customer = await context.db.read(
            get_customer, actor=context.require_member(), customer_id=deal.customer_id
        )
        values = {
            "customer": {"id": str(customer.id), "label": customer_label(customer)},
            "deal": {"id": str(deal.id), "label": deal.title},
        }
        await engine.start(update, context, flow_name, values=values)

    return {"new_deal": new_deal, "deal_button": deal_button}


FEATURE = Feature(
    name="deal",
    commands=(Command("newdeal", "new_deal"),),
    # edit / delete / restore belong to record maintenance (handlers.records.deals)
    routes=(
        Route(DealAction, "deal_button", ("open", "stage", "purchase", "contract", "reopen")),
    ),
    flows=(FLOW, *REASON_FLOWS),
    bind=bind,
)
