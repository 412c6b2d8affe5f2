"""`/orders`: list (filters, text search, cursor), get with lines and status history, create
with lines, partial update (`status`, as the card's status buttons and Cancel; what the order
holds, through `update_order`), soft delete.

Writes are the chat's storage calls (`create_order`, `advance_order`, `cancel_order`,
`archive_order`), so numbering, the delivery reminder, the audit log and the webhook events
are the same whichever way an order came in; an order is read by the deal's rule
(`require_order`).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from bot.api import fields
from bot.api.auth import Reader, Writer, state_of
from bot.api.params import (
    Cursor,
    Day,
    IdempotencyKey,
    IfMatch,
    Int,
    Limit,
    OptionalId,
    Paged,
    RecordId,
    Search,
    Since,
)
from bot.api.problems import FieldRefused, conflict, problem_responses
from bot.api.writes import Resource
from storage.models import Member, Order, OrderLine, OrderStatus, OrderStatusChange, utcnow
from storage.order_changes import EditRefused, update_order
from storage.orders import (
    FORWARD,
    REFUSED_FIELD,
    DuplicateNumber,
    OrderCreate,
    OrderLineCreate,
    TransitionRefused,
    advance_order,
    archive_order,
    cancel_order,
    create_order,
    get_order,
    list_order_lines,
)
from storage.parsing import (
    MAX_AMOUNT,
    MAX_RECORD_ID,
    ParseError,
    parse_quantity,
)
from storage.record_lists import Filters, list_orders_page, status_changes_by_order

router = APIRouter(prefix="/orders", tags=["orders"])
Amount = str | Decimal | None
STATUSES = [str(s) for s in OrderStatus]


class LineOut(BaseModel):
    position: int
    product: str
    quantity: str | None
    unit_price: str | None
    amount: str | None


class StatusMoveOut(BaseModel):
    from_status: str | None
    to_status: str
    comment: str | None
    changed_by_id: int
    changed_at: datetime


class OrderOut(BaseModel):
    id: int
    number: str
    customer_id: int
    owner_id: int
    deal_id: int | None
    contract_id: int | None
    status: str
    total: str | None
    currency: str | None
    ordered_on: date
    delivery_due_on: date | None
    cancel_reason: str | None
    lines: list[LineOut]
    status_history: list[StatusMoveOut]
    created_at: datetime
    updated_at: datetime


class OrderPage(Paged):
    items: list[OrderOut]


class LineIn(BaseModel):
    """One product; its amount is quantity × unit price (in the order's currency)."""

    model_config = ConfigDict(extra="forbid")

    product: str
    quantity: str | Decimal | None = Field(default=None, examples=["2", "0.5"])
    unit_price: Amount = Field(default=None, examples=["12.50", "¥3,500"])


class OrderIn(BaseModel):
    """A new order for a customer the token's member may see, with its lines; `total` only
    when no line has a price. Without `number`, the next of the configured pattern; without
    `ordered_on`, today (UTC); a deal or contract given must be the customer's."""

    model_config = ConfigDict(extra="forbid")

    customer_id: Int = Field(ge=1, le=MAX_RECORD_ID)
    lines: list[LineIn] = Field(default=[], max_length=100)
    total: Amount = None
    currency: str | None = None
    number: str | None = None
    ordered_on: Day | None = None
    delivery_due_on: Day | None = None
    deal_id: Int | None = Field(default=None, ge=1, le=MAX_RECORD_ID)
    contract_id: Int | None = Field(default=None, ge=1, le=MAX_RECORD_ID)
    status: str | None = Field(
        default=None, json_schema_extra={"enum": [*(str(s) for s in FORWARD), None]}
    )


class OrderPatch(BaseModel):
    """`status` moves the order one step on, as the card's button (ordered, confirmed,
    shipped, delivered, paid), or cancels it before paid with `comment` as the reason; the
    status it already has changes nothing. `comment` is kept with the move. The other
    fields change what the order holds, checked as a new order's: `lines` replace its
    lines (and a typed total), `total` only for an order without priced lines, `currency`
    names the currency of amounts sent without one (and is the order's); a deal or contract
    must be the customer's; `delivery_due_on` not past for an order not yet delivered. A
    field sent as null is cleared."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["ordered", "confirmed", "shipped", "delivered", "paid", "cancelled"] | None = (
        None
    )
    comment: str | None = None
    ordered_on: Day | None = None
    delivery_due_on: Day | None = None
    deal_id: Int | None = Field(default=None, ge=1, le=MAX_RECORD_ID)
    contract_id: Int | None = Field(default=None, ge=1, le=MAX_RECORD_ID)
    currency: str | None = None
    lines: list[LineIn] | None = Field(default=None, max_length=100)
    total: Amount = None


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _line(line: OrderLine) -> LineOut:
    return LineOut(
        position=line.position,
        product=line.product,
        quantity=_text(line.quantity),
        unit_price=_text(line.unit_price),
        amount=_text(line.amount),
    )


def _move(change: OrderStatusChange) -> StatusMoveOut:
    return StatusMoveOut(
        from_status=change.from_status,
        to_status=change.to_status,
        comment=change.comment,
        changed_by_id=change.changed_by_id,
        changed_at=change.changed_at,
    )


def represent_many(session: Session, rows: list[Order]) -> list[OrderOut]:
    ids = [o.id for o in rows if o.id]
    lines = list_order_lines(session, order_ids=ids)
    history = status_changes_by_order(session, order_ids=ids)
    return [
        OrderOut(
            id=o.id or 0,
            number=o.number,
            customer_id=o.customer_id,
            owner_id=o.owner_id,
            deal_id=o.deal_id,
            contract_id=o.contract_id,
            status=o.status,
            total=_text(o.total),
            currency=o.currency,
            ordered_on=o.ordered_on,
            delivery_due_on=o.delivery_due_on,
            cancel_reason=o.cancel_reason,
            lines=[_line(line) for line in lines[o.id or 0]],
            status_history=[_move(c) for c in history[o.id or 0]],
            created_at=o.created_at,
            updated_at=o.updated_at,
        )
        for o in rows
    ]


def show(session: Session, actor: Member, order_id: int) -> OrderOut:
    return represent_many(session, [get_order(session, actor=actor, order_id=order_id)])[0]


RESOURCE = Resource(Order, show, list_orders_page, represent_many, "order_id", archive_order)


def _quantity(index: int, value: str | Decimal | None) -> Decimal | None:
    if value is None:
        return None
    parsed = parse_quantity(str(value))
    if isinstance(parsed, ParseError):
        raise FieldRefused(f"lines[{index}].quantity", parsed)
    return parsed


def _lines(lines: list[LineIn], currency: str) -> tuple[OrderLineCreate, ...]:
    made = []
    for index, line in enumerate(lines):
        field = f"lines[{index}].unit_price"
        text = None if line.unit_price is None else str(line.unit_price)
        price = fields.money(field, text, currency, default=currency)
        try:
            made.append(
                OrderLineCreate(
                    product=fields.required_text(
                        f"lines[{index}].product", line.product, limit="product"
                    ),
                    quantity=_quantity(index, line.quantity),
                    unit_price=price.amount if price else None,
                )
            )
        except ValueError as refused:
            raise FieldRefused(f"lines[{index}]", str(refused)) from None
        if (made[-1].line_amount or 0) > MAX_AMOUNT:
            raise FieldRefused(f"lines[{index}]", f"an amount up to {MAX_AMOUNT:,.0f}")
    if sum(line.line_amount or 0 for line in made) > MAX_AMOUNT:
        raise FieldRefused("lines", f"a total up to {MAX_AMOUNT:,.0f}")
    return tuple(made)


def to_create(data: OrderIn, *, default_currency: str) -> OrderCreate:
    if data.currency is not None and not (len(data.currency) == 3 and data.currency.isascii()):
        raise FieldRefused("currency", "ISO 4217")
    currency = (data.currency or default_currency).upper()
    lines = _lines(data.lines, currency)
    priced = any(line.line_amount is not None for line in lines)
    total_text = None if data.total is None else str(data.total)
    total = fields.money("total", total_text, currency, default=currency)
    if data.status is not None and data.status not in FORWARD:
        raise FieldRefused("status", f"one of {', '.join(FORWARD)}")
    try:
        return OrderCreate(
            customer_id=data.customer_id,
            ordered_on=data.ordered_on or utcnow().date(),
            lines=lines,
            total=total.amount if total else None,
            currency=currency if priced or total else None,
            number=fields.number(data.number),
            deal_id=data.deal_id,
            contract_id=data.contract_id,
            delivery_due_on=data.delivery_due_on,
            status=OrderStatus(data.status or OrderStatus.ORDERED),
        )
    except ValueError as refused:
        raise FieldRefused(REFUSED_FIELD.get(str(refused), "lines"), str(refused)) from None


@router.get("", response_model=OrderPage, responses=problem_responses(401, 422, 429))
def list_orders(
    request: Request,
    caller: Reader,
    updated_since: Since = None,
    owner_id: OptionalId = None,
    customer_id: OptionalId = None,
    status: Annotated[OrderStatus | None, Query()] = None,
    q: Search = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> OrderPage:
    """Orders the token's member may see (as the customer cards show them), by last change;
    `q` is part of the number or of a product."""
    filters = Filters(
        updated_since=updated_since,
        owner_id=owner_id,
        customer_id=customer_id,
        status=status.value if status else None,
        text=q,
    )
    items, next_cursor = RESOURCE.page(request, caller, filters, cursor, limit)
    return OrderPage(items=items, next_cursor=next_cursor)


@router.post(
    "",
    status_code=201,
    response_model=OrderOut,
    responses=problem_responses(401, 403, 404, 409, 422, 429),
)
def create_one(
    request: Request, caller: Writer, data: OrderIn, idempotency_key: IdempotencyKey = None
) -> Response:
    """404 when the customer (or the deal or contract) is not one the token's member may
    see; 409 naming `number` when that number is taken (by a deleted order too)."""
    state = state_of(request)
    values = to_create(data, default_currency=state.config.locale.currency)

    def make(session: Session) -> Order:
        try:
            return create_order(
                session,
                actor=caller.member,
                data=values,
                number_pattern=state.config.orders.number_pattern,
            )
        except DuplicateNumber as taken:
            raise conflict(f"order number {taken} is taken", "number") from None

    return RESOURCE.create(request, caller, idempotency_key, data, make)


def _edits(data: OrderPatch, order: Order, default_currency: str) -> dict[str, Any]:
    """The sent fields of what the order holds, read as the create reads them; amounts in
    the currency sent, else the order's, else the team's (which the order then takes)."""
    sent = data.model_fields_set
    edits: dict[str, Any] = {
        name: getattr(data, name)
        for name in ("delivery_due_on", "deal_id", "contract_id")
        if name in sent
    }
    if "ordered_on" in sent:
        if data.ordered_on is None:
            raise FieldRefused("ordered_on", "an order has a date, e.g. 2026-03-01")
        edits["ordered_on"] = data.ordered_on
    if "currency" in sent:
        if data.currency is not None and not (len(data.currency) == 3 and data.currency.isascii()):
            raise FieldRefused("currency", "ISO 4217")
        edits["currency"] = data.currency.upper() if data.currency else None
    currency = edits.get("currency", order.currency) or default_currency.upper()
    priced = False
    if "lines" in sent:
        edits["lines"] = _lines(data.lines or [], currency)
        priced = any(line.line_amount is not None for line in edits["lines"])
    if "total" in sent:
        text = None if data.total is None else str(data.total)
        total = fields.money("total", text, currency, default=currency)
        edits["total"] = total.amount if total else None
        priced = priced or total is not None
    if priced and "currency" not in sent:
        edits["currency"] = currency
    return edits


@router.patch(
    "/{order_id}",
    response_model=OrderOut,
    responses=problem_responses(401, 403, 404, 409, 412, 422, 429),
)
def update_one(
    request: Request,
    caller: Writer,
    order_id: RecordId,
    data: OrderPatch,
    if_match: IfMatch = None,
) -> Response:
    """409 naming `status` for a move the order's status does not allow (a step back or a
    skipped one, a move of a cancelled order, cancelling a paid one); 422 naming the field
    an edit would leave wrong; 404 for a deal or contract outside the scope."""
    comment = fields.text("comment", data.comment, limit="reason")
    status = OrderStatus(data.status) if data.status else None
    if status == OrderStatus.CANCELLED and comment is None:
        raise FieldRefused("comment", "a cancelled order needs a reason")
    actor = caller.member
    currency = state_of(request).config.locale.currency

    def apply(session: Session) -> None:
        order = get_order(session, actor=actor, order_id=order_id)
        edits = _edits(data, order, currency)
        if edits:
            try:
                update_order(
                    session, actor=actor, order_id=order_id, changes=edits, today=utcnow().date()
                )
            except EditRefused as refused:
                raise FieldRefused(refused.field, str(refused)) from None
        try:
            if status is None:
                return
            if status == OrderStatus.CANCELLED:
                assert comment is not None
                cancel_order(session, actor=actor, order_id=order_id, reason=comment)
            else:
                advance_order(
                    session, actor=actor, order_id=order_id, status=status, comment=comment
                )
        except TransitionRefused as refused:
            detail = f"the order is {refused}; it cannot move to {status}"
            raise conflict(detail, "status") from None

    return RESOURCE.change(request, caller, order_id, if_match, apply)


RESOURCE.add_routes(
    router, OrderOut, deleted="Soft delete, as Delete on the order card: an admin can restore it."
)
