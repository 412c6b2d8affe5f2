"""Filtered lists of each record type for another system, a page at a time, in the order a
sync wants: by last change, oldest first (`updated_at`, then id).

Paging is by keyset: a page starts after the (updated_at, id) of the last row of the page
before, so a row changed meanwhile moves to the end and is read again, and nothing is
skipped or repeated by rows added or deleted on earlier pages. Every list applies the access
rule exactly as the chat's lists do (`owner_scope`, `member_scope`; a deal or contract through
its customer too; reminders are their member's own), so a cursor or filter learns nothing
outside the actor's scope. Also here: the batch loads a page's output needs (phones, stage
moves), and the row lock of an update that checks a version first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, exists, func, or_, text
from sqlmodel import Session, SQLModel, col, select

from storage.access import member_scope, owner_scope, ticket_scope
from storage.models import (
    Contract,
    Customer,
    CustomerPhone,
    Deal,
    DealStageChange,
    Interaction,
    Member,
    Order,
    OrderLine,
    OrderStatusChange,
    Reminder,
    Ticket,
)
from storage.reminders import OPEN_STATUSES
from storage.search.statements import escape_like
from storage.tickets import OPEN as OPEN_TICKETS

After = tuple[datetime, int]
"""The (updated_at, id) of the last row already read."""

R = TypeVar("R", bound=SQLModel)


@dataclass(frozen=True)
class Filters:
    """What a list may be narrowed by; None leaves it out. `status` is a deal's stage, a
    contract's or an order's status, or a reminder's status ("open" for pending and sent, the
    default). `text` is part of an order's number or of a product on it, of a ticket's number
    or description, of a deal's title, of a note's summary or outcome, or of a contract's
    number, title or payment terms (`_matching`). `assignee_id`, `priority`, `kind` (its
    type) and `overdue_at` (open and due before that time) narrow tickets."""

    updated_since: datetime | None = None
    owner_id: int | None = None
    customer_id: int | None = None
    status: str | None = None
    tag: str | None = None
    text: str | None = None
    include_deleted: bool = False
    assignee_id: int | None = None
    priority: str | None = None
    kind: str | None = None
    overdue_at: datetime | None = None


def _page(
    session: Session,
    statement: Any,
    model: Any,
    filters: Filters,
    after: After | None,
    limit: int,
) -> list[Any]:
    updated, row_id = col(model.updated_at), col(model.id)
    if filters.updated_since is not None:
        statement = statement.where(updated >= filters.updated_since)
    if after is not None:
        at, last_id = after
        statement = statement.where(or_(updated > at, and_(updated == at, row_id > last_id)))
    return list(session.exec(statement.order_by(updated, row_id).limit(limit)))


def _live(model: Any, filters: Filters) -> list[ColumnElement[bool]]:
    return [] if filters.include_deleted else [col(model.deleted_at).is_(None)]


def _matching(text: str | None, *columns: Any) -> list[ColumnElement[bool]]:
    """`text` (a plain substring, any case) in one of `columns`; nothing when no text."""
    if not text:
        return []
    pattern = f"%{escape_like(text)}%"
    return [or_(*(col(column).ilike(pattern, escape="\\") for column in columns))]


def _tagged(session: Session, tag: str) -> ColumnElement[bool]:
    """The customer's JSON tag list holds `tag` exactly (JSON is read per engine)."""
    if session.get_bind().dialect.name == "postgresql":
        elements = func.json_array_elements_text(col(Customer.tags)).table_valued("value")
    else:
        elements = func.json_each(col(Customer.tags)).table_valued("value")
    return exists(select(text("1")).select_from(elements).where(elements.c.value == tag))


def list_customers_page(
    session: Session, *, actor: Member, filters: Filters, after: After | None, limit: int
) -> list[Customer]:
    conditions = [owner_scope(actor, Customer.owner_id), *_live(Customer, filters)]
    if filters.owner_id is not None:
        conditions.append(col(Customer.owner_id) == filters.owner_id)
    if filters.tag is not None:
        conditions.append(_tagged(session, filters.tag))
    return _page(session, select(Customer).where(*conditions), Customer, filters, after, limit)


def list_deals_page(
    session: Session, *, actor: Member, filters: Filters, after: After | None, limit: int
) -> list[Deal]:
    """As `require_deal` sees them: the deal and its customer in scope, the customer live;
    `text` in the title."""
    searched = _matching(filters.text, Deal.title)
    return _owned_with_customer(session, Deal, Deal.stage, actor, filters, after, limit, *searched)


def list_orders_page(
    session: Session, *, actor: Member, filters: Filters, after: After | None, limit: int
) -> list[Order]:
    """As `require_order` sees them (the deal's rule); `text` in the number or a product."""
    searched = []
    if filters.text:
        pattern = f"%{escape_like(filters.text)}%"
        product = exists().where(
            col(OrderLine.order_id) == col(Order.id),
            col(OrderLine.product).ilike(pattern, escape="\\"),
        )
        searched.append(or_(col(Order.number).ilike(pattern, escape="\\"), product))
    return _owned_with_customer(
        session, Order, Order.status, actor, filters, after, limit, *searched
    )


def list_tickets_page(
    session: Session, *, actor: Member, filters: Filters, after: After | None, limit: int
) -> list[Ticket]:
    """As `require_ticket` sees them (`ticket_scope`: the deal's rule, or as the assignee)."""
    conditions = [ticket_scope(actor)]
    for column, value in (
        (Ticket.owner_id, filters.owner_id),
        (Ticket.customer_id, filters.customer_id),
        (Ticket.assignee_id, filters.assignee_id),
        (Ticket.status, filters.status),
        (Ticket.priority, filters.priority),
        (Ticket.type, filters.kind),
    ):
        if value is not None:
            conditions.append(col(column) == value)
    if filters.overdue_at is not None:
        conditions += [
            col(Ticket.status).in_(OPEN_TICKETS),
            col(Ticket.due_at) < filters.overdue_at,
        ]
    conditions += _matching(filters.text, Ticket.number, Ticket.description)
    statement = (
        select(Ticket)
        .join(Customer, col(Customer.id) == col(Ticket.customer_id))
        .where(*conditions)
    )
    return _page(session, statement, Ticket, filters, after, limit)


def _owned_with_customer(
    session: Session,
    model: Any,
    status: Any,
    actor: Member,
    filters: Filters,
    after: After | None,
    limit: int,
    *more: ColumnElement[bool],
) -> list[Any]:
    """Deals and orders: the record and its customer in scope, the customer live."""
    conditions = [
        owner_scope(actor, model.owner_id),
        owner_scope(actor, Customer.owner_id),
        col(Customer.deleted_at).is_(None),
        *_live(model, filters),
        *more,
    ]
    if filters.owner_id is not None:
        conditions.append(col(model.owner_id) == filters.owner_id)
    if filters.customer_id is not None:
        conditions.append(col(model.customer_id) == filters.customer_id)
    if filters.status is not None:
        conditions.append(col(status) == filters.status)
    statement = (
        select(model).join(Customer, col(Customer.id) == col(model.customer_id)).where(*conditions)
    )
    return _page(session, statement, model, filters, after, limit)


def _through_customer(
    session: Session,
    model: Any,
    actor: Member,
    filters: Filters,
    after: After | None,
    limit: int,
    status: Any = None,
    *more: ColumnElement[bool],
) -> list[Any]:
    """Notes and contracts, scoped like their customer (`require_interaction`,
    `require_contract`), which must be live."""
    conditions = [
        owner_scope(actor, Customer.owner_id),
        col(Customer.deleted_at).is_(None),
        *_live(model, filters),
        *more,
    ]
    if filters.owner_id is not None:
        conditions.append(col(model.owner_id) == filters.owner_id)
    if filters.customer_id is not None:
        conditions.append(col(model.customer_id) == filters.customer_id)
    if filters.status is not None and status is not None:
        conditions.append(col(status) == filters.status)
    statement = (
        select(model).join(Customer, col(Customer.id) == col(model.customer_id)).where(*conditions)
    )
    return _page(session, statement, model, filters, after, limit)


def list_interactions_page(
    session: Session, *, actor: Member, filters: Filters, after: After | None, limit: int
) -> list[Interaction]:
    """`text` in the summary or the outcome."""
    searched = _matching(filters.text, Interaction.summary, Interaction.outcome)
    return _through_customer(session, Interaction, actor, filters, after, limit, None, *searched)


def list_contracts_page(
    session: Session, *, actor: Member, filters: Filters, after: After | None, limit: int
) -> list[Contract]:
    """`text` in the number, the title or the payment terms."""
    searched = _matching(filters.text, Contract.number, Contract.title, Contract.terms)
    return _through_customer(
        session, Contract, actor, filters, after, limit, Contract.status, *searched
    )


def list_reminders_page(
    session: Session, *, actor: Member, filters: Filters, after: After | None, limit: int
) -> list[Reminder]:
    """The actor's own reminders (they are personal: storage/reminders.py), open ones unless
    another status is asked for."""
    status = filters.status or "open"
    conditions = [col(Reminder.member_id) == actor.id]
    if status == "open":
        conditions.append(col(Reminder.status).in_(OPEN_STATUSES))
    elif status != "all":
        conditions.append(col(Reminder.status) == status)
    if filters.customer_id is not None:
        conditions.append(col(Reminder.customer_id) == filters.customer_id)
    return _page(session, select(Reminder).where(*conditions), Reminder, filters, after, limit)


def list_members_page(
    session: Session, *, actor: Member, filters: Filters, after: After | None, limit: int
) -> list[Member]:
    """The members `/team` shows the actor: admins everyone, managers their team, sales
    themselves."""
    statement = select(Member).where(member_scope(actor))
    return _page(session, statement, Member, filters, after, limit)


def phones_by_customer(session: Session, *, customer_ids: Sequence[int]) -> dict[int, list[str]]:
    """The phones of the customers of a page (already loaded through the access rule)."""
    found: dict[int, list[str]] = {i: [] for i in customer_ids}
    if customer_ids:
        rows = session.exec(
            select(CustomerPhone)
            .where(col(CustomerPhone.customer_id).in_(customer_ids))
            .order_by(col(CustomerPhone.id))
        )
        for phone in rows:
            found[phone.customer_id].append(phone.e164)
    return found


def stage_changes_by_deal(
    session: Session, *, deal_ids: Sequence[int]
) -> dict[int, list[DealStageChange]]:
    """The stage history of the deals of a page (already loaded through the access rule)."""
    return _history(session, DealStageChange, DealStageChange.deal_id, deal_ids)


def status_changes_by_order(
    session: Session, *, order_ids: Sequence[int]
) -> dict[int, list[OrderStatusChange]]:
    """The status history of the orders of a page (already loaded through the access rule)."""
    return _history(session, OrderStatusChange, OrderStatusChange.order_id, order_ids)


def _history(session: Session, model: Any, key: Any, ids: Sequence[int]) -> dict[int, list[Any]]:
    found: dict[int, list[Any]] = {i: [] for i in ids}
    if ids:
        rows = session.exec(
            select(model).where(col(key).in_(ids)).order_by(col(model.changed_at), col(model.id))
        )
        for change in rows:
            found[getattr(change, key.key)].append(change)
    return found


def lock_row(session: Session, model: type[R], row_id: int) -> None:
    """Hold the row until the transaction ends, so a version checked before an update is
    still the version updated: `FOR UPDATE` on PostgreSQL; on SQLite the write transaction
    began with BEGIN IMMEDIATE and already excludes every other writer."""
    session.exec(select(col(model.id)).where(col(model.id) == row_id).with_for_update()).first()  # type: ignore[attr-defined]
