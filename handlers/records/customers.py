"""Changing a customer from its card: Edit a field, Delete (soft), Merge, Reassign; `/restore`.

    card --Edit--> pick a field --> "edit_customer" flow: that one question (the entry flow's
                   parser and wording, its current value kept by Skip, emptied only by a
                   confirmed Clear) -> confirm --Save--> [a phone or email another customer
                   has: the entry flow's duplicate warning] --> update_customer -> card again
    card --Delete--> "really?" --Yes--> archived (hidden everywhere) ... /restore (admins)
                     lists deleted customers, deals and notes --Restore--> back
    card --Merge into…--> "merge_customer" flow: search the customer to keep -> confirm
                          --Save--> the duplicate's records move over, the duplicate is deleted;
                          both owners are told when they differ
    card --Reassign--> pick a member of the team --> new owner; both salespeople are told

Deals and notes are changed the same way in deals.py and notes.py, each its own feature, all
three editing through edit.py and deleting and restoring through removal.py; `/restore` lists
all three kinds.
Every id in a button is untrusted: it goes through storage with the actor, and a missing,
deleted or foreign customer, or a role that may not do this, gets the same "not found".
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from telegram import Update

from handlers import order_card, ticket_list
from handlers.callback_data import CustomerAction
from handlers.context import CrmContext
from handlers.customer import FIELDS, duplicate_warning, show_customer
from handlers.customer_card import send_card
from handlers.customer_pick import customer_field, picked_id, search
from handlers.customer_pick import label as customer_label
from handlers.feature import Callback, Command, Feature, Route
from handlers.flows.engine import FlowEngine
from handlers.flows.flow import Field, Flow, SaveWarning
from handlers.keyboards import Row, inline_keyboard
from handlers.records import contracts as records_contracts
from handlers.records import deals as records_deals
from handlers.records import notes as records_notes
from handlers.records.edit import ORIGINAL_KEY, Outcome, RecordEdit, edit_fields, edited
from handlers.records.removal import named
from handlers.telegram_helpers import answer_query, button_data, edit_message, is_blocked
from storage.access import NotFound
from storage.calls import StorageCall
from storage.customer_changes import (
    Merged,
    archive_customer,
    current_values,
    list_deleted_customers,
    list_reassign_targets,
    merge_customers,
    reassign_customer,
    restore_customer,
    update_customer,
)
from storage.customers import find_duplicates, get_customer
from storage.models import Member, Role

logger = logging.getLogger(__name__)

MERGE_FLOW = "merge_customer"
CUSTOMER_KEY = "_customer"  # the edit flow's hidden key for its customer
ACTIONS = ("edit", "delete", "restore", "merge", "reassign")


EDIT = RecordEdit(
    flow="edit_customer",
    # Every field of the entry, without its per-field duplicate check: the customer would
    # match itself; `_check_edit` runs at Save instead.
    fields=edit_fields(
        tuple(dataclasses.replace(f, check=None) for f in FIELDS), tuple(f.name for f in FIELDS)
    ),
    label="customer.field",
    update=lambda actor, customer_id, changes: StorageCall(
        update_customer, actor=actor, customer_id=customer_id, changes=changes
    ),
    saved=lambda customer: ("records.edit.saved", {"name": customer.name}),
    show=send_card,
    record_key=CUSTOMER_KEY,
)


async def _check_edit(context: CrmContext, values: dict[str, Any]) -> SaveWarning | None:
    """A phone or email the edit adds that another customer has: the entry flow's warning."""
    change = edited(values)
    if change is None or change[0] not in ("phones", "email"):
        return None
    name, value = change
    was = values.get(ORIGINAL_KEY) or []
    matches = await context.db.read(
        find_duplicates,
        actor=context.require_member(),
        phones=[p for p in value or [] if p not in was] if name == "phones" else [],
        email=value if name == "email" else None,
        name="",
        company=None,  # a similar name at the company is the entry's check, not an edit's
        exclude_id=EDIT.record_id(values),
    )
    return duplicate_warning(context, matches)


def _save_merge(
    context: CrmContext, values: dict[str, Any], _attachments: list[list[str]]
) -> StorageCall[tuple[Outcome, Merged | None]]:
    survivor, duplicate = values["survivor"], values["duplicate"]
    if picked_id(survivor) == picked_id(duplicate):
        return StorageCall.done((Outcome("records.merge.same"), None))
    params = {"duplicate": duplicate["label"], "survivor": survivor["label"]}
    done = Outcome("records.merge.done", params, picked_id(survivor))
    missing: tuple[Outcome, Merged | None] = (Outcome("common.not_found"), None)
    return (
        StorageCall(
            merge_customers,
            actor=context.require_member(),
            survivor_id=picked_id(survivor),
            duplicate_id=picked_id(duplicate),
        )
        .returning(lambda merged: (done, merged))
        .or_if_missing(missing)
    )


async def _after_merge(
    context: CrmContext, chat_id: int, saved: tuple[Outcome, Merged | None]
) -> None:
    """When the duplicate had another owner, both owners are told: the old one without the
    survivor's name (it is not theirs to see), the new one what came with it."""
    outcome, merged = saved
    await EDIT.after_save(context, chat_id, outcome)
    if merged is None or merged.old_owner.id == merged.new_owner.id:
        return
    params = {"duplicate": merged.duplicate.name, "actor": context.require_member().display_name}
    await _tell(
        context,
        merged.new_owner,
        "records.merge.told_new",
        survivor=merged.survivor.name,
        id=merged.survivor.id,
        count=merged.reminders_moved,
        **params,
    )
    await _tell(
        context,
        merged.old_owner,
        "records.merge.told_old",
        owner=merged.new_owner.display_name,
        **params,
    )


FLOWS: tuple[Flow, ...] = (
    EDIT.as_flow(check=_check_edit, open_record=show_customer),
    Flow(
        name=MERGE_FLOW,
        fields=(
            Field("duplicate", required=True, search=search, not_same_as="survivor"),
            dataclasses.replace(customer_field("survivor"), not_same_as="duplicate"),
        ),
        save=_save_merge,
        after_save=_after_merge,
    ),
)


async def _edit(
    update: Update, context: CrmContext, action: CustomerAction, engine: FlowEngine
) -> None:
    """Without a field: the list of fields. With one: its question, as in the entry flow."""
    member = context.require_member()
    await EDIT.on_button(
        update,
        context,
        engine,
        load=context.db.read(current_values, actor=member, customer_id=action.customer_id),
        record_id=action.customer_id,
        choice=action.value,
        name=lambda values: values["name"],
        now=lambda values, name: values.get(name),
        button=lambda i: CustomerAction("edit", action.customer_id, i),
    )


REMOVAL = named(
    "customer_id",
    (get_customer, archive_customer, restore_customer),
    confirm="records.delete.confirm",
    attr="name",
    button=CustomerAction,
)


async def restore_command(update: Update, context: CrmContext) -> None:
    """Admins only: the latest deleted customers, deals, notes, contracts, orders and tickets,
    a message per kind that has any, each record with a Restore button."""
    assert update.effective_chat is not None
    chat_id = update.effective_chat.id
    member = context.require_member()
    try:
        deleted = await context.db.read(list_deleted_customers, actor=member)
        sections: list[tuple[str, list[Row]]] = [
            (
                "records.restore.title",
                [
                    [(f"♻️ {customer_label(c)} #{c.id}", CustomerAction("restore", c.id or 0))]
                    for c in deleted
                ],
            ),
            ("records.restore.deals_title", await records_deals.restore_rows(context, member)),
            ("records.restore.notes_title", await records_notes.restore_rows(context, member)),
            (
                "contract.restore_title",
                await records_contracts.restore_rows(context, member),
            ),
            ("order_restore.title", await order_card.restore_rows(context, member)),
            ("ticket_more.restore_title", await ticket_list.restore_rows(context, member)),
        ]
    except NotFound:
        await context.bot.send_message(chat_id, context.t("records.restore.admins_only"))
        return
    if not any(rows for _key, rows in sections):
        await context.bot.send_message(chat_id, context.t("records.restore.none"))
        return
    for key, rows in sections:
        if rows:
            await context.bot.send_message(
                chat_id, context.t(key), reply_markup=inline_keyboard(rows)
            )


async def _merge(
    update: Update, context: CrmContext, action: CustomerAction, engine: FlowEngine
) -> None:
    """Managers and admins: this customer is the duplicate; the flow asks for the survivor.
    A value (the duplicate's id, with this customer the survivor) goes straight to confirm."""
    query = update.callback_query
    assert query is not None
    member = context.require_member()
    ids = [action.customer_id, *([int(action.value)] if action.value else [])]
    try:
        if member.role == Role.SALES:
            raise NotFound
        found = [await context.db.read(get_customer, actor=member, customer_id=i) for i in ids]
    except NotFound:
        await answer_query(query, context.t("common.not_found"))
        return
    await answer_query(query)
    picked = [{"id": str(c.id), "label": customer_label(c)} for c in found]
    values = (
        {"duplicate": picked[-1]}
        if len(picked) == 1
        else {"survivor": picked[0], "duplicate": picked[1]}
    )
    await engine.start(update, context, MERGE_FLOW, values=values)


async def _reassign(update: Update, context: CrmContext, action: CustomerAction) -> None:
    """Without a value: the members to choose from. With a member id: hand it over."""
    query = update.callback_query
    assert query is not None
    assert update.effective_chat is not None
    member = context.require_member()
    try:
        if not action.value:
            targets = await context.db.read(
                list_reassign_targets, actor=member, customer_id=action.customer_id
            )
        else:
            result = await context.db.run(
                reassign_customer,
                actor=member,
                customer_id=action.customer_id,
                new_owner_id=int(action.value),
            )
    except NotFound:
        await answer_query(query, context.t("common.not_found"))
        return
    await answer_query(query)
    chat_id = update.effective_chat.id
    if not action.value:
        rows = [
            [(m.display_name, CustomerAction("reassign", action.customer_id, str(m.id)))]
            for m in targets
        ]
        key = "records.reassign.choose" if rows else "records.reassign.nobody"
        await context.bot.send_message(chat_id, context.t(key), reply_markup=inline_keyboard(rows))
        return
    customer, old, new = result.customer, result.old_owner, result.new_owner
    params = {"name": customer.name, "id": customer.id, "actor": member.display_name}
    await edit_message(
        query,
        context.t(
            "records.reassign.done", owner=new.display_name, count=result.reminders_moved, **params
        ),
    )
    await _tell(context, new, "records.reassign.told_new", **params)
    await _tell(context, old, "records.reassign.told_old", owner=new.display_name, **params)


async def _tell(context: CrmContext, member: Member, key: str, **params: object) -> None:
    """A notice in the member's chosen language (as reminders are sent); a member who
    blocked the bot is simply not told."""
    if member.id == context.member_id:
        return
    default = context.services.config.locale.default_language
    translate = context.services.catalogs.translator(member.language or default)
    try:
        await context.bot.send_message(member.telegram_id, translate(key, **params))
    except Exception as exc:
        if not is_blocked(exc):
            raise
        logger.info("could not tell member %s: bot blocked", member.id)


def bind(engine: FlowEngine) -> dict[str, Callback]:
    async def record_button(update: Update, context: CrmContext) -> None:
        action = await button_data(update, context, CustomerAction)
        if action is None:
            return
        if action.action == "edit":
            await _edit(update, context, action, engine)
        elif action.action == "delete":
            await REMOVAL.on_delete(update, context, action.customer_id, action.value)
        elif action.action == "restore":
            await REMOVAL.on_restore(update, context, action.customer_id)
        elif action.action == "merge":
            await _merge(update, context, action, engine)
        else:
            await _reassign(update, context, action)

    return {"record_button": record_button}


FEATURE = Feature(
    name="records",
    commands=(Command("restore", restore_command, frozenset({Role.ADMIN})),),
    routes=(Route(CustomerAction, "record_button", ACTIONS),),
    flows=FLOWS,
    bind=bind,
)
