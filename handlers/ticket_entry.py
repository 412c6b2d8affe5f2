"""Ways into `/ticket` besides the command and the customer card: a saved note's "New request"
button, and plain text the recogniser (`handlers.ticket_parse`) reads as a complaint or
request. Both start the same ticket flow prefilled, so the member still picks the priority,
adds photos, checks the summary and presses Save; Back, Skip and /cancel work as ever.

    note saved --🎫 New request--> /ticket: customer and the note's text prefilled
    "张总投诉上批货有3台坏了" --> /ticket: customer (matched as /log does), complaint, the text
"""

from __future__ import annotations

import dataclasses
from typing import Any

from telegram import Update

from handlers import quick_log
from handlers.callback_data import TicketAction
from handlers.context import CrmContext
from handlers.customer_pick import label as customer_label
from handlers.feature import Callback, Feature, Route
from handlers.flows.engine import FlowEngine
from handlers.telegram_helpers import button_data, guarded
from handlers.ticket import FLOW_NAME
from handlers.ticket_card import type_label
from handlers.ticket_parse import TicketHint
from storage.models import Customer, Interaction
from storage.parsing import MAX_LENGTHS
from storage.ticket_views import note_for_ticket


def _picked(customer: Customer) -> dict[str, str]:
    return {"id": str(customer.id), "label": customer_label(customer)}


def _description(note: Interaction) -> str:
    text = "\n".join(part for part in (note.summary, note.outcome) if part)
    return text[: MAX_LENGTHS["summary"]]


async def start_from_text(
    engine: FlowEngine, update: Update, context: CrmContext, hint: TicketHint
) -> None:
    """The ticket flow for a request typed as plain text: its customer matched as /log
    matches one (by phone, email, name at company, or exactly that name), else asked."""
    found = quick_log.read(context, hint.text)
    name, company = hint.name_and_company
    if name is not None:
        found = dataclasses.replace(found, name=name, company=company)
    values: dict[str, Any] = {"description": hint.text[: MAX_LENGTHS["summary"]]}
    if hint.type in context.services.config.tickets.types:
        values["type"] = {"id": hint.type, "label": type_label(context, hint.type)}
    if (customer := await quick_log.match_customer(context, found)) is not None:
        values["customer"] = _picked(customer)
    notice = context.t("ticket_entry.recognised", type=type_label(context, hint.type))
    await engine.start(update, context, FLOW_NAME, values=values, notice=notice)


def bind(engine: FlowEngine) -> dict[str, Callback]:
    async def from_note(update: Update, context: CrmContext) -> None:
        """ "New request" under a saved note: the note is loaded through the access rule."""
        action = await button_data(update, context, TicketAction)
        if action is None:
            return
        load = context.db.read(
            note_for_ticket, actor=context.require_member(), note_id=action.ticket_id
        )
        found = await guarded(update, context, load)
        if found is None:
            return
        note, customer = found
        values = {"customer": _picked(customer), "description": _description(note)}
        await engine.start(update, context, FLOW_NAME, values=values)

    return {"ticket_from_note": from_note}


FEATURE = Feature(
    name="ticket_entry",
    routes=(Route(TicketAction, "ticket_from_note", ("note",)),),
    bind=bind,
)
