"""Changing an order from its card (handlers/order_card.py), one field at a time.

    card --✏️--> pick a field --> "edit_order" flow: that question as /order asks it (the
                 entry's parsers and wording) -> confirm --Save--> update_order -> card again

The fields: order date, promised delivery (one already past is asked again with an example),
the lines (typed again as at entry, one at a time or "50 x X2 @ 1200, 10 x cable @ 30"; they
replace the old ones, and the total and currency questions follow when the lines leave them
open), the typed total, the currency, and the deal and contract (from the customer's). The
save is `update_order`, the API's path: same checks, audit entry, `order.updated` event and
delivery reminder. A paid or cancelled order is not edited (no Edit button; a stale or forged
press is told so, and a Save after it was paid meanwhile is refused, nothing written). The
status moves on the card's own buttons. The order has no comment column (a status move's
comment is the move's), so there is no comment to edit. The order number is not edited: it
is the key imports and integrations use. Every id in a button is untrusted: a missing,
deleted or foreign order gets "not found".
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from functools import partial
from typing import Any

from telegram import Update

from handlers.callback_data import OrderAction
from handlers.context import CrmContext
from handlers.customer_pick import picked_id
from handlers.feature import Callback, Feature, Route
from handlers.flows.engine import FlowEngine
from handlers.flows.flow import Field, Flow, Option
from handlers.order import FIELDS as ORDER_FIELDS
from handlers.order import FLOW as ORDER_FLOW
from handlers.order import asks_currency, asks_total, line_creates, lines_money
from handlers.order_card import send_order
from handlers.order_dates import member_today
from handlers.records.edit import (
    FIELD_KEY,
    Columns,
    Outcome,
    Picked,
    RecordEdit,
    edited,
    only,
)
from handlers.telegram_helpers import button_data, guarded
from storage.access import NotFound
from storage.calls import StorageCall
from storage.contracts import get_contract, list_contracts
from storage.deals import get_deal
from storage.models import Member, Order, utcnow
from storage.order_changes import CLOSED, EditRefused, update_order
from storage.orders import OrderView, get_order, get_order_view, list_deals_to_link

FLOW_NAME = "edit_order"
COLUMNS = Columns(
    plain={"currency": "currency"},
    money={"total": ("total", "currency")},
    dates={"ordered_on": "ordered_on", "delivery_due_on": "delivery_due_on"},
)
LINKS = {"deal": "deal_id", "contract": "contract_id"}


def _entry(name: str) -> Field:
    return next(f for f in ORDER_FIELDS if f.name == name)


def _relines(values: dict[str, Any]) -> bool:
    return values.get(FIELD_KEY) == "lines"


def _asked(name: str, with_lines: Any) -> Any:
    """Asked when edited, or after new lines that leave it open (as /order asks it)."""
    return lambda values: (
        values.get(FIELD_KEY) == name or (_relines(values) and with_lines(values))
    )


def _no_currency(values: dict[str, Any]) -> bool:
    """Prices typed without a currency on an order that has none yet (else it is kept)."""
    return asks_currency(values) and not values.get("currency")


async def _customer_id(context: CrmContext, values: dict[str, Any]) -> int:
    order_id = int(values["_record"]["id"])
    order = await context.db.read(get_order, actor=context.require_member(), order_id=order_id)
    return order.customer_id


async def _deals(context: CrmContext, values: dict[str, Any]) -> list[Option]:
    member = context.require_member()
    try:
        customer_id = await _customer_id(context, values)
        found = await context.db.read(list_deals_to_link, actor=member, customer_id=customer_id)
    except NotFound:
        return []
    return [(str(d.id), d.title) for d in found]


async def _contracts(context: CrmContext, values: dict[str, Any]) -> list[Option]:
    member = context.require_member()
    try:
        customer_id = await _customer_id(context, values)
        found = await context.db.read(list_contracts, actor=member, customer_id=customer_id)
    except NotFound:
        return []
    return [(str(c.id), f"{c.number} · {c.title}") for c in found]


PICKED = (
    replace(_entry("ordered_on"), when=only("ordered_on"), default=None),
    replace(_entry("delivery_due_on"), when=only("delivery_due_on"), default=None),
    replace(_entry("lines"), when=only("lines")),
    replace(_entry("total"), when=_asked("total", asks_total)),
    replace(_entry("currency"), when=_asked("currency", _no_currency)),
    Field("deal", suggest=_deals, when=only("deal")),
    Field("contract", suggest=_contracts, when=only("contract")),
)
# "Another line?" follows the lines, as at entry; it is not in the pick list.
FLOW_FIELDS = (*PICKED[:3], replace(_entry("more"), when=_relines), *PICKED[3:])


def _changes(context: CrmContext, values: dict[str, Any]) -> dict[str, Any]:
    """The edited field as `update_order` takes it; none when Skip kept the value."""
    name = values[FIELD_KEY]
    if name == "lines":
        total, currency = lines_money(values, context.services.config.locale.currency)
        changes: dict[str, Any] = {"lines": line_creates(values), "total": total}
        return {**changes, "currency": currency} if currency else changes
    change = edited(values)
    if change is None:
        return {}
    if name in LINKS:
        return {LINKS[name]: picked_id(change[1]) if change[1] else None}
    if name == "total" and change[1] is None:
        return {"total": None}
    return COLUMNS.changes(*change)


def _update(
    actor: Member, order_id: int, changes: dict[str, Any], *, today: date
) -> StorageCall[Order | None]:
    return StorageCall(
        update_order, actor=actor, order_id=order_id, changes=changes, today=today, open_only=True
    ).or_if_refused(None, EditRefused)


def _saved(order: Order | None) -> tuple[str, dict[str, Any]]:
    if order is None:
        return "edit_order.refused", {}
    return "records.edit.saved", {"name": order.number}


EDIT = RecordEdit(
    flow=FLOW_NAME,
    fields=PICKED,
    label="order.field",
    update=lambda actor, order_id, changes: _update(  # _save binds the member's day instead
        actor, order_id, changes, today=utcnow().date()
    ),
    saved=_saved,
    show=send_order,
)


def _save(
    context: CrmContext, values: dict[str, Any], _attachments: list[list[str]]
) -> StorageCall[Outcome]:
    bound = replace(EDIT, update=partial(_update, today=member_today(context)))
    return bound.apply(context, EDIT.record_id(values), _changes(context, values))


FLOW: Flow = replace(
    EDIT.as_flow(summary_extra=ORDER_FLOW.summary_extra), fields=FLOW_FIELDS, save=_save
)


async def _link(context: CrmContext, order: Order, name: str) -> dict[str, str] | None:
    """The order's deal or contract as its question keeps it, or none (gone from reach)."""
    member = context.require_member()
    try:
        if name == "deal" and order.deal_id is not None:
            deal = await context.db.read(get_deal, actor=member, deal_id=order.deal_id)
            return {"id": str(deal.id), "label": deal.title}
        if name == "contract" and order.contract_id is not None:
            found = await context.db.read(
                get_contract, actor=member, contract_id=order.contract_id
            )
            return {"id": str(found.id), "label": f"{found.number} · {found.title}"}
    except NotFound:
        return None
    return None


def _now(view: OrderView, links: dict[str, Any], name: str) -> Any:
    """A field's value as its question keeps it. The lines are typed anew (the card above
    shows them), and a total is the order's own only without priced lines."""
    order = view.order
    if name in LINKS:
        return links[name]
    if name == "lines" or (name == "total" and any(ln.amount for ln in view.lines)):
        return None
    return COLUMNS.now(order, name)


async def _edit(
    update: Update, context: CrmContext, action: OrderAction, engine: FlowEngine
) -> None:
    """The fields of an order still open, or the picked one's question."""
    assert update.effective_chat is not None
    member = context.require_member()
    load = context.db.read(get_order_view, actor=member, order_id=action.order_id)
    view = await guarded(update, context, load)
    if view is None:
        return
    order = view.order
    if order.status in CLOSED:
        await context.bot.send_message(update.effective_chat.id, context.t("edit_order.closed"))
        return
    links = {name: await _link(context, order, name) for name in LINKS}
    picked = Picked(
        record_id=action.order_id,
        name=order.number,
        choose=context.t("records.edit.choose", name=order.number),
        now=partial(_now, view, links),
        button=lambda i: OrderAction("edit", action.order_id, i),
        context={"currency": order.currency, "number": order.number},
    )
    await EDIT.choose_or_ask(update, context, engine, action.value, picked)


def bind(engine: FlowEngine) -> dict[str, Callback]:
    async def order_edit_button(update: Update, context: CrmContext) -> None:
        action = await button_data(update, context, OrderAction)
        if action is not None:
            await _edit(update, context, action, engine)

    return {"order_edit_button": order_edit_button}


FEATURE = Feature(
    name="records_orders",
    routes=(Route(OrderAction, "order_edit_button", ("edit",)),),
    flows=(FLOW,),
    bind=bind,
)
