"""`/note`: records a call, visit, meeting, email or message with a customer, and a follow-up.

Asks which customer, the type, when it happened ("yesterday 4pm", "昨天下午4点", or Now), a
summary (text or a voice message, kept as an attachment), what was learned (optional) and
the next follow-up (Tomorrow / In 3 days / Next week / a typed date / none). Save writes the
note and, if asked, the follow-up reminder in one transaction.

It starts from `/note`, from a customer's "Log a note" button (customer prefilled), or from a
shared location with no entry open: that is a visit at this spot, so the type is not asked,
the coordinates are stored with the note, and the customers visited nearest this spot are
offered first (then the recently touched ones; typing searches as usual).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import filters

from handlers import customer_pick
from handlers.callback_data import TicketAction
from handlers.context import CrmContext
from handlers.feature import Callback, Command, Feature, OnMessage
from handlers.flows import field_parsers as fp
from handlers.flows.engine import FlowEngine
from handlers.flows.flow import Choice, Env, Field, Flow, Option
from handlers.i18n import Html
from handlers.keyboards import inline_keyboard
from handlers.satisfaction import ask_satisfaction
from storage.calls import StorageCall
from storage.interactions import (
    INTERACTION_KINDS,
    AttachmentRef,
    InteractionCreate,
    customers_near,
    recently_touched_customers,
)
from storage.notes import FollowUp, NoteSaved, create_note
from storage.parsing import ParseError
from storage.satisfaction import VISIT, require_rateable

FLOW_NAME = "note"
NOW = "now"
PICK_DATE = "pick-a-date"  # a button value the parser answers with "type the date"
NO_FOLLOW_UP = "none"
_NO_WORDS = frozenset({NO_FOLLOW_UP, "no", "无", "不用", "不需要"})
_FOLLOW_UPS = ("tomorrow", "in 3 days", "next week")
SUGGESTIONS = 8


# --- the steps, in the order the member meets them ---------------------------------------------


async def suggest_customers(context: CrmContext, values: dict[str, Any]) -> list[Option]:
    """At a shared location: customers visited nearest it (with the distance), then recent."""
    if values.get("latitude") is None:
        return await customer_pick.suggest(context, values)
    actor = context.require_member()
    near = await context.db.read(
        customers_near,
        actor=actor,
        latitude=values["latitude"],
        longitude=values["longitude"],
        limit=SUGGESTIONS,
    )
    recent = await context.db.read(recently_touched_customers, actor=actor, limit=SUGGESTIONS)
    options = [
        (
            str(customer.id),
            context.t(
                "note.near",
                customer=Html(customer_pick.label(customer)),
                distance=distance(context, metres),
            ),
        )
        for customer, metres in near
    ]
    shown = {customer.id for customer, _ in near}
    options += [(str(c.id), customer_pick.label(c)) for c in recent if c.id not in shown]
    return options[:SUGGESTIONS]


def distance(context: CrmContext, metres: float) -> str:
    """ "120 m" under a kilometre (to 10 m), "1.4 km" beyond."""
    if metres < 995:
        return context.t("note.distance.m", m=int(round(metres, -1)))
    return context.t("note.distance.km", km=f"{metres / 1000:.1f}")


def _typed_by_hand(values: dict[str, Any]) -> bool:
    """A note started from a location is a visit: its type is not asked."""
    return values.get("latitude") is None


def hidden(_values: dict[str, Any]) -> bool:
    """Values a flow fills itself (coordinates): never asked, never on the summary."""
    return False


def follow_up(value: str, env: Env) -> dict[str, Any] | ParseError | None:
    """A future date, None for "no follow-up", or the request to type a date."""
    wanted = value.strip().casefold()
    if wanted == PICK_DATE:
        return ParseError("note.follow_up.type_a_date")
    if wanted in _NO_WORDS:
        return None
    parsed: dict[str, Any] | ParseError = fp.when("future")(value, env)
    return parsed


KIND_CHOICES = tuple(Choice(kind, f"note.kind.{kind}") for kind in INTERACTION_KINDS)
FOLLOW_UP_CHOICES = (
    *(Choice(phrase, f"note.follow_up.{phrase.replace(' ', '_')}") for phrase in _FOLLOW_UPS),
    Choice(PICK_DATE, "note.follow_up.pick"),
    Choice(NO_FOLLOW_UP, "note.follow_up.none"),
)

FIELDS = (
    dataclasses.replace(customer_pick.customer_field(), suggest=suggest_customers),
    Field("kind", required=True, choices=KIND_CHOICES, when=_typed_by_hand),
    Field(
        "happened",
        parse=fp.when("past"),
        required=True,
        choices=(Choice(NOW, "note.happened.now"),),
        show=fp.show_when,
    ),
    Field("summary", parse=fp.text("summary"), required=True, accepts_voice=True),
    Field("notes", parse=fp.text("notes")),
    Field("follow_up", parse=follow_up, choices=FOLLOW_UP_CHOICES, show=fp.show_when),
    # Filled from a shared location, never asked.
    Field("latitude", when=hidden),
    Field("longitude", when=hidden),
)


# --- saving ----------------------------------------------------------------------------------


def note_data(
    values: dict[str, Any], attachments: list[list[str]], customer_id: int
) -> InteractionCreate:
    """The note the answers describe (shared with the quick log)."""
    return InteractionCreate(
        customer_id=customer_id,
        kind=values["kind"],
        happened_at=fp.to_datetime(values["happened"]),
        summary=values["summary"],
        outcome=values.get("notes") or None,
        latitude=values.get("latitude"),
        longitude=values.get("longitude"),
        attachments=[AttachmentRef(*ref) for ref in attachments],
    )


def follow_up_of(values: dict[str, Any]) -> FollowUp | None:
    due = values.get("follow_up")
    return FollowUp(fp.to_datetime(due), bool(due["has_time"])) if due else None


def _save(
    context: CrmContext, values: dict[str, Any], attachments: list[list[str]]
) -> StorageCall[NoteSaved]:
    return StorageCall(
        create_note,
        actor=context.require_member(),
        data=note_data(values, attachments, customer_pick.picked_id(values["customer"])),
        follow_up=follow_up_of(values),
    )


def saved_text(context: CrmContext, saved: NoteSaved) -> str:
    """ "Note saved." and, with a follow-up, "Follow-up: Tue 14 Jan 15:00"."""
    lines = [context.t("note.saved")]
    if (reminder := saved.follow_up) is not None:
        due = {"at": reminder.due_at.isoformat(), "has_time": reminder.exact_time}
        lines.append(context.t("note.saved_follow_up", when=fp.show_when(due, context)))
    return "\n".join(lines)


def request_keyboard(context: CrmContext, saved: NoteSaved) -> InlineKeyboardMarkup | None:
    """Under "Note saved.": a request the customer made on that call or visit, one tap away
    (`handlers.ticket_entry` starts /ticket from the note)."""
    note_id = saved.interaction.id
    if note_id is None:
        return None
    return inline_keyboard([[(context.t("ticket.button.new"), TicketAction("note", note_id))]])


async def _after_save(context: CrmContext, chat_id: int, saved: NoteSaved) -> None:
    """Says what was kept, with "New request" under it; after a visit, asks how satisfied
    the customer is."""
    await context.bot.send_message(
        chat_id, saved_text(context, saved), reply_markup=request_keyboard(context, saved)
    )
    await ask_after_visit(context, chat_id, saved)


async def ask_after_visit(context: CrmContext, chat_id: int, saved: NoteSaved) -> None:
    """A visit just saved (by /note, /log or plain text): how satisfied the customer is,
    one tap to skip. Any other kind of note asks nothing."""
    note = saved.interaction
    if note.kind == VISIT and note.id is not None:
        name = await context.db.read(
            require_rateable, actor=context.require_member(), source_kind=VISIT, source_id=note.id
        )
        await ask_satisfaction(context, chat_id, VISIT, note.id, name)


FLOW = Flow(name=FLOW_NAME, fields=FIELDS, save=_save, after_save=_after_save, accepts_photos=True)


def bind(engine: FlowEngine) -> dict[str, Callback]:
    async def new_note(update: Update, context: CrmContext) -> None:
        await engine.start(update, context, FLOW_NAME)

    async def from_location(update: Update, context: CrmContext) -> None:
        """A location shared with no entry open starts a visit note at that spot."""
        assert update.message is not None
        location = update.message.location
        assert location is not None
        values = {"kind": "visit", "latitude": location.latitude, "longitude": location.longitude}
        await engine.start(update, context, FLOW_NAME, values=values)

    return {"new_note": new_note, "from_location": from_location}


FEATURE = Feature(
    name="note",
    commands=(Command("note", "new_note"),),
    messages=(OnMessage(filters.ChatType.PRIVATE & filters.LOCATION, "from_location"),),
    flows=(FLOW,),
    bind=bind,
)
