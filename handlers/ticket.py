"""`/ticket`: records a service request (工单) heard from a customer, and hands it to the
member who will follow it.

Asks the customer (prefilled from the customer card's "New request"), the type (from
`[tickets] types`), the priority, what happened, photos or files (up to `[tickets]
max_files`; Done goes on), the related order (one of the customer's, optional), the assignee
(Skip: the customer's owner; a manager may pick anyone in the team, an admin anyone) and the
due time (Skip: the priority's SLA from `[tickets] sla_hours`; a time already past is asked
again). The summary echoes it all; nothing is saved before Save, and the number
(GD-2026-0001) is given then. The assignee is told at once, and for an urgent ticket the
owner's manager too. A saved note's "New request" and a complaint typed as plain text start
it prefilled too (`handlers.ticket_entry`).

    /ticket -> customer -> type -> priority -> description -> files -> order? -> assignee?
            -> due? -> confirm --Save--> saved: number, card; assignee (and manager) told
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from typing import Any

from telegram import Update

from handlers import contract_fields as cf
from handlers.callback_data import TicketAction
from handlers.context import CrmContext
from handlers.customer_pick import customer_field, picked_id
from handlers.customer_pick import label as customer_label
from handlers.deal import Refused
from handlers.feature import Callback, Command, Feature, Route
from handlers.flows import field_parsers as fp
from handlers.flows.engine import FlowEngine
from handlers.flows.flow import Choice, Field, Flow, Option
from handlers.telegram_helpers import button_data, guarded
from handlers.ticket_card import notify_assignment, send_ticket, sla, type_label
from storage.calls import StorageCall
from storage.customers import get_customer
from storage.interactions import AttachmentRef
from storage.models import Ticket
from storage.orders import list_orders
from storage.parsing import ParseError
from storage.tickets import Priority, TicketCreate, assignable_members, create_ticket, due_by_sla

logger = logging.getLogger(__name__)

FLOW_NAME = "ticket"


async def _types(context: CrmContext, _values: dict[str, Any]) -> list[Option]:
    return [(kind, type_label(context, kind)) for kind in context.services.config.tickets.types]


async def _orders(context: CrmContext, values: dict[str, Any]) -> list[Option]:
    found = await context.db.read(
        list_orders, actor=context.require_member(), customer_id=picked_id(values["customer"])
    )
    return [(str(o.id), o.number) for o in found]


async def _assignees(context: CrmContext, values: dict[str, Any]) -> list[Option]:
    actor = context.require_member()
    customer = await context.db.read(
        get_customer, actor=actor, customer_id=picked_id(values["customer"])
    )
    found = await context.db.read(assignable_members, actor=actor, customer=customer)
    return [(str(m.id), m.display_name) for m in found]


async def _owner(context: CrmContext, values: dict[str, Any]) -> dict[str, str]:
    """Skip at the assignee: the customer's owner."""
    actor = context.require_member()
    customer = await context.db.read(
        get_customer, actor=actor, customer_id=picked_id(values["customer"])
    )
    options = dict(await _assignees(context, values))
    owner = str(customer.owner_id)
    return {"id": owner, "label": options.get(owner, "—")}


def _now(context: CrmContext) -> datetime:
    return context.services.clock()


async def _due_by_sla(context: CrmContext, values: dict[str, Any]) -> dict[str, Any]:
    """Skip at the due time: the priority's SLA from now."""
    due = due_by_sla(Priority(values["priority"]), _now(context), sla(context))
    return {"at": due.isoformat(), "has_time": True}


async def _due_ahead(
    context: CrmContext, _values: dict[str, Any], value: dict[str, Any]
) -> dict[str, Any] | ParseError:
    """A day without a time is due at the end of the working day; a time already past is
    asked again."""
    at = fp.to_datetime(value)
    if not value.get("has_time"):
        day = at.astimezone(context.tz).date()
        end: time = context.services.config.reminders.work_end
        at = datetime.combine(day, end, tzinfo=context.tz)
    if at <= _now(context):
        return ParseError("ticket.due_past")
    return {"at": at.isoformat(), "has_time": True}


def _max_files(context: CrmContext, _values: dict[str, Any]) -> int:
    return context.services.config.tickets.max_files


def _show_priority(value: str, context: CrmContext) -> str:
    return context.t(f"ticket.priority.{value}")


FIELDS = (
    customer_field(),
    Field("type", suggest=_types, required=True),
    Field(
        "priority",
        choices=tuple(Choice(str(p), f"ticket.priority.{p}") for p in Priority),
        required=True,
        show=_show_priority,
    ),
    Field("description", parse=fp.text("summary"), required=True),
    Field(
        "files",
        parse=cf.not_a_file,
        attach=cf.signed_file,
        max_items=_max_files,
        skip_label="contract.button.files_done",
        show=cf.show_files,
    ),
    Field("order", suggest=_orders),
    Field("assignee", suggest=_assignees, default=_owner),
    Field(
        "due", parse=fp.when("future"), resolve=_due_ahead, default=_due_by_sla, show=fp.show_when
    ),
)


def _save(
    context: CrmContext, values: dict[str, Any], _attachments: list[list[str]]
) -> StorageCall[Ticket | Refused]:
    due = values.get("due") or {}
    data = TicketCreate(
        customer_id=picked_id(values["customer"]),
        type=values["type"]["id"],
        priority=Priority(values["priority"]),
        description=values["description"],
        due_at=fp.to_datetime(due) if due else _now(context) + timedelta(days=3),
        assignee_id=picked_id(values["assignee"]) if values.get("assignee") else None,
        order_id=picked_id(values["order"]) if values.get("order") else None,
        files=tuple(AttachmentRef(k, f, u) for k, f, u, _ in values.get("files") or []),
    )
    call = StorageCall(
        create_ticket,
        actor=context.require_member(),
        data=data,
        sla=sla(context),
        number_pattern=context.services.config.tickets.number_pattern,
        now=_now(context),
    )
    return call.or_if_refused(Refused("ticket.due_past"), ValueError).or_if_missing(
        Refused("common.not_found")
    )


async def _after_save(context: CrmContext, chat_id: int, saved: Ticket | Refused) -> None:
    if isinstance(saved, Refused):
        await context.bot.send_message(chat_id, context.t(saved.key))
        return
    assert saved.id is not None
    await context.bot.send_message(chat_id, context.t("ticket.saved", number=saved.number))
    await send_ticket(context, chat_id, saved.id)
    await notify_assignment(context, saved.id, previous=None)


FLOW = Flow(name=FLOW_NAME, fields=FIELDS, save=_save, after_save=_after_save)


def bind(engine: FlowEngine) -> dict[str, Callback]:
    async def new_ticket(update: Update, context: CrmContext) -> None:
        await engine.start(update, context, FLOW_NAME)

    async def from_customer(update: Update, context: CrmContext) -> None:
        """ "New request" on a customer card: the customer is checked like any typed id."""
        action = await button_data(update, context, TicketAction)
        if action is None:
            return
        load = context.db.read(
            get_customer, actor=context.require_member(), customer_id=action.ticket_id
        )
        found = await guarded(update, context, load)
        if found is None:
            return
        picked = {"id": str(action.ticket_id), "label": customer_label(found)}
        await engine.start(update, context, FLOW_NAME, values={"customer": picked})

    return {"new_ticket": new_ticket, "ticket_from_customer": from_customer}


FEATURE = Feature(
    name="ticket",
    commands=(Command("ticket", "new_ticket"),),
    routes=(Route(TicketAction, "ticket_from_customer", ("new",)),),
    flows=(FLOW,),
    bind=bind,
)
