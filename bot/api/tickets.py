"""`/tickets`: list (filters, text search, cursor), get with status history and comments,
create, partial update (status with comment, assignee, priority, due time, description),
soft delete.

Writes are the chat's storage calls (`create_ticket`, `move_ticket`, `reopen_ticket`,
`reassign_ticket`, `edit_ticket`, `add_comment`, `archive_ticket`), so numbering, the
assignee's reminders, the audit log and the webhook events are the same whichever way a
ticket came in. Who has the ticket is told as the chat tells them (`storage.ticket_notices`),
as reminders written in the change's transaction, which `crm-bot run` delivers: this process
has no bot. A ticket is read by `require_ticket`: the deal's rule, plus its assignee, who
may be outside the owner's team and sees that ticket only.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from bot.api import fields
from bot.api.auth import Reader, Writer, state_of
from bot.api.orders import StatusMoveOut
from bot.api.params import (
    Cursor,
    IdempotencyKey,
    IfMatch,
    Int,
    Limit,
    Moment,
    OptionalId,
    Paged,
    RecordId,
    Search,
    Since,
)
from bot.api.problems import FieldRefused, conflict, problem_responses
from bot.api.writes import Resource
from storage.access import NotFound, require_ticket
from storage.models import Member, Ticket, TicketStatus, utcnow
from storage.parsing import MAX_RECORD_ID
from storage.record_lists import Filters, list_tickets_page
from storage.ticket_notices import queue_assignment_notices
from storage.ticket_views import ticket_histories
from storage.tickets import (
    DONE,
    Priority,
    TicketCreate,
    TransitionRefused,
    add_comment,
    archive_ticket,
    create_ticket,
    due_by_sla,
    edit_ticket,
    move_ticket,
    reassign_ticket,
    reopen_ticket,
)

router = APIRouter(prefix="/tickets", tags=["tickets"])
# The ticket flow's description is held to the note summary's length, so is the API's.
DESCRIPTION_LIMIT = "summary"


class CommentOut(BaseModel):
    member_id: int
    text: str
    created_at: datetime


class TicketOut(BaseModel):
    id: int
    number: str
    customer_id: int
    owner_id: int
    assignee_id: int
    order_id: int | None
    type: str
    priority: str
    description: str
    due_at: datetime
    status: str
    resolved_at: datetime | None
    satisfaction_score: int | None
    satisfaction_comment: str | None
    status_history: list[StatusMoveOut]
    comments: list[CommentOut]
    created_at: datetime
    updated_at: datetime


class TicketPage(Paged):
    items: list[TicketOut]


class TicketIn(BaseModel):
    """A new ticket for a customer the token's member may see. Without `assignee_id`, the
    customer's salesperson; without `due_at`, the priority's SLA (`[tickets] sla_hours`); an
    order given must be the customer's."""

    model_config = ConfigDict(extra="forbid")

    customer_id: Int = Field(ge=1, le=MAX_RECORD_ID)
    type: str = Field(examples=["complaint", "repair"])
    priority: Priority = Priority.NORMAL
    description: str
    due_at: Moment | None = None
    assignee_id: Int | None = Field(default=None, ge=1, le=MAX_RECORD_ID)
    order_id: Int | None = Field(default=None, ge=1, le=MAX_RECORD_ID)


class TicketPatch(BaseModel):
    """`status` moves the ticket as the card's buttons (open to in_progress or waiting,
    between in_progress and waiting, resolved from any of them, closed after resolved) or
    reopens a resolved or closed one (`open`, with `comment` as the reason); `comment` is
    kept with the move, or added as a comment without one. A field left out or null stays
    as it is."""

    model_config = ConfigDict(extra="forbid")

    status: TicketStatus | None = None
    comment: str | None = None
    assignee_id: Int | None = Field(default=None, ge=1, le=MAX_RECORD_ID)
    priority: Priority | None = None
    due_at: Moment | None = None
    description: str | None = None


def represent_many(session: Session, rows: list[Ticket]) -> list[TicketOut]:
    histories = ticket_histories(session, ticket_ids=[t.id for t in rows if t.id])
    shown = []
    for t in rows:
        moves, comments = histories[t.id or 0]
        shown.append(
            TicketOut(
                id=t.id or 0,
                number=t.number,
                customer_id=t.customer_id,
                owner_id=t.owner_id,
                assignee_id=t.assignee_id,
                order_id=t.order_id,
                type=t.type,
                priority=t.priority,
                description=t.description,
                due_at=t.due_at,
                status=t.status,
                resolved_at=t.resolved_at,
                satisfaction_score=t.satisfaction_score,
                satisfaction_comment=t.satisfaction_comment,
                status_history=[
                    StatusMoveOut.model_validate(m, from_attributes=True) for m in moves
                ],
                comments=[CommentOut.model_validate(c, from_attributes=True) for c in comments],
                created_at=t.created_at,
                updated_at=t.updated_at,
            )
        )
    return shown


def show(session: Session, actor: Member, ticket_id: int) -> TicketOut:
    return represent_many(session, [require_ticket(session, actor=actor, ticket_id=ticket_id)])[0]


RESOURCE = Resource(Ticket, show, list_tickets_page, represent_many, "ticket_id", archive_ticket)


def _description(value: str) -> str:
    return fields.required_text("description", value, limit=DESCRIPTION_LIMIT)


@router.get("", response_model=TicketPage, responses=problem_responses(401, 422, 429))
def list_tickets(
    request: Request,
    caller: Reader,
    updated_since: Since = None,
    owner_id: OptionalId = None,
    assignee_id: OptionalId = None,
    customer_id: OptionalId = None,
    status: TicketStatus | None = None,
    priority: Priority | None = None,
    type: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
    overdue: Annotated[
        bool, Query(description="Only open tickets whose due time has passed")
    ] = False,
    q: Search = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> TicketPage:
    """Tickets the token's member may see (as the ticket card shows them), by last change;
    `q` is part of the number or of the description."""
    filters = Filters(
        updated_since=updated_since,
        owner_id=owner_id,
        assignee_id=assignee_id,
        customer_id=customer_id,
        status=status.value if status else None,
        priority=priority.value if priority else None,
        kind=type,
        overdue_at=utcnow() if overdue else None,
        text=q,
    )
    items, next_cursor = RESOURCE.page(request, caller, filters, cursor, limit)
    return TicketPage(items=items, next_cursor=next_cursor)


@router.post(
    "",
    status_code=201,
    response_model=TicketOut,
    responses=problem_responses(401, 403, 404, 422, 429),
)
def create_one(
    request: Request, caller: Writer, data: TicketIn, idempotency_key: IdempotencyKey = None
) -> Response:
    """404 when the customer, the order or the assignee is not one the token's member may
    see or pick (as the ticket flow offers them)."""
    config = state_of(request).config.tickets
    fields.choice("type", data.type, tuple(config.types))
    description = _description(data.description)
    sla = config.sla()

    def make(session: Session) -> Ticket:
        now = utcnow()
        try:
            values = TicketCreate(
                customer_id=data.customer_id,
                type=data.type,
                priority=data.priority,
                description=description,
                due_at=data.due_at or due_by_sla(data.priority, now, sla),
                assignee_id=data.assignee_id,
                order_id=data.order_id,
            )
            ticket = create_ticket(
                session,
                actor=caller.member,
                data=values,
                sla=sla,
                number_pattern=config.number_pattern,
                now=now,
            )
        except ValueError as refused:
            raise FieldRefused("due_at", str(refused)) from None
        queue_assignment_notices(
            session, actor=caller.member, ticket=ticket, previous_id=None, at=now
        )
        return ticket

    return RESOURCE.create(request, caller, idempotency_key, data, make)


@router.patch(
    "/{ticket_id}",
    response_model=TicketOut,
    responses=problem_responses(401, 403, 404, 409, 412, 422, 429),
)
def update_one(
    request: Request,
    caller: Writer,
    ticket_id: RecordId,
    data: TicketPatch,
    if_match: IfMatch = None,
) -> Response:
    """409 naming `status` for a move the ticket's status does not allow (closing an open
    ticket, any move of a closed one but a reopen); 422 naming `assignee_id` for a member the
    token's member may not give the ticket to."""
    comment = fields.text("comment", data.comment, limit="reason")
    description = None if data.description is None else _description(data.description)
    sla = state_of(request).config.tickets.sla()
    actor = caller.member

    def apply(session: Session) -> None:
        try:
            edit_ticket(
                session,
                actor=actor,
                ticket_id=ticket_id,
                priority=data.priority,
                due_at=data.due_at,
                description=description,
                sla=sla,
            )
        except ValueError as refused:
            raise FieldRefused("due_at", str(refused)) from None
        moved = data.status is not None and _set_status(
            session, actor, ticket_id, data.status, comment, sla
        )
        if comment is not None and not moved:
            add_comment(session, actor=actor, ticket_id=ticket_id, text=comment)
        if data.assignee_id is not None:  # last: an assignee giving it away sees it no more
            _reassign(session, actor, ticket_id, data.assignee_id, sla)

    return RESOURCE.change(request, caller, ticket_id, if_match, apply)


def _reassign(
    session: Session, actor: Member, ticket_id: int, assignee_id: int, sla: dict[str, timedelta]
) -> None:
    try:
        ticket, previous = reassign_ticket(
            session, actor=actor, ticket_id=ticket_id, assignee_id=assignee_id, sla=sla
        )
    except NotFound:  # the ticket was found: it is the member who is not one to pick
        raise FieldRefused("assignee_id", "not a member you may give this ticket to") from None
    if previous != assignee_id:
        queue_assignment_notices(session, actor=actor, ticket=ticket, previous_id=previous)


def _set_status(
    session: Session,
    actor: Member,
    ticket_id: int,
    status: TicketStatus,
    comment: str | None,
    sla: dict[str, timedelta],
) -> bool:
    """Move (or reopen) the ticket; whether it moved, so the comment went with the move."""
    ticket = require_ticket(session, actor=actor, ticket_id=ticket_id)
    if ticket.status == status:
        return False
    try:
        if status == TicketStatus.OPEN and ticket.status in DONE:
            if comment is None:
                raise FieldRefused("comment", "a reopened ticket needs a reason")
            reopen_ticket(session, actor=actor, ticket_id=ticket_id, reason=comment, sla=sla)
        else:
            move_ticket(session, actor=actor, ticket_id=ticket_id, status=status, comment=comment)
    except TransitionRefused as refused:
        raise conflict(f"the ticket is {refused}; it cannot move to {status}", "status") from None
    return True


RESOURCE.add_routes(
    router,
    TicketOut,
    deleted="Soft delete, as Delete on the ticket card: an admin can restore it.",
)
