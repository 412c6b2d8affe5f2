"""Changing a deal: Edit a field, Delete (soft), Restore (admins), from the buttons in `/deals`.

    /deals --✏️--> pick a field --> "edit_deal" flow: that one question (the entry flow's
                   parser and wording, its current value kept by Skip, emptied only by a
                   confirmed Clear) -> confirm --Save--> update_deal -> deal card again
    /deals --🗑--> "really?" --Yes--> archived (gone from /deals, pipeline and cards)
    /restore (admins) lists deleted deals --Restore--> back

The stage is not in the field list: it moves on the deal card's stage buttons, which keep the
pipeline history and ask why a deal was won or lost. Every id in a button is untrusted: it
goes through storage with the actor, and a missing, deleted or foreign deal gets the same
"not found". The small helpers at the top are shared with records.py and records_notes.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from telegram import Update

from handlers import field_parsers as fp
from handlers.callback_data import DealAction
from handlers.context import CrmContext
from handlers.deal import FIELDS as DEAL_FIELDS
from handlers.deal import show_deal
from handlers.feature import Callback, Feature, Route
from handlers.flow import Field, Flow
from handlers.flow_engine import FlowEngine
from handlers.keyboards import Row, inline_keyboard
from handlers.telegram_helpers import button_data, edit_message, guarded
from storage.access import NotFound
from storage.calls import StorageCall
from storage.deals import get_deal
from storage.models import Deal, Member
from storage.record_changes import archive_deal, list_deleted_deals, restore_deal, update_deal

logger = logging.getLogger(__name__)


EDIT_FLOW = "edit_deal"
FIELD_KEY = "_field"  # hidden values of an edit flow: which field, which record,
RECORD_KEY = "_record"
ORIGINAL_KEY = "_was"  # and the field's value when the edit began
CONFIRMED = "1"
ACTIONS = ("edit", "delete", "restore")
# Entry-flow field -> deal column, for the fields that map one to one.
COLUMNS = {
    "title": "title",
    "probability": "probability",
    "budget": "budget_notes",
    "decision_maker": "decision_maker_notes",
}


@dataclass(frozen=True)
class Outcome:
    """What a saved change tells the member: a catalog text, and the record to show after."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)
    record_id: int | None = None


def only(name: str) -> Callable[[dict[str, Any]], bool]:
    """An edit flow asks one field of the entry flow: the one in the hidden `FIELD_KEY`."""

    def applies(values: dict[str, Any]) -> bool:
        return values.get(FIELD_KEY) == name

    return applies


def edit_fields(fields: tuple[Any, ...], names: tuple[str, ...]) -> tuple[Any, ...]:
    """The entry flow's fields named `names`, each asked only when it is the one edited."""
    return tuple(replace(f, when=only(f.name)) for f in fields if f.name in names)


EDIT_FIELDS = edit_fields(DEAL_FIELDS, ("title", "amount", "close", "probability", *COLUMNS))


def edited(values: dict[str, Any]) -> tuple[str, Any] | None:
    """The edited field and its new value, or None if it is what it was when the edit began
    (Skip keeps it): then nothing is written, not even over a colleague's change meanwhile."""
    name = values[FIELD_KEY]
    if name not in values or values[name] == values.get(ORIGINAL_KEY):
        return None
    return name, values[name]


def changes_for(name: str, value: Any) -> dict[str, Any]:
    """An edit-flow answer as deal columns (amount and currency travel together)."""
    if name == "amount":
        money = fp.to_money(value)
        return (
            {"amount": money.amount, "currency": money.currency}
            if money
            else {"amount": None, "currency": None}
        )
    if name == "close":
        return {"expected_close_date": fp.to_date(value)}
    return {COLUMNS[name]: value}


def flow_value(deal: Deal, name: str) -> Any:
    """A deal column in the shape the entry flow answers in, to show "now: ..."."""
    if name == "amount":
        if deal.amount is None or not deal.currency:
            return None
        return {"amount": str(deal.amount), "currency": deal.currency}
    if name == "close":
        return deal.expected_close_date.isoformat() if deal.expected_close_date else None
    return getattr(deal, COLUMNS[name])


def _save_edit(
    context: CrmContext, values: dict[str, Any], _attachments: list[list[str]]
) -> StorageCall[Outcome]:
    """Only the edited field, and only if its value changed."""
    change = edited(values)
    deal_id = int(values[RECORD_KEY]["id"])
    changes = changes_for(*change) if change else {}
    if not changes:
        return StorageCall.done(Outcome("records.edit.unchanged", record_id=deal_id))
    return (
        StorageCall(update_deal, actor=context.require_member(), deal_id=deal_id, changes=changes)
        .returning(lambda deal: Outcome("records.edit.saved", {"name": deal.title}, deal_id))
        .or_if_missing(Outcome("common.not_found"))
    )


async def _after_save(context: CrmContext, chat_id: int, outcome: Outcome) -> None:
    await context.bot.send_message(chat_id, context.t(outcome.key, **outcome.params))
    if outcome.record_id is None:
        return
    try:
        deal = await context.db.read(
            get_deal, actor=context.require_member(), deal_id=outcome.record_id
        )
    except NotFound:
        await context.bot.send_message(chat_id, context.t("common.not_found"))
        return
    await show_deal(context, chat_id, deal)


@dataclass(frozen=True)
class EditStart:
    """Which edit flow, which of its fields, its label key, the record's name and id, and the
    hidden key the flow keeps the record under."""

    flow: str
    field: Field
    label_key: str
    name: str
    record_id: int
    record_key: str = RECORD_KEY


async def start_edit(
    update: Update, context: CrmContext, engine: FlowEngine, start: EditStart, now: Any
) -> None:
    """Which record and field, then the edit flow asking just that field with its current
    value as the answer: shown as "Now: ...", kept by Skip, removed only by Clear."""
    assert update.effective_chat is not None
    intro = context.t("records.edit.intro", name=start.name, field=context.t(start.label_key))
    await context.bot.send_message(update.effective_chat.id, intro)
    name = start.field.name
    picked = {"id": str(start.record_id), "label": start.name}
    values = {FIELD_KEY: name, start.record_key: picked, ORIGINAL_KEY: now, name: now}
    await engine.start(update, context, start.flow, values=values, ask=name)


FLOWS: tuple[Flow, ...] = (
    Flow(
        name=EDIT_FLOW,
        fields=EDIT_FIELDS,
        save=_save_edit,
        after_save=_after_save,
        show_empty=True,
    ),
)


async def _edit(
    update: Update, context: CrmContext, action: DealAction, engine: FlowEngine
) -> None:
    """Without a field: the list of fields. With one: its question, as in the entry flow."""
    assert update.effective_chat is not None
    member = context.require_member()
    deal = await guarded(
        update, context, context.db.read(get_deal, actor=member, deal_id=action.deal_id)
    )
    if deal is None:
        return
    index = int(action.value) if action.value else len(EDIT_FIELDS)
    if index >= len(EDIT_FIELDS):
        rows = [
            [(context.t(f"deal.field.{f.name}"), DealAction("edit", action.deal_id, str(i)))]
            for i, f in enumerate(EDIT_FIELDS)
        ]
        text = context.t("records.edit.choose", name=deal.title)
        await context.bot.send_message(
            update.effective_chat.id, text, reply_markup=inline_keyboard(rows)
        )
        return
    chosen = EDIT_FIELDS[index]
    await start_edit(
        update,
        context,
        engine,
        EditStart(EDIT_FLOW, chosen, f"deal.field.{chosen.name}", deal.title, action.deal_id),
        flow_value(deal, chosen.name),
    )


async def _delete(update: Update, context: CrmContext, action: DealAction) -> None:
    """First press asks; the "Yes" button (value 1) archives."""
    query = update.callback_query
    assert query is not None
    assert update.effective_chat is not None
    member = context.require_member()
    confirmed = action.value == CONFIRMED
    call = context.db.run if confirmed else context.db.read
    load = archive_deal if confirmed else get_deal
    deal = await guarded(update, context, call(load, actor=member, deal_id=action.deal_id))
    if deal is None:
        return
    if confirmed:
        await edit_message(query, context.t("records.delete.done", name=deal.title))
        return
    yes = (context.t("records.delete.yes"), DealAction("delete", action.deal_id, CONFIRMED))
    await context.bot.send_message(
        update.effective_chat.id,
        context.t("records.deal.delete_confirm", name=deal.title),
        reply_markup=inline_keyboard([[yes]]),
    )


async def _restore(update: Update, context: CrmContext, action: DealAction) -> None:
    assert update.effective_chat is not None
    member = context.require_member()
    deal = await guarded(
        update, context, context.db.run(restore_deal, actor=member, deal_id=action.deal_id)
    )
    if deal is not None:
        await context.bot.send_message(
            update.effective_chat.id, context.t("records.restore.done", name=deal.title)
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
            await _delete(update, context, action)
        else:
            await _restore(update, context, action)

    return {"deal_button": deal_button}


FEATURE = Feature(
    name="records_deals",
    routes=(Route(DealAction, "deal_button", ACTIONS),),
    flows=FLOWS,
    bind=bind,
)
