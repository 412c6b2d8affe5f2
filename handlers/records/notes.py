"""Changing a note: open it from the customer card, Edit a field, Delete (soft), Restore.

    card --📝 #id--> the note, with Edit and Delete
    note --Edit--> pick a field --> "edit_note" flow: that one question (the note flow's parser
                   and wording) -> confirm --Save--> update_interaction -> the note again
    note --Delete--> "really?" --Yes--> archived (gone from the card and its history pages)
    /restore (admins) lists deleted notes --Restore--> back

The follow-up is not editable here: once saved it is a reminder, changed from the reminder.
A voice summary is not offered either, since an edit keeps no new attachments. Every id in a
button is untrusted and goes through storage with the actor, so a missing, deleted or foreign
note gets the same "not found".
"""

from __future__ import annotations

import logging
from dataclasses import replace
from functools import partial
from typing import Any

from telegram import InlineKeyboardMarkup, Update

from handlers.callback_data import NoteAction
from handlers.context import CrmContext
from handlers.feature import Callback, Feature, Route
from handlers.flows import field_parsers as fp
from handlers.flows.engine import FlowEngine
from handlers.flows.flow import Flow
from handlers.formatting import format_when
from handlers.i18n import Html
from handlers.keyboards import Row, inline_keyboard
from handlers.note import FIELDS as NOTE_FIELDS
from handlers.records.edit import Picked, RecordEdit, edit_fields
from handlers.records.removal import RecordRemoval
from handlers.telegram_helpers import button_data, guarded
from handlers.text_limits import split_html
from storage.access import NotFound
from storage.calls import StorageCall
from storage.models import Interaction, Member
from storage.record_changes import (
    archive_interaction,
    get_interaction,
    list_deleted_interactions,
    restore_interaction,
    update_interaction,
)

logger = logging.getLogger(__name__)

# Entry-flow field -> interaction column.
COLUMNS = {"kind": "kind", "happened": "happened_at", "summary": "summary", "notes": "outcome"}


def changes_for(name: str, value: Any) -> dict[str, Any]:
    """An edit-flow answer as interaction columns (the time back to an aware datetime)."""
    if name == "happened":
        return {"happened_at": fp.to_datetime(value)}
    return {COLUMNS[name]: value or None}


def flow_value(note: Interaction, name: str) -> Any:
    """A note column in the shape the note flow answers in, to show "now: ..."."""
    if name == "happened":
        return {"at": note.happened_at.isoformat(), "has_time": True}
    return getattr(note, COLUMNS[name])


def note_text(context: CrmContext, note: Interaction, customer: str) -> str:
    return context.t(
        "records.note.card",
        id=note.id,
        customer=customer,
        kind=context.t(f"note.kind.{note.kind}"),
        when=format_when(note.happened_at, tz=context.tz, lang=context.language),
        summary=note.summary or "—",
        outcome=note.outcome or "—",
    )


def note_keyboard(context: CrmContext, note_id: int) -> InlineKeyboardMarkup | None:
    return inline_keyboard(
        [
            [
                (context.t("lookup.button.edit"), NoteAction("edit", note_id)),
                (context.t("records.button.delete"), NoteAction("delete", note_id)),
            ]
        ]
    )


async def send_note(context: CrmContext, chat_id: int, note_id: int) -> None:
    """The note whole with its buttons, or the same "not found" for a missing or foreign id.

    Cards and lists shorten a note and point here, so a note longer than one message (a 2,000
    character summary of emoji is 4,000 of Telegram's units) comes in several, buttons last.
    """
    try:
        note, customer = await context.db.read(
            get_interaction, actor=context.require_member(), interaction_id=note_id
        )
    except NotFound:
        await context.bot.send_message(chat_id, context.t("common.not_found"))
        return
    *parts, last = split_html(note_text(context, note, customer))
    for part in parts:
        await context.bot.send_message(chat_id, part)
    await context.bot.send_message(chat_id, last, reply_markup=note_keyboard(context, note_id))


EDIT = RecordEdit(
    flow="edit_note",
    fields=tuple(
        replace(f, accepts_voice=False) for f in edit_fields(NOTE_FIELDS, tuple(COLUMNS))
    ),
    label="note.field",
    update=lambda actor, note_id, changes: StorageCall(
        update_interaction, actor=actor, interaction_id=note_id, changes=changes
    ),
    saved=lambda _note: ("records.note.saved", {}),
    show=send_note,
    changes=changes_for,
)
FLOWS: tuple[Flow, ...] = (EDIT.as_flow(),)


async def _open(update: Update, context: CrmContext, action: NoteAction) -> None:
    assert update.effective_chat is not None
    if await _load(update, context, action) is not None:
        await send_note(context, update.effective_chat.id, action.note_id)


async def _load(
    update: Update, context: CrmContext, action: NoteAction
) -> tuple[Interaction, str] | None:
    """The pressed note and its customer's name, or None once "not found" was answered."""
    member = context.require_member()
    load = context.db.read(get_interaction, actor=member, interaction_id=action.note_id)
    return await guarded(update, context, load)


async def _edit(
    update: Update, context: CrmContext, action: NoteAction, engine: FlowEngine
) -> None:
    """Without a field: the list of fields. With one: its question, as in the note flow."""
    found = await _load(update, context, action)
    if found is None:
        return
    note, customer = found
    picked = Picked(
        record_id=action.note_id,
        name=Html(context.t("records.note.name", id=action.note_id, customer=customer)),
        choose=context.t("records.note.choose", id=action.note_id, customer=customer),
        now=partial(flow_value, note),
        button=lambda i: NoteAction("edit", action.note_id, i),
    )
    await EDIT.choose_or_ask(update, context, engine, action.value, picked)


REMOVAL = RecordRemoval(
    id_key="interaction_id",
    load=get_interaction,
    archive=archive_interaction,
    restore=restore_interaction,
    confirm=lambda context, found, note_id: context.t(
        "records.note.delete_confirm", id=note_id, customer=found[1]
    ),
    deleted=lambda context, _note, note_id: context.t("records.note.deleted", id=note_id),
    kept=lambda context, _note, note_id: context.t("records.note.kept", id=note_id),
    restored=lambda context, _note, note_id: context.t("records.note.restored", id=note_id),
    button=NoteAction,
)


async def restore_rows(context: CrmContext, member: Member) -> list[Row]:
    """The /restore section for notes: one Restore button each. NotFound for non-admins."""
    deleted = await context.db.read(list_deleted_interactions, actor=member)
    return [
        [(f"♻️ {customer} · 📝 #{note.id}", NoteAction("restore", note.id or 0))]
        for note, customer in deleted
    ]


def bind(engine: FlowEngine) -> dict[str, Callback]:
    async def note_button(update: Update, context: CrmContext) -> None:
        action = await button_data(update, context, NoteAction)
        if action is None:
            return
        if action.action == "edit":
            await _edit(update, context, action, engine)
        elif action.action == "delete":
            await REMOVAL.on_delete(update, context, action.note_id, action.value)
        elif action.action == "restore":
            await REMOVAL.on_restore(update, context, action.note_id)
        else:
            await _open(update, context, action)

    return {"note_button": note_button}


FEATURE = Feature(
    name="records_notes", routes=(Route(NoteAction, "note_button"),), flows=FLOWS, bind=bind
)
