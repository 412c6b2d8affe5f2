"""An order's card: its lines, total, status and status history, with one button for the
next status, Cancel (which asks why) and Delete; and a customer's orders, a page at a time.

Every press loads the order through the access rule again (a forged or stale id gets the
same "not found" as a missing one), and a move the order's status no longer allows (a
colleague moved it meanwhile) is answered, not applied.

    card --Confirm/Shipped/Delivered/Paid--> moved, the card redrawn
    card --Cancel order--> reason? --Save--> cancelled, the card shown again
    card --✏️ Edit--> one field changed (handlers/records/orders.py)
    card --🗑--> "really?" --Yes--> deleted (an admin sees ♻️ Restore under it; /restore too)
    customer card --📦 More orders--> the customer's orders, latest first, paged
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import InlineKeyboardMarkup, Update

from handlers.callback_data import OrderAction
from handlers.context import CrmContext
from handlers.customer_pick import label as customer_label
from handlers.customer_pick import picked_id
from handlers.feature import Callback, Feature, Route
from handlers.flows import field_parsers as fp
from handlers.flows.engine import FlowEngine
from handlers.flows.flow import Field, Flow
from handlers.formatting import clip, format_date, format_money, format_number, format_when
from handlers.keyboards import Row, inline_keyboard
from handlers.records.removal import named
from handlers.satisfaction import ask_satisfaction
from handlers.telegram_helpers import answer_query, button_data, edit_message, guarded
from handlers.text_limits import fit_html
from storage.calls import StorageCall
from storage.customers import get_customer
from storage.models import Member, Order, OrderStatus
from storage.order_changes import CLOSED
from storage.orders import (
    FORWARD,
    NEXT,
    OPEN_STATUSES,
    OrderView,
    TransitionRefused,
    advance_order,
    archive_order,
    cancel_order,
    count_orders,
    get_order,
    get_order_view,
    list_deleted_orders,
    list_orders,
    restore_order,
)
from storage.parsing import Money
from storage.satisfaction import ORDER

logger = logging.getLogger(__name__)

CANCEL_FLOW_NAME = "order_cancel"
PER_PAGE = 5
HISTORY_LIMIT = 10
LINE_PREVIEW = 80


def status_label(context: CrmContext, status: str) -> str:
    return context.t(f"order.status.{status}")


def total_text(context: CrmContext, order: Order) -> str:
    if order.total is None or not order.currency:
        return "—"
    return format_money(Money(order.total, order.currency), lang=context.language)


def order_line(context: CrmContext, order: Order) -> str:
    """One order in a list: number, status, total, order date."""
    return context.t(
        "order.list.line",
        number=order.number,
        status=status_label(context, order.status),
        total=total_text(context, order),
        date=format_date(order.ordered_on, lang=context.language),
    )


def order_card(context: CrmContext, view: OrderView) -> tuple[str, InlineKeyboardMarkup | None]:
    order, lang = view.order, context.language
    due = order.delivery_due_on
    lines = [
        context.t(
            "order.card",
            number=order.number,
            customer=customer_label(view.customer),
            status=status_label(context, order.status),
            ordered=format_date(order.ordered_on, lang=lang),
            due=format_date(due, lang=lang) if due else "—",
        )
    ]
    for line in view.lines:
        text = clip(line.product, LINE_PREVIEW)
        if line.quantity is not None:
            text = f"{format_number(line.quantity.normalize(), lang=lang)} × {text}"
        if line.unit_price is not None:
            text += f" @ {format_number(line.unit_price, lang=lang)}"
        if line.amount is not None:
            text += f" = {format_number(line.amount, lang=lang)}"
        lines.append(context.t("order.card_line", line=text))
    lines.append(context.t("order.card_total", total=total_text(context, order)))
    if order.status == OrderStatus.CANCELLED:
        lines.append(context.t("order.card_cancelled", reason=order.cancel_reason or "—"))
    lines += ["", context.t("order.history.title")]
    for move in view.moves[-HISTORY_LIMIT:]:
        when = format_when(move.changed_at, tz=context.tz, lang=lang)
        after = status_label(context, move.to_status)
        if move.from_status is None:
            text = context.t(
                "order.history.created", when=when, after=after, member=move.changed_by
            )
        else:
            before = status_label(context, move.from_status)
            text = context.t(
                "order.history.move", when=when, before=before, after=after, member=move.changed_by
            )
        if move.comment:
            text += " — " + clip(move.comment, LINE_PREVIEW)
        lines.append(text)
    return fit_html("\n".join(lines)), _keyboard(context, order)


def _keyboard(context: CrmContext, order: Order) -> InlineKeyboardMarkup | None:
    assert order.id is not None
    rows: list[list[Any]] = []
    following = NEXT.get(OrderStatus(order.status)) if order.status in FORWARD else None
    if following is not None:
        move = OrderAction("move", order.id, str(FORWARD.index(following)))
        rows.append([(context.t(f"order.button.{following}"), move)])
    if order.status in OPEN_STATUSES:
        rows.append([(context.t("order.button.cancel"), OrderAction("cancel", order.id))])
    if order.status not in CLOSED:  # handlers/records/orders.py
        rows.append([(context.t("edit_order.button"), OrderAction("edit", order.id))])
    rows.append([(context.t("records.button.delete"), OrderAction("delete", order.id))])
    return inline_keyboard(rows)


async def send_order(context: CrmContext, chat_id: int, order_id: int) -> None:
    view = await context.db.read(get_order_view, actor=context.require_member(), order_id=order_id)
    text, keyboard = order_card(context, view)
    await context.bot.send_message(chat_id, text, reply_markup=keyboard)


# --- cancelling: the reason first ------------------------------------------------------------


def _never(_values: dict[str, Any]) -> bool:
    return False


async def _after_cancel(context: CrmContext, chat_id: int, order: Order | None) -> None:
    if order is None:
        await context.bot.send_message(chat_id, context.t("order.refused"))
        return
    assert order.id is not None
    await send_order(context, chat_id, order.id)


def _save_cancel(
    context: CrmContext, values: dict[str, Any], _attachments: list[list[str]]
) -> StorageCall[Order | None]:
    return (
        StorageCall(
            cancel_order,
            actor=context.require_member(),
            order_id=picked_id(values["order"]),
            reason=values["reason"],
        )
        .or_if_refused(None, TransitionRefused)
        .or_if_missing(None)
    )


CANCEL_FLOW = Flow(
    name=CANCEL_FLOW_NAME,
    fields=(Field("order", when=_never), Field("reason", parse=fp.text("reason"), required=True)),
    save=_save_cancel,
    after_save=_after_cancel,
)

REMOVAL = named(
    "order_id",
    (get_order, archive_order, restore_order),
    confirm="order.delete.confirm",
    attr="number",
    button=lambda action, order_id, value: OrderAction(action, order_id, value),
    restore_button=True,
)


async def restore_rows(context: CrmContext, member: Member) -> list[Row]:
    """The /restore section for orders: one Restore button each. NotFound for non-admins."""
    deleted = await context.db.read(list_deleted_orders, actor=member)
    return [[(f"♻️ {o.number}", OrderAction("restore", o.id or 0))] for o in deleted]


# --- the buttons ------------------------------------------------------------------------------


def bind(engine: FlowEngine) -> dict[str, Callback]:
    async def order_button(update: Update, context: CrmContext) -> None:
        action = await button_data(update, context, OrderAction)
        if action is None:
            return
        if action.action == "list":
            await _list(update, context, action)
        elif action.action == "delete":
            await REMOVAL.on_delete(update, context, action.order_id, action.value)
        elif action.action == "restore":
            await REMOVAL.on_restore(update, context, action.order_id)
        else:
            await _on_order(update, context, action)

    async def _on_order(update: Update, context: CrmContext, action: OrderAction) -> None:
        assert update.effective_chat is not None
        load = context.db.read(
            get_order_view, actor=context.require_member(), order_id=action.order_id
        )
        view = await guarded(update, context, load, answer=action.action != "move")
        if view is None:
            return
        if action.action == "move":
            await _move(update, context, view, action.value)
        elif action.action == "cancel":
            order = view.order
            if order.status not in OPEN_STATUSES:
                await _tell_refused(update, context)
                return
            chosen = {"order": {"id": str(order.id), "label": order.number}}
            await engine.start(update, context, CANCEL_FLOW_NAME, values=chosen)
        else:
            text, keyboard = order_card(context, view)
            await context.bot.send_message(update.effective_chat.id, text, reply_markup=keyboard)

    return {"order_button": order_button}


async def _tell_refused(update: Update, context: CrmContext) -> None:
    assert update.effective_chat is not None
    await context.bot.send_message(update.effective_chat.id, context.t("order.refused"))


async def _move(update: Update, context: CrmContext, view: OrderView, index: str) -> None:
    """One step on; a press for any other status (old, or forged) is refused with a word."""
    query = update.callback_query
    assert query is not None
    assert view.order.id is not None
    if not index.isdigit() or int(index) >= len(FORWARD):
        await answer_query(query, context.t("common.stale_button"))
        return
    status = FORWARD[int(index)]
    try:
        await context.db.run(
            advance_order, actor=context.require_member(), order_id=view.order.id, status=status
        )
    except TransitionRefused:
        await answer_query(query, context.t("order.refused"))
        return
    logger.info("moved an order to %s", status, extra={"member_id": context.member_id})
    await answer_query(query, context.t("order.moved", status=status_label(context, status)))
    fresh = await context.db.read(
        get_order_view, actor=context.require_member(), order_id=view.order.id
    )
    text, keyboard = order_card(context, fresh)
    await edit_message(query, text, keyboard)
    if status == OrderStatus.DELIVERED:
        assert update.effective_chat is not None
        number = fresh.order.number
        await ask_satisfaction(context, update.effective_chat.id, ORDER, view.order.id, number)


async def _list(update: Update, context: CrmContext, action: OrderAction) -> None:
    """The customer's orders, latest first, `PER_PAGE` a page, each with its open button."""
    assert update.effective_chat is not None
    actor, customer_id = context.require_member(), action.order_id
    page = int(action.value or "0")
    customer = await guarded(
        update, context, context.db.read(get_customer, actor=actor, customer_id=customer_id)
    )
    if customer is None:
        return
    total = await context.db.read(count_orders, actor=actor, customer_id=customer_id)
    found = await context.db.read(
        list_orders, actor=actor, customer_id=customer_id, limit=PER_PAGE, offset=page * PER_PAGE
    )
    lines = [context.t("order.list.title", customer=customer_label(customer), total=total)]
    lines += [order_line(context, order) for order in found] or [context.t("order.list.empty")]
    rows: list[list[Any]] = [
        [(context.t("order.list.open", number=o.number), OrderAction("open", o.id or 0))]
        for o in found
    ]
    paging = []
    if page > 0:
        paging.append(
            (context.t("order.list.newer"), OrderAction("list", customer_id, str(page - 1)))
        )
    if (page + 1) * PER_PAGE < total:
        paging.append(
            (context.t("order.list.older"), OrderAction("list", customer_id, str(page + 1)))
        )
    rows.append(paging)
    await context.bot.send_message(
        update.effective_chat.id, "\n".join(lines), reply_markup=inline_keyboard(rows)
    )


FEATURE = Feature(
    name="order_card",
    routes=(
        Route(
            OrderAction, "order_button", ("open", "move", "cancel", "delete", "restore", "list")
        ),
    ),
    flows=(CANCEL_FLOW,),
    bind=bind,
)
