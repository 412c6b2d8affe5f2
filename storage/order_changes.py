"""Changing an order after entry: its dates, deal and contract, currency, and lines or total.

The order is loaded through the access rule first (`require_order`), so a forged id is
`NotFound` like a missing one, and what it would hold afterwards is checked by the rules of
a new order (`OrderCreate`: priced lines or a typed total, a currency with any amount, no
delivery promised before the order) and, for a new promised delivery, by the entry's
calendar rule (`delivery_due_problem`). A deal or contract must be the order's customer's.
New lines replace the old ones. The audit entry (and so the `order.updated` event) is
written in the same transaction; a new promised delivery remakes the owner's delivery
reminder. The status is not edited here: it moves through `advance_order`/`cancel_order`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from storage.access import NotFound, actor_id, require_contract, require_deal, require_order
from storage.audit import diff, record_audit, snapshot
from storage.models import Member, Order, OrderLine, OrderStatus, Reminder, utcnow
from storage.orders import (
    CENT,
    ENTITY,
    REFUSED_FIELD,
    UNDELIVERED,
    OrderCreate,
    OrderLineCreate,
    add_lines,
    delivery_due_problem,
    line_text,
    remind_delivery,
)
from storage.reminders import ReminderKind

EDITABLE = (
    "ordered_on",
    "delivery_due_on",
    "deal_id",
    "contract_id",
    "currency",
    "lines",
    "total",
)
CLOSED = (OrderStatus.PAID, OrderStatus.CANCELLED)  # not edited from the chat


class EditRefused(ValueError):
    """The edit would leave the order inconsistent; `field` names what to fix. Nothing is
    written."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field


@dataclass(frozen=True)
class _Held:
    """What an order holds, before or after an edit."""

    ordered_on: date
    delivery_due_on: date | None
    deal_id: int | None
    contract_id: int | None
    currency: str | None
    lines: tuple[OrderLineCreate, ...]
    total: Decimal | None


def update_order(
    session: Session,
    *,
    actor: Member,
    order_id: int,
    changes: dict[str, Any],
    today: date,
    open_only: bool = False,
) -> Order:
    """Apply the edited fields (EDITABLE; `lines` a tuple of OrderLineCreate; `total` only
    for an order without priced lines, and sending lines drops a typed total) and audit
    what really changed. `today` is the actor's, for the delivery rule. `open_only` (the
    chat's edit) refuses a paid or cancelled order: what was paid or called off is history."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    order = require_order(session, actor=actor, order_id=order_id)
    if open_only and order.status in CLOSED:
        raise EditRefused("status", "a paid or cancelled order is not edited")
    old_lines = list(
        session.exec(
            select(OrderLine)
            .where(col(OrderLine.order_id) == order_id)
            .order_by(col(OrderLine.position))
        )
    )
    before = _held(order, old_lines)
    after = _apply(before, changes)
    _check(session, actor, order, before, after, today)
    was = _snapshot(before)
    total = _total(after)
    order.ordered_on, order.delivery_due_on = after.ordered_on, after.delivery_due_on
    order.deal_id, order.contract_id = after.deal_id, after.contract_id
    order.currency, order.total = after.currency, total
    changed = diff(was, _snapshot(after))
    if not changed:
        return order
    if "lines" in changes:
        session.execute(delete(OrderLine).where(col(OrderLine.order_id) == order_id))
        add_lines(session, order_id, after.lines)
    order.updated_by_id, order.updated_at = actor_id(actor), utcnow()
    session.add(order)
    session.flush()
    record_audit(
        session,
        actor_id=actor_id(actor),
        action="update",
        entity_type=ENTITY,
        entity_id=order_id,
        changes=changed,
    )
    if "delivery_due_on" in changed:
        _remake_delivery_reminder(session, order, after.lines)
    return order


def _held(order: Order, lines: list[OrderLine]) -> _Held:
    kept = tuple(
        OrderLineCreate(line.product, line.quantity, line.unit_price, line.amount)
        for line in lines
    )
    priced = any(line.line_amount is not None for line in kept)
    return _Held(
        ordered_on=order.ordered_on,
        delivery_due_on=order.delivery_due_on,
        deal_id=order.deal_id,
        contract_id=order.contract_id,
        currency=order.currency,
        lines=kept,
        total=None if priced else order.total,
    )


def _apply(before: _Held, changes: dict[str, Any]) -> _Held:
    """New lines come with their own total (or a typed one sent along): the old typed one goes."""
    dropped: dict[str, Any] = (
        {"total": None} if "lines" in changes and "total" not in changes else {}
    )
    return replace(before, **changes, **dropped)


def _check(
    session: Session, actor: Member, order: Order, before: _Held, after: _Held, today: date
) -> None:
    """The rules of a new order on what it would hold; the deal and contract the customer's."""
    try:
        OrderCreate(
            customer_id=order.customer_id,
            ordered_on=after.ordered_on,
            lines=after.lines,
            total=after.total,
            currency=after.currency,
            deal_id=after.deal_id,
            contract_id=after.contract_id,
            delivery_due_on=after.delivery_due_on,
            status=OrderStatus.ORDERED,  # the status is not edited: any one passes here
        )
    except ValueError as refused:
        raise EditRefused(REFUSED_FIELD.get(str(refused), "lines"), str(refused)) from None
    if after.delivery_due_on is not None and after.delivery_due_on != before.delivery_due_on:
        problem = delivery_due_problem(
            due=after.delivery_due_on,
            ordered_on=after.ordered_on,
            status=order.status,
            today=today,
        )
        if problem == "past":
            raise EditRefused("delivery_due_on", "a promised delivery is not in the past")
    if after.deal_id is not None and after.deal_id != before.deal_id:
        deal = require_deal(session, actor=actor, deal_id=after.deal_id)
        if deal.customer_id != order.customer_id:
            raise NotFound
    if after.contract_id is not None and after.contract_id != before.contract_id:
        contract = require_contract(session, actor=actor, contract_id=after.contract_id)
        if contract.customer_id != order.customer_id:
            raise NotFound


def _total(held: _Held) -> Decimal | None:
    amounts = [a for a in (line.line_amount for line in held.lines) if a is not None]
    if amounts:
        return sum(amounts, Decimal(0)).quantize(CENT)
    return held.total.quantize(CENT) if held.total is not None else None


def _snapshot(held: _Held) -> dict[str, object]:
    values = snapshot(
        ordered_on=held.ordered_on,
        delivery_due_on=held.delivery_due_on,
        deal_id=held.deal_id,
        contract_id=held.contract_id,
        currency=held.currency,
        total=_total(held),
    )
    values["lines"] = [line_text(line) for line in held.lines]
    return values


def _remake_delivery_reminder(
    session: Session, order: Order, lines: tuple[OrderLineCreate, ...]
) -> None:
    """The owner's delivery reminder for the new day (or none): the old one goes, sent or
    not, since it was about another day."""
    session.execute(
        delete(Reminder).where(
            col(Reminder.order_id) == order.id, col(Reminder.kind) == ReminderKind.DELIVERY
        )
    )
    if order.delivery_due_on is not None and order.status in UNDELIVERED:
        remind_delivery(session, order, [line_text(line) for line in lines])
