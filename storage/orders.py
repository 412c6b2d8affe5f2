"""Orders: what a customer ordered, line by line, and how the order moves to paid.

An order belongs to the salesperson who works the customer (`owner_for`), like a deal, and is
read by the deal's rule (`require_order`): its owner and its customer both in scope. Its
lines each have a product and, optionally, a quantity and a unit price (the amount is their
product); the order's total is the sum of the priced lines, or typed directly when no line has
a price. A purchase (`/purchase`, storage/purchases.py) is an order delivered and paid at once.

Status moves: ordered -> confirmed -> shipped -> delivered -> paid, one step at a time, and
cancelled (with a reason) from any status before paid. Every move is kept as an
`OrderStatusChange` (who, when, from, to, comment) besides its audit entry, as a deal's stage
moves are. A move to the status the order already has changes nothing (a repeated press is
harmless); any other move the status does not allow is `TransitionRefused`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import bindparam, func, update
from sqlmodel import Session, col, select

from storage.access import (
    NotFound,
    actor_id,
    owner_for,
    owner_scope,
    require_contract,
    require_customer,
    require_deal,
    require_order,
)
from storage.audit import diff, record_audit, snapshot
from storage.contracts import DuplicateNumber, TransitionRefused
from storage.customers import record_contact
from storage.models import (
    Customer,
    Deal,
    Member,
    Order,
    OrderLine,
    OrderStatus,
    OrderStatusChange,
    Reminder,
    Role,
    utcnow,
)
from storage.numbering import number_is, suggest_number
from storage.prepared import PreparedSelect
from storage.reminders import OPEN_STATUSES as OPEN_REMINDERS
from storage.reminders import ReminderKind, ReminderStatus

__all__ = ["DuplicateNumber", "TransitionRefused"]  # raised here, defined with contracts

ENTITY = "order"
DEFAULT_NUMBER_PATTERN = "DD-{year}-{seq:04d}"
CENT = Decimal("0.01")
# The way an order goes, each status followed by the next one.
FORWARD = (
    OrderStatus.ORDERED,
    OrderStatus.CONFIRMED,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
    OrderStatus.PAID,
)
NEXT = dict(zip(FORWARD, FORWARD[1:], strict=False))
# Before paid, an order may still be cancelled.
OPEN_STATUSES = FORWARD[:-1]
# Not yet at the customer: what a delivery reminder is about.
UNDELIVERED = (OrderStatus.ORDERED, OrderStatus.CONFIRMED, OrderStatus.SHIPPED)


DONE = (OrderStatus.DELIVERED, OrderStatus.PAID)  # an order whose delivery is behind it


def delivery_due_problem(
    *, due: date, ordered_on: date | None, status: str, today: date
) -> str | None:
    """Why `due` cannot be an order's promised delivery date, or None: "past" (already gone,
    unless the order is delivered, paid or cancelled: a promise to remind about must lie
    ahead) or "before_order". Shared by the chat entry and the import, which both ask for a fix."""
    if due < today and status not in (*DONE, OrderStatus.CANCELLED):
        return "past"
    if ordered_on is not None and due < ordered_on:
        return "before_order"
    return None


@dataclass(frozen=True)
class OrderLineCreate:
    """One product; the amount is quantity × unit price unless given (a purchase's amount)."""

    product: str
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    amount: Decimal | None = None

    def __post_init__(self) -> None:
        if not self.product.strip():
            raise ValueError("a line needs a product")
        if self.quantity is not None and self.quantity <= 0:
            raise ValueError("a quantity is more than zero")
        if self.unit_price is not None and self.unit_price < 0:
            raise ValueError("a unit price is not negative")
        if self.amount is not None and self.amount < 0:
            raise ValueError("an amount is not negative")

    @property
    def line_amount(self) -> Decimal | None:
        if self.amount is not None:
            return self.amount.quantize(CENT)
        if self.quantity is not None and self.unit_price is not None:
            return (self.quantity * self.unit_price).quantize(CENT)
        return None


# OrderCreate's refusals, by the field each one is about (for the API's problems).
REFUSED_FIELD = {
    "a total is typed only for an order without priced lines": "total",
    "an order needs a line or a total": "lines",
    "an amount needs a currency": "currency",
    "a total is not negative": "total",
    "delivery cannot be promised before the order": "delivery_due_on",
}


@dataclass(frozen=True)
class OrderCreate:
    """What the order flow (or the purchase shortcut) collects. `number` None: the next
    suggested one, given out when the order is saved."""

    customer_id: int
    ordered_on: date
    lines: tuple[OrderLineCreate, ...] = ()
    total: Decimal | None = None
    currency: str | None = None
    number: str | None = None
    deal_id: int | None = None
    contract_id: int | None = None
    delivery_due_on: date | None = None
    status: OrderStatus = OrderStatus.ORDERED
    comment: str | None = None  # kept with the first status (an import's comment column)
    cancel_reason: str | None = None  # an order imported as cancelled: why (required then)

    def __post_init__(self) -> None:
        priced = any(line.line_amount is not None for line in self.lines)
        if priced and self.total is not None:
            raise ValueError("a total is typed only for an order without priced lines")
        if not self.lines and self.total is None:
            raise ValueError("an order needs a line or a total")
        if (priced or self.total is not None) and not self.currency:
            raise ValueError("an amount needs a currency")
        if self.total is not None and self.total < 0:
            raise ValueError("a total is not negative")
        if self.number is not None and not self.number.strip():
            raise ValueError("an order number is not blank")
        if self.delivery_due_on is not None and self.delivery_due_on < self.ordered_on:
            raise ValueError("delivery cannot be promised before the order")
        cancelled = self.status == OrderStatus.CANCELLED
        if not cancelled and self.status not in FORWARD:
            raise ValueError(f"a new order cannot be {self.status}")
        if cancelled != bool(self.cancel_reason and self.cancel_reason.strip()):
            raise ValueError("a cancelled order, and only one, has a reason")

    @property
    def order_total(self) -> Decimal | None:
        amounts = [a for a in (line.line_amount for line in self.lines) if a is not None]
        if amounts:
            return sum(amounts, Decimal(0)).quantize(CENT)
        return self.total.quantize(CENT) if self.total is not None else None


@dataclass(frozen=True)
class StatusMove:
    """One move of an order's history as its card shows it."""

    from_status: str | None
    to_status: str
    changed_at: datetime
    changed_by: str
    comment: str | None


@dataclass(frozen=True)
class OrderView:
    """An order with its lines and history, loaded after one access check (the card)."""

    order: Order
    lines: list[OrderLine]
    moves: list[StatusMove]
    customer: Customer = field(repr=False)


def create_order(
    session: Session,
    *,
    actor: Member,
    data: OrderCreate,
    number_pattern: str = DEFAULT_NUMBER_PATTERN,
) -> Order:
    """Record an order for a customer the actor may see, with its lines and first status.

    A deal or contract given must be one of this customer's (another's, or an invisible one,
    is the same NotFound). Without a number the next of `number_pattern` for the order
    date's year is given; the number check and the insert run in the caller's one write
    transaction, with the unique index behind it. The order is contact with the customer on
    its date.
    """
    customer = require_customer(session, actor=actor, customer_id=data.customer_id)
    if data.deal_id is not None:
        deal = require_deal(session, actor=actor, deal_id=data.deal_id)
        if deal.customer_id != customer.id:
            raise NotFound
    if data.contract_id is not None:
        contract = require_contract(session, actor=actor, contract_id=data.contract_id)
        if contract.customer_id != customer.id:
            raise NotFound
    if data.number is None:
        number = suggest_order_number(session, today=data.ordered_on, pattern=number_pattern)
    else:
        number = data.number.strip()
    if _number_taken(session, number):
        raise DuplicateNumber(number)
    now = utcnow()
    order = Order(
        customer_id=data.customer_id,
        owner_id=owner_for(actor, customer),
        deal_id=data.deal_id,
        contract_id=data.contract_id,
        number=number,
        currency=data.currency,
        ordered_on=data.ordered_on,
        delivery_due_on=data.delivery_due_on,
        status=str(data.status),
        cancel_reason=data.cancel_reason.strip() if data.cancel_reason else None,
        total=data.order_total,
        created_by_id=actor_id(actor),
        created_at=now,
        updated_at=now,
    )
    session.add(order)
    session.flush()
    order_id = _id(order)
    add_lines(session, order_id, data.lines)
    session.add(
        OrderStatusChange(
            order_id=order_id,
            to_status=order.status,
            changed_by_id=actor_id(actor),
            changed_at=now,
            comment=data.comment or order.cancel_reason,
        )
    )
    record_contact(session, customer_id=data.customer_id, at=_contact_time(data.ordered_on))
    values = snapshot(
        number=number,
        status=order.status,
        deal_id=data.deal_id,
        contract_id=data.contract_id,
        total=order.total,
        currency=data.currency,
        ordered_on=data.ordered_on,
        delivery_due_on=data.delivery_due_on,
        owner_id=order.owner_id,
    )
    values["lines"] = [line_text(line) for line in data.lines]
    if order.cancel_reason:  # imported as cancelled
        values["cancel_reason"] = order.cancel_reason
    _audit(session, actor, order_id, "create", diff({}, values))
    if order.delivery_due_on is not None and order.status in UNDELIVERED:
        remind_delivery(session, order, [line_text(line) for line in data.lines])
    return order


def add_lines(session: Session, order_id: int, lines: Sequence[OrderLineCreate]) -> None:
    """The order's lines, numbered from 1 in the order given."""
    session.add_all(
        OrderLine(
            order_id=order_id,
            position=position,
            product=line.product.strip(),
            quantity=line.quantity,
            unit_price=line.unit_price,
            amount=line.line_amount,
        )
        for position, line in enumerate(lines, start=1)
    )


def remind_delivery(session: Session, order: Order, lines: list[str]) -> None:
    """The owner's reminder for the promised delivery day: from the start of that day in
    their timezone, delivered in their working hours (`exact_time=False`), once (the
    reminder machinery claims it once). It names the customer, so a reassign or merge hands
    it over with the customer's other reminders."""
    assert order.delivery_due_on is not None
    owner = session.get_one(Member, order.owner_id)
    try:
        tz = ZoneInfo(owner.timezone) if owner.timezone else UTC
    except (ZoneInfoNotFoundError, ValueError):
        tz = UTC
    start = datetime.combine(order.delivery_due_on, time.min, tzinfo=tz).astimezone(UTC)
    text = f"{order.number}: {', '.join(lines)}" if lines else order.number
    session.add(
        Reminder(
            member_id=order.owner_id,
            customer_id=order.customer_id,
            order_id=_id(order),
            kind=ReminderKind.DELIVERY,
            text=text[:500],
            due_at=start,
            exact_time=False,
            status=ReminderStatus.PENDING,
            dedupe_key=f"delivery:{_id(order)}",
            created_by_id=order.created_by_id,
        )
    )
    session.flush()


def _reopen_delivery_reminder(session: Session, order_id: int) -> None:
    """A restored order not yet delivered is to be reminded of again (as it was before the
    delete closed its reminder); a day already past is reminded of at once, as overdue."""
    session.execute(
        update(Reminder)
        .where(
            col(Reminder.order_id) == order_id,
            col(Reminder.kind) == ReminderKind.DELIVERY,
            col(Reminder.status) == ReminderStatus.DONE,
        )
        .values(status=ReminderStatus.PENDING, done_at=None, sent_at=None, updated_at=utcnow())
    )


def _close_delivery_reminder(session: Session, order_id: int, now: datetime) -> None:
    """Delivered, cancelled or deleted: its delivery reminder is no longer to do."""
    session.execute(
        update(Reminder)
        .where(
            col(Reminder.order_id) == order_id,
            col(Reminder.kind) == ReminderKind.DELIVERY,
            col(Reminder.status).in_(OPEN_REMINDERS),
        )
        .values(status=ReminderStatus.DONE, done_at=now, updated_at=now)
    )


def line_text(line: OrderLineCreate | OrderLine) -> str:
    """A line as the audit and the export of orders keep it: "2.5 × Pallet jack @ 40.00 =
    100.00"."""
    text = line.product.strip()
    if line.quantity is not None:
        text = f"{line.quantity.normalize():f} × {text}"
    if line.unit_price is not None:
        text += f" @ {line.unit_price}"
    amount = line.line_amount if isinstance(line, OrderLineCreate) else line.amount
    return f"{text} = {amount}" if amount is not None else text


def _contact_time(ordered_on: date) -> datetime:
    """Now for an order of today (or a later date), else the start of its day: an order
    entered late does not count as a contact made today."""
    now = utcnow()
    if ordered_on >= now.date():
        return now
    return datetime.combine(ordered_on, time.min, tzinfo=UTC)


def advance_order(
    session: Session,
    *,
    actor: Member,
    order_id: int,
    status: OrderStatus,
    comment: str | None = None,
) -> Order:
    """Move an order one step on (ordered -> confirmed -> shipped -> delivered -> paid).

    The status it has already is no change (a repeated press); a step back, a skipped step,
    a move of a cancelled order or a cancel through here is `TransitionRefused`."""
    order = require_order(session, actor=actor, order_id=order_id)
    if order.status == status:
        return order
    if NEXT.get(OrderStatus(order.status)) != status:
        raise TransitionRefused(order.status)
    return _move(session, actor, order, status, comment)


def cancel_order(session: Session, *, actor: Member, order_id: int, reason: str) -> Order:
    """Cancel an order not yet paid, for `reason` (required). Cancelling a cancelled one
    again changes nothing; a paid one is refused (`TransitionRefused`)."""
    if not reason.strip():
        raise ValueError("a cancelled order needs a reason")
    order = require_order(session, actor=actor, order_id=order_id)
    if order.status == OrderStatus.CANCELLED:
        return order
    if order.status not in OPEN_STATUSES:
        raise TransitionRefused(order.status)
    return _move(session, actor, order, OrderStatus.CANCELLED, reason.strip())


def _move(
    session: Session, actor: Member, order: Order, status: OrderStatus, comment: str | None
) -> Order:
    before = snapshot(status=order.status, cancel_reason=order.cancel_reason)
    now = utcnow()
    session.add(
        OrderStatusChange(
            order_id=_id(order),
            from_status=order.status,
            to_status=str(status),
            changed_by_id=actor_id(actor),
            changed_at=now,
            comment=comment.strip() if comment and comment.strip() else None,
        )
    )
    order.status = str(status)
    if status == OrderStatus.CANCELLED:
        order.cancel_reason = comment
    if status not in UNDELIVERED:
        _close_delivery_reminder(session, _id(order), now)
    order.updated_by_id, order.updated_at = actor_id(actor), now
    session.add(order)
    session.flush()
    after = snapshot(status=order.status, cancel_reason=order.cancel_reason)
    _audit(session, actor, _id(order), "update", diff(before, after))
    return order


def archive_order(session: Session, *, actor: Member, order_id: int) -> Order:
    """Soft delete: out of the card, the totals and the reports; an admin can restore it."""
    order = require_order(session, actor=actor, order_id=order_id)
    _set_deleted(session, actor, order, utcnow(), action="delete")
    _close_delivery_reminder(session, order_id, utcnow())
    return order


def restore_order(session: Session, *, actor: Member, order_id: int) -> Order:
    """Admins only, as for deals: a deleted order by the access rule otherwise (in scope, its
    customer not deleted)."""
    if actor.role != Role.ADMIN:
        raise NotFound
    order = require_order(session, actor=actor, order_id=order_id, deleted=True)
    _set_deleted(session, actor, order, None, action="restore")
    if order.status in UNDELIVERED:
        _reopen_delivery_reminder(session, order_id)
    return order


def list_deleted_orders(session: Session, *, actor: Member, limit: int = 20) -> list[Order]:
    """Deleted orders of live customers in the actor's scope, latest first; only admins
    restore, so only they list (`NotFound` for anyone else)."""
    if actor.role != Role.ADMIN:
        raise NotFound
    return list(
        session.exec(
            select(Order)
            .join(Customer, col(Customer.id) == col(Order.customer_id))
            .where(
                col(Order.deleted_at).is_not(None),
                col(Customer.deleted_at).is_(None),
                owner_scope(actor, Order.owner_id),
                owner_scope(actor, Customer.owner_id),
            )
            .order_by(col(Order.deleted_at).desc(), col(Order.id).desc())
            .limit(limit)
        )
    )


def _set_deleted(
    session: Session, actor: Member, order: Order, deleted_at: datetime | None, *, action: str
) -> None:
    old = order.deleted_at
    order.deleted_at = deleted_at
    order.updated_by_id, order.updated_at = actor_id(actor), utcnow()
    session.add(order)
    session.flush()
    change = snapshot(old=old, new=deleted_at)
    _audit(session, actor, _id(order), action, {"deleted_at": [change["old"], change["new"]]})


def _audit(
    session: Session, actor: Member, order_id: int, action: str, changes: dict[str, Any]
) -> None:
    record_audit(
        session,
        actor_id=actor_id(actor),
        action=action,
        entity_type=ENTITY,
        entity_id=order_id,
        changes=changes,
    )


def get_order(session: Session, *, actor: Member, order_id: int) -> Order:
    return require_order(session, actor=actor, order_id=order_id)


def get_order_view(session: Session, *, actor: Member, order_id: int) -> OrderView:
    """An order the actor may see, with its lines and its whole status history."""
    order = require_order(session, actor=actor, order_id=order_id)
    lines = session.exec(
        select(OrderLine)
        .where(col(OrderLine.order_id) == order_id)
        .order_by(col(OrderLine.position), col(OrderLine.id))
    ).all()
    moves = session.exec(
        select(OrderStatusChange, Member.display_name)
        .join(Member, col(Member.id) == col(OrderStatusChange.changed_by_id))
        .where(col(OrderStatusChange.order_id) == order_id)
        .order_by(col(OrderStatusChange.changed_at), col(OrderStatusChange.id))
    ).all()
    return OrderView(
        order=order,
        lines=list(lines),
        moves=[
            StatusMove(c.from_status, c.to_status, c.changed_at, name, c.comment)
            for c, name in moves
        ],
        customer=session.get_one(Customer, order.customer_id),
    )


def _listed(actor: Member, customer_id: int) -> tuple[Any, ...]:
    """The orders of a customer that `require_order` lets the actor open."""
    return (
        col(Order.customer_id) == customer_id,
        col(Order.deleted_at).is_(None),
        owner_scope(actor, Order.owner_id),
    )


def list_orders(
    session: Session, *, actor: Member, customer_id: int, limit: int = 5, offset: int = 0
) -> list[Order]:
    """A visible customer's orders, latest first (by order date), a page at a time."""
    require_customer(session, actor=actor, customer_id=customer_id)
    return list(
        session.exec(
            select(Order)
            .where(*_listed(actor, customer_id))
            .order_by(col(Order.ordered_on).desc(), col(Order.id).desc())
            .offset(offset)
            .limit(limit)
        )
    )


def count_orders(session: Session, *, actor: Member, customer_id: int) -> int:
    require_customer(session, actor=actor, customer_id=customer_id)
    return session.exec(
        select(func.count()).select_from(Order).where(*_listed(actor, customer_id))
    ).one()


def list_order_lines(session: Session, *, order_ids: list[int]) -> dict[int, list[OrderLine]]:
    """The lines of orders loaded through the access rule, by order, in position order."""
    found: dict[int, list[OrderLine]] = {order_id: [] for order_id in order_ids}
    if not order_ids:
        return found
    for line in session.exec(
        select(OrderLine)
        .where(col(OrderLine.order_id).in_(order_ids))
        .order_by(col(OrderLine.order_id), col(OrderLine.position), col(OrderLine.id))
    ):
        found[line.order_id].append(line)
    return found


def orders_total(session: Session, *, actor: Member, customer_id: int) -> dict[str, Decimal]:
    """What a customer has bought, per currency (currencies never add up): every order not
    cancelled nor deleted. SQLite sums in floating point, so totals are rounded to cents."""
    require_customer(session, actor=actor, customer_id=customer_id)
    return spent_per_currency(session, customer_id=customer_id)


_SPENT_PER_CURRENCY = PreparedSelect(  # built once: building it cost more than running it
    select(Order.currency, func.sum(Order.total))
    .where(
        col(Order.customer_id) == bindparam("customer_id"),
        col(Order.deleted_at).is_(None),
        col(Order.status) != OrderStatus.CANCELLED,
        col(Order.total).is_not(None),
        col(Order.currency).is_not(None),
    )
    .group_by(col(Order.currency))
    .order_by(col(Order.currency))
)


def spent_per_currency(session: Session, *, customer_id: int) -> dict[str, Decimal]:
    """`orders_total` for a caller that has checked access already (the card)."""
    rows = _SPENT_PER_CURRENCY.rows(session, {"customer_id": customer_id})
    return {currency: Decimal(total or 0).quantize(CENT) for currency, total in rows if currency}


def suggest_order_number(
    session: Session, *, today: date, pattern: str = DEFAULT_NUMBER_PATTERN
) -> str:
    """The next free order number of `pattern` for `today`'s year (storage/numbering.py)."""
    return suggest_number(session, column=Order.number, today=today, pattern=pattern)


def order_number_taken(session: Session, *, number: str) -> bool:
    """Whether an order (a deleted one too) has `number` in any case: the flow asks for
    another."""
    return _number_taken(session, number.strip())


def _number_taken(session: Session, number: str) -> bool:
    found = session.exec(select(Order.id).where(number_is(Order.number, number))).first()
    return found is not None


def _id(order: Order) -> int:
    assert order.id is not None
    return order.id


def list_deals_to_link(
    session: Session, *, actor: Member, customer_id: int, limit: int = 8
) -> list[Deal]:
    """The deals of a visible customer an order may be linked to (those `require_deal` lets
    the actor open), latest activity first."""
    require_customer(session, actor=actor, customer_id=customer_id)
    return list(
        session.exec(
            select(Deal)
            .where(
                col(Deal.customer_id) == customer_id,
                col(Deal.deleted_at).is_(None),
                owner_scope(actor, Deal.owner_id),
            )
            .order_by(col(Deal.updated_at).desc(), col(Deal.id).desc())
            .limit(limit)
        )
    )
