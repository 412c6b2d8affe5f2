"""Who hears of a ticket given to someone, decided once for the chat and the API.

The assignee hears of a ticket given to them (not by themselves); on a reassign the previous
assignee hears where it went; a new urgent ticket also tells its owner's manager (without an
active one, the admins: `storage.members.overseers`). Inactive members hear nothing, and
nobody hears twice.

The chat tells them at once, after its transaction (`handlers.ticket_card.notify_assignment`).
The API process has no bot: `queue_assignment_notices` writes each notice as a due reminder in
the change's own transaction, and `crm-bot run` delivers it once (claimed, restart-safe:
`bot.scheduler`), as an endpoint's disabled notice is (`storage.webhook_deliveries`). A
change that is rolled back tells no one; a replayed idempotent create does not run again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from storage.access import actor_id, require_ticket
from storage.members import overseers
from storage.models import Member, Reminder, Ticket, utcnow
from storage.reminders import NoticeKind, ReminderKind, notice_key
from storage.tickets import Priority


@dataclass(frozen=True)
class Notice:
    """One member told `what` happened to `ticket`; `to` is its assignee now."""

    member: Member
    what: NoticeKind
    ticket: Ticket
    to: Member


def assignment_notices(
    session: Session, *, actor: Member, ticket_id: int, previous_id: int | None
) -> list[Notice]:
    """For a ticket the actor may see, just created (`previous_id` None) or reassigned from
    `previous_id`: who is told what."""
    ticket = require_ticket(session, actor=actor, ticket_id=ticket_id)
    return _notices(session, actor, ticket, previous_id)


def queue_assignment_notices(
    session: Session,
    *,
    actor: Member,
    ticket: Ticket,
    previous_id: int | None,
    at: datetime | None = None,
) -> list[Reminder]:
    """The notices of a change the caller has just made to `ticket` (already in scope), as
    reminders due `at`, in the caller's transaction."""
    at = at or utcnow()
    assert ticket.id is not None
    rows = [
        Reminder(
            member_id=_id(notice.member),
            ticket_id=ticket.id,
            kind=ReminderKind.TICKET_NOTICE,
            text=ticket.number,
            due_at=at,
            dedupe_key=notice_key(
                ticket_id=ticket.id,
                what=notice.what,
                member_id=_id(notice.member),
                to_id=_id(notice.to),
                at=at,
            ),
            created_by_id=actor_id(actor),
            created_at=at,
            updated_at=at,
        )
        for notice in _notices(session, actor, ticket, previous_id)
    ]
    session.add_all(rows)
    session.flush()
    return rows


def _notices(
    session: Session, actor: Member, ticket: Ticket, previous_id: int | None
) -> list[Notice]:
    def active(member_id: int | None) -> Member | None:
        member = session.get(Member, member_id) if member_id is not None else None
        return member if member is not None and member.active else None

    assignee = session.get_one(Member, ticket.assignee_id)
    told = {actor.id}
    found: list[Notice] = []

    def tell(member: Member | None, what: NoticeKind) -> None:
        if member is not None and member.id not in told:
            told.add(member.id)
            found.append(Notice(member, what, ticket, assignee))

    tell(active(assignee.id), NoticeKind.ASSIGNED)
    if previous_id is not None:
        tell(active(previous_id), NoticeKind.UNASSIGNED)
    elif ticket.priority == Priority.URGENT:
        for overseer in overseers(session, session.get_one(Member, ticket.owner_id)):
            tell(overseer, NoticeKind.URGENT)
    return found


def _id(member: Member) -> int:
    assert member.id is not None
    return member.id
