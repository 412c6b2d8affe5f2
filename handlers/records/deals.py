"""Changing a deal: Edit a field, Delete (soft), Restore (admins), from the buttons in `/deals`.

    /deals --✏️--> pick a field --> "edit_deal" flow: that one question (the entry flow's
                   parser and wording, its current value kept by Skip, emptied only by a
                   confirmed Clear) -> confirm --Save--> update_deal -> deal card again
    /deals --🗑--> "really?" --Yes--> archived (gone from /deals, pipeline and cards)
    /restore (admins) lists deleted deals --Restore--> back

The stage is not in the field list: it moves on the deal card's stage buttons, which keep the
pipeline history and ask why a deal was won or lost. Every id in a button is untrusted: it
goes through storage with the actor, and a missing, deleted or foreign deal gets the same
"not found". The edit itself is edit.py's, the delete and restore removal.py's.
"""

from __future__ import annotations

import logging

from telegram import Update

from handlers.callback_data import DealAction
from handlers.context import CrmContext
from handlers.deal import FIELDS as DEAL_FIELDS
from handlers.deal import show_deal
from handlers.feature import Callback, Feature, Route
from handlers.flows.engine import FlowEngine
from handlers.flows.flow import Flow
from handlers.keyboards import Row
from handlers.records.edit import Columns, RecordEdit, edit_fields
from handlers.records.removal import named
from handlers.telegram_helpers import button_data
from storage.access import NotFound
from storage.calls import StorageCall
from storage.deals import get_deal
from storage.models import Member
from storage.record_changes import archive_deal, list_deleted_deals, restore_deal, update_deal

logger = logging.getLogger(__name__)


ACTIONS = ("edit", "delete", "restore")
# Entry-flow field -> deal column, for the fields that map one to one.
COLUMNS = {
    "title": "title",
    "probability": "probability",
    "budget": "budget_notes",
    "decision_maker": "decision_maker_notes",
}
# Money fields: entry-flow field -> (amount column, currency column).
MONEY = {"amount": ("amount", "currency"), "budget_amount": ("budget", "budget_currency")}
DATES = {"close": "expected_close_date", "decision_date": "decision_date"}
EDIT_FIELDS = edit_fields(DEAL_FIELDS, ("title", *MONEY, *DATES, "probability", *COLUMNS))
DEAL_COLUMNS = Columns(plain=COLUMNS, money=MONEY, dates=DATES)


async def _show(context: CrmContext, chat_id: int, deal_id: int) -> None:
    try:
        deal = await context.db.read(get_deal, actor=context.require_member(), deal_id=deal_id)
    except NotFound:
        await context.bot.send_message(chat_id, context.t("common.not_found"))
        return
    await show_deal(context, chat_id, deal)


EDIT = RecordEdit(
    flow="edit_deal",
    fields=EDIT_FIELDS,
    label="deal.field",
    update=lambda actor, deal_id, changes: StorageCall(
        update_deal, actor=actor, deal_id=deal_id, changes=changes
    ),
    saved=lambda deal: ("records.edit.saved", {"name": deal.title}),
    show=_show,
    changes=DEAL_COLUMNS.changes,
)
FLOWS: tuple[Flow, ...] = (EDIT.as_flow(),)


async def _edit(
    update: Update, context: CrmContext, action: DealAction, engine: FlowEngine
) -> None:
    """Without a field: the list of fields. With one: its question, as in the entry flow."""
    await EDIT.on_button(
        update,
        context,
        engine,
        load=context.db.read(get_deal, actor=context.require_member(), deal_id=action.deal_id),
        record_id=action.deal_id,
        choice=action.value,
        name=lambda deal: deal.title,
        now=DEAL_COLUMNS.now,
        button=lambda i: DealAction("edit", action.deal_id, i),
    )


REMOVAL = named(
    "deal_id",
    (get_deal, archive_deal, restore_deal),
    confirm="records.deal.delete_confirm",
    attr="title",
    button=DealAction,
)


async def restore_rows(context: CrmContext, member: Member) -> list[Row]:
    """The /restore section for deals: one Restore button each. NotFound for non-admins."""
    deleted = await context.db.read(list_deleted_deals, actor=member)
    return [[(f"♻️ {d.title} #{d.id}", DealAction("restore", d.id or 0))] for d in deleted]


def bind(engine: FlowEngine) -> dict[str, Callback]:
    async def deal_button(update: Update, context: CrmContext) -> None:
        action = await button_data(update, context, DealAction)
        if action is None:
            return
        if action.action == "edit":
            await _edit(update, context, action, engine)
        elif action.action == "delete":
            await REMOVAL.on_delete(update, context, action.deal_id, action.value)
        else:
            await REMOVAL.on_restore(update, context, action.deal_id)

    return {"deal_button": deal_button}


FEATURE = Feature(
    name="records_deals",
    routes=(Route(DealAction, "deal_button", ACTIONS),),
    flows=FLOWS,
    bind=bind,
)
