"""Service requests (工单): a complaint, repair, question or return heard from a customer,
followed by its assignee until it is closed.

A ticket belongs to the customer's salesperson (`owner_for`, as a deal) and is read by the
deal's rule, plus one door: its assignee sees it, also from outside the owner's team, and
nothing else of the customer (`storage.access.require_ticket`). Its due time comes from the
priority's SLA unless typed; the assignee is reminded before it and when it has passed
(`_plan_reminders`, through the reminder machinery: claimed once, in working hours).

Status moves: open -> in_progress -> waiting -> resolved -> closed (open, in progress and
waiting in any order; resolved from any of them), and a reopen from resolved or closed with a
reason. Every move is kept as a `TicketStatusChange` besides its audit entry; a move to the
status the ticket has already changes nothing (a repeated press).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, delete, func, not_, update
from sqlmodel import Session, col, select

from storage.access import (
    NotFound,
    actor_id,
    member_scope,
    owner_for,
    require_customer,
    require_order,
    require_ticket,
)
from storage.audit import diff, record_audit, snapshot
from storage.contracts import TransitionRefused
from storage.interactions import AttachmentRef
from storage.models import (
    Attachment,
    Customer,
    Member,
    Reminder,
    Role,
    Ticket,
    TicketComment,
    TicketStatus,
    TicketStatusChange,
    utcnow,
)
from storage.numbering import suggest_number
from storage.reminders import OPEN_STATUSES as OPEN_REMINDERS
from storage.reminders import ReminderKind, ReminderStatus
from storage.satisfaction import TICKET, FallingRule, keep_score

__all__ = ["TransitionRefused"]

ENTITY = "ticket"
DEFAULT_NUMBER_PATTERN = "GD-{year}-{seq:04d}"
MAX_FILES = 50  # [tickets] max_files is at most this


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


DEFAULT_TYPES = ("complaint", "repair", "question", "return", "other")
DEFAULT_SLA = {
    Priority.URGENT: timedelta(hours=4),
    Priority.HIGH: timedelta(days=1),
    Priority.NORMAL: timedelta(days=3),
    Priority.LOW: timedelta(days=7),
}
OPEN = (TicketStatus.OPEN, TicketStatus.IN_PROGRESS, TicketStatus.WAITING)
DONE = (TicketStatus.RESOLVED, TicketStatus.CLOSED)
# Where each status may go (a reopen, back to open, is `reopen_ticket`: it needs a reason).
MOVES = {
    TicketStatus.OPEN: (TicketStatus.IN_PROGRESS, TicketStatus.WAITING, TicketStatus.RESOLVED),
    TicketStatus.IN_PROGRESS: (TicketStatus.WAITING, TicketStatus.RESOLVED),
    TicketStatus.WAITING: (TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED),
    TicketStatus.RESOLVED: (TicketStatus.CLOSED,),
    TicketStatus.CLOSED: (),
}
BEFORE, OVERDUE = "before", "overdue"


@dataclass(frozen=True)
class TicketCreate:
    """What the ticket flow collects; `assignee_id` None is the customer's owner."""

    customer_id: int
    type: str
    priority: Priority
    description: str
    due_at: datetime
    assignee_id: int | None = None
    order_id: int | None = None
    files: tuple[AttachmentRef, ...] = ()

    def __post_init__(self) -> None:
        if not self.description.strip():
            raise ValueError("a ticket needs a description")
        if len(self.files) > MAX_FILES:
            raise ValueError(f"at most {MAX_FILES} files")
        if self.due_at.tzinfo is None:
            raise ValueError("a due time is timezone-aware")


def due_by_sla(priority: Priority, now: datetime, sla: Mapping[str, timedelta]) -> datetime:
    """The default due time of a ticket of `priority` opened `now`."""
    return now + sla.get(str(priority), DEFAULT_SLA[priority])


def remind_before(priority: Priority, sla: Mapping[str, timedelta]) -> timedelta:
    """How long before the due time the assignee is reminded: a quarter of the SLA."""
    return sla.get(str(priority), DEFAULT_SLA[priority]) / 4


def assignable_members(session: Session, *, actor: Member, customer: Customer) -> list[Member]:
    """Who the actor may give a ticket of `customer` to: its owner always; a manager anyone in
    the team, an admin any active member."""
    rows = session.exec(
        select(Member)
        .where(
            col(Member.active).is_(True),
            (col(Member.id) == customer.owner_id)
            if actor.role == Role.SALES
            else (member_scope(actor) | (col(Member.id) == customer.owner_id)),
        )
        .order_by(col(Member.display_name), col(Member.id))
    )
    return list(rows)


def assignable_for_ticket(session: Session, *, actor: Member, ticket_id: int) -> list[Member]:
    """Whom the actor may give a ticket they see to (`assignable_members` of its customer)."""
    ticket = require_ticket(session, actor=actor, ticket_id=ticket_id)
    customer = session.get_one(Customer, ticket.customer_id)
    return assignable_members(session, actor=actor, customer=customer)


def _require_assignable(
    session: Session, actor: Member, customer: Customer, assignee_id: int
) -> Member:
    for member in assignable_members(session, actor=actor, customer=customer):
        if member.id == assignee_id:
            return member
    raise NotFound


def create_ticket(
    session: Session,
    *,
    actor: Member,
    data: TicketCreate,
    sla: Mapping[str, timedelta] | None = None,
    number_pattern: str = DEFAULT_NUMBER_PATTERN,
    now: datetime | None = None,
) -> Ticket:
    """Record a ticket for a customer the actor may see, with its files, first status and
    reminders. An order given must be this customer's; a due time not after `now` is refused
    (ValueError); an assignee the actor may not pick is NotFound."""
    now = now or utcnow()
    if data.due_at <= now:
        raise ValueError("a due time is in the future")
    customer = require_customer(session, actor=actor, customer_id=data.customer_id)
    if data.order_id is not None:
        order = require_order(session, actor=actor, order_id=data.order_id)
        if order.customer_id != customer.id:
            raise NotFound
    assignee_id = customer.owner_id if data.assignee_id is None else data.assignee_id
    _require_assignable(session, actor, customer, assignee_id)
    number = suggest_number(
        session, column=Ticket.number, today=now.date(), pattern=number_pattern
    )
    ticket = Ticket(
        customer_id=data.customer_id,
        owner_id=owner_for(actor, customer),
        assignee_id=assignee_id,
        order_id=data.order_id,
        number=number,
        type=data.type,
        priority=str(data.priority),
        description=data.description.strip(),
        due_at=data.due_at,
        status=TicketStatus.OPEN,
        created_by_id=actor_id(actor),
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    session.flush()
    ticket_id = _id(ticket)
    session.add(
        TicketStatusChange(
            ticket_id=ticket_id,
            to_status=TicketStatus.OPEN,
            changed_by_id=actor_id(actor),
            changed_at=now,
        )
    )
    for ref in data.files:
        _attach(session, actor, ticket, ref, now)
    values = snapshot(
        number=number,
        type=data.type,
        priority=ticket.priority,
        status=ticket.status,
        due_at=data.due_at,
        assignee_id=assignee_id,
        order_id=data.order_id,
        owner_id=ticket.owner_id,
        files=len(data.files),
    )
    _audit(session, actor, ticket_id, "create", diff({}, values))
    _plan_reminders(session, ticket, sla or {})
    return ticket


def _attach(
    session: Session, actor: Member, ticket: Ticket, ref: AttachmentRef, at: datetime
) -> None:
    session.add(
        Attachment(
            ticket_id=_id(ticket),
            kind=ref.kind,
            telegram_file_id=ref.file_id,
            telegram_file_unique_id=ref.file_unique_id,
            created_by_id=actor_id(actor),
            created_at=at,
        )
    )


def _plan_reminders(session: Session, ticket: Ticket, sla: Mapping[str, timedelta]) -> None:
    """The assignee's two reminders: before the due time and once it has passed. Each has a
    dedupe key naming the ticket, stage, due time and member, so it is made once and claimed
    once (restart-safe); delivery holds them to working hours (`exact_time=False`). They name
    no customer: an assignee from another team may not see it, and a hand-over of the
    customer leaves them with the assignee."""
    early = ticket.due_at - remind_before(Priority(ticket.priority), sla)
    for stage, due in ((BEFORE, early), (OVERDUE, ticket.due_at)):
        key = f"ticket:{_id(ticket)}:{stage}:{ticket.due_at:%Y%m%d%H%M}:{ticket.assignee_id}"
        if session.exec(select(Reminder.id).where(col(Reminder.dedupe_key) == key)).first():
            continue  # this stage was reminded of already (a restore, a hand-back)
        session.add(
            Reminder(
                member_id=ticket.assignee_id,
                ticket_id=_id(ticket),
                kind=ReminderKind.TICKET,
                text=f"{ticket.number}: {ticket.description}"[:500],
                due_at=due,
                exact_time=False,
                status=ReminderStatus.PENDING,
                dedupe_key=key,
                created_by_id=ticket.created_by_id,
            )
        )
    session.flush()


def is_overdue_stage(dedupe_key: str | None) -> bool:
    """Whether a ticket reminder is the one sent once the due time passed."""
    return (dedupe_key or "").startswith("ticket:") and f":{OVERDUE}:" in (dedupe_key or "")


def _drop_reminders(session: Session, ticket_id: int, now: datetime) -> None:
    """Resolved, deleted or reassigned: the unsent reminders go (freeing their keys), a sent
    one is finished. An unsent notice of who has the ticket (`storage.ticket_notices`) is
    still told: a change made just after it must not swallow it."""
    session.execute(
        delete(Reminder).where(
            col(Reminder.ticket_id) == ticket_id,
            col(Reminder.status) == ReminderStatus.PENDING,
            col(Reminder.kind) != ReminderKind.TICKET_NOTICE,
        )
    )
    unsent_notice = and_(
        col(Reminder.kind) == ReminderKind.TICKET_NOTICE,
        col(Reminder.status) == ReminderStatus.PENDING,
    )
    session.execute(
        update(Reminder)
        .where(
            col(Reminder.ticket_id) == ticket_id,
            col(Reminder.status).in_(OPEN_REMINDERS),
            not_(unsent_notice),
        )
        .values(status=ReminderStatus.DONE, done_at=now, updated_at=now)
    )


def move_ticket(
    session: Session,
    *,
    actor: Member,
    ticket_id: int,
    status: TicketStatus,
    comment: str | None = None,
) -> Ticket:
    """Move a ticket on (see `MOVES`); its own status again is no change, anything else not
    allowed is `TransitionRefused`. Resolving ends its reminders."""
    ticket = require_ticket(session, actor=actor, ticket_id=ticket_id)
    if ticket.status == status:
        return ticket
    if status not in MOVES[TicketStatus(ticket.status)]:
        raise TransitionRefused(ticket.status)
    return _move(session, actor, ticket, status, comment)


def reopen_ticket(
    session: Session,
    *,
    actor: Member,
    ticket_id: int,
    reason: str,
    sla: Mapping[str, timedelta] | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Back to open from resolved or closed, for `reason` (required), with a new due time by
    its priority's SLA and new reminders; its satisfaction is asked again on the next resolve."""
    if not reason.strip():
        raise ValueError("a reopen needs a reason")
    ticket = require_ticket(session, actor=actor, ticket_id=ticket_id)
    if ticket.status not in DONE:
        raise TransitionRefused(ticket.status)
    now = now or utcnow()
    before = snapshot(due_at=ticket.due_at)
    ticket.due_at = due_by_sla(Priority(ticket.priority), now, sla or {})
    ticket.resolved_at = None
    due = diff(before, snapshot(due_at=ticket.due_at))
    _move(session, actor, ticket, TicketStatus.OPEN, reason.strip(), also=due)
    _plan_reminders(session, ticket, sla or {})
    return ticket


def _move(
    session: Session,
    actor: Member,
    ticket: Ticket,
    status: TicketStatus,
    comment: str | None,
    also: dict[str, Any] | None = None,
) -> Ticket:
    """The status change with its history row; `also` is what else the caller changed with
    it (a reopen's new due time), audited in the same entry."""
    before = snapshot(status=ticket.status)
    now = utcnow()
    text = comment.strip() if comment and comment.strip() else None
    session.add(
        TicketStatusChange(
            ticket_id=_id(ticket),
            from_status=ticket.status,
            to_status=str(status),
            changed_by_id=actor_id(actor),
            changed_at=now,
            comment=text,
        )
    )
    ticket.status = str(status)
    if status == TicketStatus.RESOLVED:
        ticket.resolved_at = now
        _drop_reminders(session, _id(ticket), now)
    _touch(session, actor, ticket, now)
    changes = diff(before, snapshot(status=ticket.status)) | (also or {})
    _audit(session, actor, _id(ticket), "update", changes)
    return ticket


def reassign_ticket(
    session: Session,
    *,
    actor: Member,
    ticket_id: int,
    assignee_id: int,
    sla: Mapping[str, timedelta] | None = None,
) -> tuple[Ticket, int]:
    """Give the ticket to another member the actor may pick; the previous assignee's id is
    returned (to tell both). Its open reminders are remade for the new assignee."""
    ticket = require_ticket(session, actor=actor, ticket_id=ticket_id)
    customer = session.get_one(Customer, ticket.customer_id)
    _require_assignable(session, actor, customer, assignee_id)
    previous = ticket.assignee_id
    if previous == assignee_id:
        return ticket, previous
    now = utcnow()
    ticket.assignee_id = assignee_id
    _touch(session, actor, ticket, now)
    _audit(session, actor, _id(ticket), "update", {"assignee_id": [previous, assignee_id]})
    if ticket.status in OPEN:
        _drop_reminders(session, _id(ticket), now)
        _plan_reminders(session, ticket, sla or {})
    return ticket, previous


def edit_ticket(
    session: Session,
    *,
    actor: Member,
    ticket_id: int,
    priority: Priority | None = None,
    due_at: datetime | None = None,
    description: str | None = None,
    sla: Mapping[str, timedelta] | None = None,
) -> Ticket:
    """Change what the ticket asks and by when (None leaves a field as it is). A due time
    not in the future or a blank description is ValueError; a new due time or priority of an
    open ticket remakes its reminders (the early one is a quarter of the priority's SLA
    before the due time)."""
    ticket = require_ticket(session, actor=actor, ticket_id=ticket_id)
    now = utcnow()
    if due_at is not None and due_at.tzinfo is None:
        raise ValueError("a due time is timezone-aware")
    if due_at is not None and due_at != ticket.due_at and due_at <= now:
        raise ValueError("a due time is in the future")
    if description is not None and not description.strip():
        raise ValueError("a ticket needs a description")
    before = snapshot(
        priority=ticket.priority, due_at=ticket.due_at, description=ticket.description
    )
    if priority is not None:
        ticket.priority = str(priority)
    if due_at is not None:
        ticket.due_at = due_at
    if description is not None:
        ticket.description = description.strip()
    after = snapshot(
        priority=ticket.priority, due_at=ticket.due_at, description=ticket.description
    )
    changes = diff(before, after)
    if not changes:
        return ticket
    _touch(session, actor, ticket, now)
    _audit(session, actor, ticket_id, "update", changes)
    if ticket.status in OPEN and ("due_at" in changes or "priority" in changes):
        _drop_reminders(session, ticket_id, now)
        _plan_reminders(session, ticket, sla or {})
    return ticket


def add_comment(session: Session, *, actor: Member, ticket_id: int, text: str) -> TicketComment:
    if not text.strip():
        raise ValueError("a comment is not blank")
    ticket = require_ticket(session, actor=actor, ticket_id=ticket_id)
    comment = TicketComment(
        ticket_id=_id(ticket), member_id=actor_id(actor), text=text.strip(), created_at=utcnow()
    )
    session.add(comment)
    _touch(session, actor, ticket, comment.created_at)
    _audit(session, actor, _id(ticket), "comment", {"comment": [None, comment.text]})
    return comment


def add_files(
    session: Session,
    *,
    actor: Member,
    ticket_id: int,
    files: Sequence[AttachmentRef],
    limit: int = MAX_FILES,
) -> int:
    """Photos or files added to a ticket later; how many it has now. More than `limit` in
    all (as at entry, `[tickets] max_files`) is TooManyFiles, and nothing is added."""
    ticket = require_ticket(session, actor=actor, ticket_id=ticket_id)
    held = count_files(session, ticket_id)
    if held + len(files) > min(limit, MAX_FILES):
        raise TooManyFiles(held)
    now = utcnow()
    for ref in files:
        _attach(session, actor, ticket, ref, now)
    session.flush()
    if files:
        _touch(session, actor, ticket, now)
        _audit(session, actor, _id(ticket), "update", {"files": [held, held + len(files)]})
    return held + len(files)


class TooManyFiles(ValueError):
    """A ticket would hold more files than allowed; `held` is how many it has."""

    def __init__(self, held: int) -> None:
        super().__init__(f"the ticket has {held} files")
        self.held = held


def count_files(session: Session, ticket_id: int) -> int:
    return session.exec(
        select(func.count()).select_from(Attachment).where(col(Attachment.ticket_id) == ticket_id)
    ).one()


def record_satisfaction(
    session: Session,
    *,
    actor: Member,
    ticket_id: int,
    score: int | None,
    comment: str | None = None,
    rule: FallingRule | None = None,
) -> Ticket:
    """The customer's rating of a resolved or closed ticket, 1-5, or None: not asked; kept
    with the customer's other scores too (`storage.satisfaction`: a falling one is flagged)."""
    if score is not None and not 1 <= score <= 5:
        raise ValueError("a score is 1 to 5")
    ticket = require_ticket(session, actor=actor, ticket_id=ticket_id)
    if ticket.status not in DONE:
        raise TransitionRefused(ticket.status)
    before = snapshot(score=ticket.satisfaction_score, comment=ticket.satisfaction_comment)
    ticket.satisfaction_asked = score is not None
    ticket.satisfaction_score = score
    ticket.satisfaction_comment = comment.strip() if comment and comment.strip() else None
    _touch(session, actor, ticket, utcnow())
    keep_score(
        session,
        actor=actor,
        customer_id=ticket.customer_id,
        source_kind=TICKET,
        source_id=_id(ticket),
        score=score,
        comment=ticket.satisfaction_comment,
        rule=rule,
    )
    after = snapshot(score=ticket.satisfaction_score, comment=ticket.satisfaction_comment)
    _audit(session, actor, _id(ticket), "update", diff(before, after))
    return ticket


def archive_ticket(session: Session, *, actor: Member, ticket_id: int) -> Ticket:
    """Soft delete; its reminders end. An admin can restore it."""
    ticket = require_ticket(session, actor=actor, ticket_id=ticket_id)
    now = utcnow()
    _set_deleted(session, actor, ticket, now, action="delete")
    _drop_reminders(session, ticket_id, now)
    return ticket


def restore_ticket(
    session: Session, *, actor: Member, ticket_id: int, sla: Mapping[str, timedelta] | None = None
) -> Ticket:
    """Admins only, as for deals; an open ticket is reminded of again."""
    if actor.role != Role.ADMIN:
        raise NotFound
    ticket = require_ticket(session, actor=actor, ticket_id=ticket_id, deleted=True)
    _set_deleted(session, actor, ticket, None, action="restore")
    if ticket.status in OPEN:
        _plan_reminders(session, ticket, sla or {})
    return ticket


def list_deleted_tickets(session: Session, *, actor: Member, limit: int = 20) -> list[Ticket]:
    """Deleted tickets of live customers, latest first; only admins restore, so only they
    list (`NotFound` for anyone else)."""
    if actor.role != Role.ADMIN:
        raise NotFound
    return list(
        session.exec(
            select(Ticket)
            .join(Customer, col(Customer.id) == col(Ticket.customer_id))
            .where(col(Ticket.deleted_at).is_not(None), col(Customer.deleted_at).is_(None))
            .order_by(col(Ticket.deleted_at).desc(), col(Ticket.id).desc())
            .limit(limit)
        )
    )


def _set_deleted(
    session: Session, actor: Member, ticket: Ticket, at: datetime | None, *, action: str
) -> None:
    change = snapshot(old=ticket.deleted_at, new=at)
    ticket.deleted_at = at
    _touch(session, actor, ticket, utcnow())
    _audit(session, actor, _id(ticket), action, {"deleted_at": [change["old"], change["new"]]})


def _touch(session: Session, actor: Member, ticket: Ticket, now: datetime) -> None:
    ticket.updated_by_id, ticket.updated_at = actor_id(actor), now
    session.add(ticket)
    session.flush()


def _audit(
    session: Session, actor: Member, ticket_id: int, action: str, changes: dict[str, Any]
) -> None:
    record_audit(
        session,
        actor_id=actor_id(actor),
        action=action,
        entity_type=ENTITY,
        entity_id=ticket_id,
        changes=changes,
    )


def _id(ticket: Ticket) -> int:
    assert ticket.id is not None
    return ticket.id
