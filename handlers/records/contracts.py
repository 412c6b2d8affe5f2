"""Changing a contract: Edit a field, Delete (soft), Restore (admins), and its History, from
the buttons on its card (handlers/contract_card.py).

    card --✏️--> pick a field --> "edit_contract" flow: that one question (the entry flow's
                 parser and wording, its current value kept by Skip, emptied only by a
                 confirmed Clear) -> confirm --Save--> update_contract -> card again
    card --🗑--> "really?" --Yes--> archived (off the customer card); /restore (admins) back
    card --📜--> the contract's audit log, 8 entries a page

The number is in the field list (still unique: a taken one is asked again, and one taken
meanwhile is not saved), and so are the customer (searched as at entry; a new one offers its
deals next, and the old customer's deal is let go), the deal (one of the customer's, or
Clear) and the files (more are added; the card's Files sends them all). The status is not:
it moves on the card's own buttons. Every id in a button is untrusted: a missing, deleted or
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
from handlers.customer_pick import customer_field, picked_id
from handlers.customer_pick import label as customer_label
from handlers.feature import Callback, Feature, Route
from handlers.flows.engine import FlowEngine
from handlers.flows.flow import Field, Flow, Option
from handlers.history import PER_PAGE, history_lines
from handlers.keyboards import Row, inline_keyboard
from handlers.records.edit import (
    FIELD_KEY,
    ORIGINAL_KEY,
    RECORD_KEY,
    Columns,
    Outcome,
    RecordEdit,
    edit_fields,
    only,
)
from handlers.records.removal import named
from handlers.telegram_helpers import button_data, guarded
from storage.access import NotFound
from storage.calls import StorageCall
from storage.contract_changes import (
    EditRefused,
    add_contract_files,
    archive_contract,
    list_contract_history,
    list_deleted_contracts,
    restore_contract,
    update_contract,
)
from storage.contract_views import ContractView, deals_to_contract, get_contract_view
from storage.contracts import DuplicateNumber, get_contract
from storage.interactions import AttachmentRef
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


def _moved(values: dict[str, Any]) -> bool:
    """The customer edit picked another customer than the contract's."""
    customer, was = values.get("customer"), values.get(ORIGINAL_KEY)
    return isinstance(customer, dict) and (
        not isinstance(was, dict) or customer["id"] != was["id"]
    )


def _deal_asked(values: dict[str, Any]) -> bool:
    """The deal is edited on its own, and asked again after a move to another customer."""
    return values.get(FIELD_KEY) == "deal" or (
        values.get(FIELD_KEY) == "customer" and _moved(values)
    )


async def _deals(context: CrmContext, values: dict[str, Any]) -> list[Option]:
    """The deals of the customer picked, or else of the contract's customer, won first."""
    member = context.require_member()
    customer = values.get("customer")
    try:
        if isinstance(customer, dict):
            customer_id = picked_id(customer)
        else:
            contract_id = int(values[RECORD_KEY]["id"])
            contract = await context.db.read(get_contract, actor=member, contract_id=contract_id)
            customer_id = contract.customer_id
        deals = await context.db.read(deals_to_contract, actor=member, customer_id=customer_id)
    except NotFound:
        return []
    return [(str(d.id), d.title) for d in deals]


PLACE_FIELDS = (
    replace(customer_field(), when=only("customer"), resets=("deal",)),
    Field("deal", suggest=_deals, when=_deal_asked),
)
EDIT_FIELDS = (
    *(
        replace(f, resolve=_free_or_its_own) if f.name == "number" else f
        for f in edit_fields(
            CONTRACT_FIELDS, ("number", "title", "amount", *DATES, "terms", "notice", "files")
        )
    ),
    *PLACE_FIELDS,
)
TAKEN = "taken"  # the number was given to another contract between the question and Save


def _saved(contract: Contract | str | None) -> tuple[str, dict[str, Any]]:
    if contract == TAKEN:
        return "contract.number_taken_meanwhile", {}
    if not isinstance(contract, Contract):  # the dates would no longer make a term
        return "contract.edit_refused", {}
    return "records.edit.saved", {"name": contract.number}


def _update(actor: Member, contract_id: int, changes: dict[str, Any]) -> StorageCall[Any]:
    """Files are added to the contract's; any other change is an update of its columns."""
    if "files" in changes:
        files = changes["files"]
        return StorageCall(add_contract_files, actor=actor, contract_id=contract_id, files=files)
    return (
        StorageCall(update_contract, actor=actor, contract_id=contract_id, changes=changes)
        .or_if_refused(None, EditRefused)
        .or_if_refused(TAKEN, DuplicateNumber)
    )


EDIT = RecordEdit(
    flow="edit_contract",
    fields=EDIT_FIELDS,
    label="contract.field",
    update=_update,
    saved=_saved,
    show=show_contract,
    changes=COLUMNS.changes,
)


def _placed(values: dict[str, Any]) -> dict[str, Any]:
    """The customer, deal or files answer as the change `_update` makes of it (none: none)."""
    name, deal = values[FIELD_KEY], values.get("deal")
    deal_id = picked_id(deal) if isinstance(deal, dict) else None
    if name == "customer":
        if not _moved(values):
            return {}
        return {"customer_id": picked_id(values["customer"]), "deal_id": deal_id}
    if name == "deal":
        was = values.get(ORIGINAL_KEY)
        return {} if deal == was else {"deal_id": deal_id}
    held = values.get("files") or []
    files = [AttachmentRef(kind, file_id, unique) for kind, file_id, unique, _ in held]
    return {"files": files} if files else {}


def _save(
    context: CrmContext, values: dict[str, Any], attachments: list[list[str]]
) -> StorageCall[Outcome]:
    if values[FIELD_KEY] not in ("customer", "deal", "files"):
        return EDIT.save(context, values, attachments)
    return EDIT.apply(context, EDIT.record_id(values), _placed(values))


FLOWS: tuple[Flow, ...] = (replace(EDIT.as_flow(), save=_save),)

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


def _now(view: ContractView, name: str) -> Any:
    """A field's value as its question keeps it: the customer and deal as picked, no files
    (they are added to those the contract has)."""
    contract = view.contract
    if name == "customer":
        return {"id": str(contract.customer_id), "label": customer_label(view.customer)}
    if name == "deal":
        if contract.deal_id is None or view.deal_title is None:
            return None
        return {"id": str(contract.deal_id), "label": view.deal_title}
    if name == "files":
        return None
    return COLUMNS.now(contract, name)


async def _edit(
    update: Update, context: CrmContext, action: ContractAction, engine: FlowEngine
) -> None:
    """Without a field: the list of fields. With one: its question, as in the entry flow."""
    member = context.require_member()
    await EDIT.on_button(
        update,
        context,
        engine,
        load=context.db.read(get_contract_view, actor=member, contract_id=action.contract_id),
        record_id=action.contract_id,
        choice=action.value,
        name=lambda view: view.contract.number,
        now=_now,
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
