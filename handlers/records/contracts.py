"""Changing a contract: Edit a field, Delete (soft), Restore (admins), and its History, from
the buttons on its card (handlers/contract_card.py).

    card --✏️--> pick a field --> "edit_contract" flow: that one question (the entry flow's
                 parser and wording, its current value kept by Skip, emptied only by a
                 confirmed Clear) -> confirm --Save--> update_contract -> card again
    card --🗑--> "really?" --Yes--> archived (off the customer card); /restore (admins) back
    card --📜--> the contract's audit log, 8 entries a page

The number is in the field list (still unique: a taken one is asked again, and one taken
meanwhile is not saved); the customer, deal and files are not yet, nor the status, which
moves on the card's own buttons. Every id in a button is untrusted: a missing, deleted or
foreign contract gets the same "not found". The edit itself is edit.py's, the delete and
restore removal.py's.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from telegram import Update

from handlers import contract_fields as cf
from handlers.callback_data import ContractAction
from handlers.context import CrmContext
from handlers.contract import FIELDS as CONTRACT_FIELDS
from handlers.contract_card import show_contract
from handlers.feature import Callback, Feature, Route
from handlers.flows.engine import FlowEngine
from handlers.flows.flow import Flow
from handlers.history import PER_PAGE, history_lines
from handlers.keyboards import Row, inline_keyboard
from handlers.records.edit import ORIGINAL_KEY, Columns, RecordEdit, edit_fields
from handlers.records.removal import named
from handlers.telegram_helpers import button_data, guarded
from storage.calls import StorageCall
from storage.contract_changes import (
    EditRefused,
    archive_contract,
    list_contract_history,
    list_deleted_contracts,
    restore_contract,
    update_contract,
)
from storage.contracts import DuplicateNumber, get_contract
from storage.models import Contract, Member
from storage.parsing import ParseError

ACTIONS = ("edit", "delete", "restore", "history")
DATES = {name: name for name in ("signed_on", "starts_on", "ends_on")}
COLUMNS = Columns(
    plain={
        "number": "number",
        "title": "title",
        "terms": "terms",
        "notice": "renewal_notice_days",
    },
    money={"amount": ("amount", "currency")},
    dates=DATES,
)


async def _free_or_its_own(context: CrmContext, values: dict[str, Any], value: str) -> Any:
    """A number no other contract has; the contract's own is kept, not refused as taken."""
    if value == values.get(ORIGINAL_KEY):
        return value
    found = await cf.free_number(context, values, value)
    if isinstance(found, ParseError):
        return ParseError("contract.number_taken_edit", found.params)
    return found


EDIT_FIELDS = tuple(
    replace(f, resolve=_free_or_its_own) if f.name == "number" else f
    for f in edit_fields(CONTRACT_FIELDS, ("number", "title", "amount", *DATES, "terms", "notice"))
)
TAKEN = "taken"  # the number was given to another contract between the question and Save


def _saved(contract: Contract | str | None) -> tuple[str, dict[str, Any]]:
    if contract == TAKEN:
        return "contract.number_taken_meanwhile", {}
    if not isinstance(contract, Contract):  # the dates would no longer make a term
        return "contract.edit_refused", {}
    return "records.edit.saved", {"name": contract.number}


EDIT = RecordEdit(
    flow="edit_contract",
    fields=EDIT_FIELDS,
    label="contract.field",
    update=lambda actor, contract_id, changes: (
        StorageCall(update_contract, actor=actor, contract_id=contract_id, changes=changes)
        .or_if_refused(None, EditRefused)
        .or_if_refused(TAKEN, DuplicateNumber)
    ),
    saved=_saved,
    show=show_contract,
    changes=COLUMNS.changes,
)
FLOWS: tuple[Flow, ...] = (EDIT.as_flow(),)

REMOVAL = named(
    "contract_id",
    (get_contract, archive_contract, restore_contract),
    confirm="contract.delete_confirm",
    attr="number",
    button=ContractAction,
)


async def restore_rows(context: CrmContext, member: Member) -> list[Row]:
    """The /restore section for contracts: one Restore button each. NotFound for non-admins."""
    deleted = await context.db.read(list_deleted_contracts, actor=member)
    return [[(f"♻️ {c.number}", ContractAction("restore", c.id or 0))] for c in deleted]


async def _edit(
    update: Update, context: CrmContext, action: ContractAction, engine: FlowEngine
) -> None:
    """Without a field: the list of fields. With one: its question, as in the entry flow."""
    member = context.require_member()
    await EDIT.on_button(
        update,
        context,
        engine,
        load=context.db.read(get_contract, actor=member, contract_id=action.contract_id),
        record_id=action.contract_id,
        choice=action.value,
        name=lambda contract: contract.number,
        now=COLUMNS.now,
        button=lambda i: ContractAction("edit", action.contract_id, i),
    )


async def _history(update: Update, context: CrmContext, action: ContractAction) -> None:
    """Who changed what and when, newest first, a page at a time under the card."""
    assert update.effective_chat is not None
    page = max(int(action.value or "1"), 1)
    member = context.require_member()
    load = context.db.read(get_contract, actor=member, contract_id=action.contract_id)
    contract = await guarded(update, context, load)
    if contract is None:
        return
    entries = await context.db.read(
        list_contract_history,
        actor=member,
        contract_id=action.contract_id,
        limit=PER_PAGE + 1,
        offset=(page - 1) * PER_PAGE,
    )
    lines = [context.t("contract.history_title", number=contract.number, page=page)]
    for entry in entries[:PER_PAGE]:
        lines += history_lines(context, entry)
    nav = []
    if page > 1:
        nav.append(("«", ContractAction("history", action.contract_id, str(page - 1))))
    if len(entries) > PER_PAGE:
        nav.append(("»", ContractAction("history", action.contract_id, str(page + 1))))
    await context.bot.send_message(
        update.effective_chat.id, "\n".join(lines), reply_markup=inline_keyboard([nav])
    )


def bind(engine: FlowEngine) -> dict[str, Callback]:
    async def contract_button(update: Update, context: CrmContext) -> None:
        action = await button_data(update, context, ContractAction)
        if action is None:
            return
        if action.action == "edit":
            await _edit(update, context, action, engine)
        elif action.action == "history":
            await _history(update, context, action)
        elif action.action == "delete":
            await REMOVAL.on_delete(update, context, action.contract_id, action.value)
        else:
            await REMOVAL.on_restore(update, context, action.contract_id)

    return {"contract_button": contract_button}


FEATURE = Feature(
    name="records_contracts",
    routes=(Route(ContractAction, "contract_button", ACTIONS),),
    flows=FLOWS,
    bind=bind,
)
