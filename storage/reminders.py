"""Reminders a member sets for themselves, and the member's own view of them.

The database is the source of truth for reminders (PITFALLS: the JobQueue loses jobs on
restart and skips misfires), so a follow-up is just a pending row with a due time; the
scheduler claims and sends due rows. Reminders are personal: even a manager cannot see,
finish or snooze a teammate's, so they are loaded by `member_id`, not through `owner_scope`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.access import NotAllowed, NotFound, actor_id, require_customer
from storage.audit import diff, record_audit, snapshot
from storage.models import Member, Reminder, utcnow


class ReminderKind(StrEnum):
    FOLLOW_UP = "follow_up"
    BIRTHDAY = "birthday"
    STAY_IN_TOUCH = "stay_in_touch"
    DIGEST = "digest"


class ReminderStatus(StrEnum):
    """The states this module sets; the scheduler adds its own while delivering."""

    PENDING = "pending"
    DONE = "done"


def create_follow_up(
    session: Session,
    *,
    actor: Member,
    due_at: datetime,
    text: str | None,
    customer_id: int | None,
    exact_time: bool,
    dedupe_key: str | None = None,
) -> Reminder:
    """Schedule a follow-up for the actor; with a `dedupe_key`, at most one ever exists.

    A re-delivered update or a double tap passes the same key and gets the first reminder
    back. The check and the insert share one transaction (BEGIN IMMEDIATE on SQLite, so no
    one can slip in between); on PostgreSQL a concurrent insert can still win, which the
    unique constraint catches inside a savepoint so the caller's transaction survives.
    """
    _require_aware(due_at)
    if customer_id is not None:
        require_customer(session, actor=actor, customer_id=customer_id)
    if dedupe_key is not None and (existing := _by_dedupe_key(session, actor, dedupe_key)):
        return existing
    reminder = Reminder(
        member_id=actor_id(actor),
        customer_id=customer_id,
        kind=ReminderKind.FOLLOW_UP,
        text=text,
        due_at=due_at,
        exact_time=exact_time,
        status=ReminderStatus.PENDING,
        dedupe_key=dedupe_key,
        created_by_id=actor.id,
    )
    try:
        with session.begin_nested():
            session.add(reminder)
            session.flush()
    except IntegrityError:
        if dedupe_key is None or (existing := _by_dedupe_key(session, actor, dedupe_key)) is None:
            raise
        return existing
    assert reminder.id is not None
    after = snapshot(
        kind=reminder.kind,
        customer_id=customer_id,
        due_at=due_at,
        exact_time=exact_time,
        text=text,
        dedupe_key=dedupe_key,
    )
    record_audit(
        session,
        actor_id=actor.id,
        action="create",
        entity_type="reminder",
        entity_id=reminder.id,
        changes=diff({}, after),
    )
    return reminder


def list_pending_reminders(session: Session, *, actor: Member, limit: int = 50) -> list[Reminder]:
    """The actor's own pending reminders, soonest first."""
    return list(
        session.exec(
            select(Reminder)
            .where(
                col(Reminder.member_id) == actor.id,
                col(Reminder.status) == ReminderStatus.PENDING,
            )
            .order_by(col(Reminder.due_at), col(Reminder.id))
            .limit(limit)
        )
    )


def mark_done(session: Session, *, actor: Member, reminder_id: int) -> Reminder:
    """Finish one of the actor's reminders; finishing it again changes nothing."""
    reminder = _require_own(session, actor=actor, reminder_id=reminder_id)
    if reminder.status == ReminderStatus.DONE:
        return reminder
    now = utcnow()
    _update(
        session,
        actor,
        reminder,
        status=ReminderStatus.DONE,
        done_at=now,
        claimed_by=None,
        claimed_until=None,
    )
    return reminder


def snooze(session: Session, *, actor: Member, reminder_id: int, until: datetime) -> Reminder:
    """Move one of the actor's reminders to `until` and make it pending again.

    Delivery bookkeeping (attempts, claim, retry time) is reset so the scheduler treats it as
    a fresh reminder, even one that was already sent or finished.
    """
    _require_aware(until)
    reminder = _require_own(session, actor=actor, reminder_id=reminder_id)
    _update(
        session,
        actor,
        reminder,
        status=ReminderStatus.PENDING,
        due_at=until,
        done_at=None,
        attempts=0,
        next_attempt_at=None,
        claimed_by=None,
        claimed_until=None,
    )
    return reminder


def _update(session: Session, actor: Member, reminder: Reminder, **values: object) -> None:
    """Apply `values` and audit what actually changed (status and times, old and new)."""
    before = snapshot(**{key: getattr(reminder, key) for key in values})
    for key, value in values.items():
        setattr(reminder, key, value)
    reminder.updated_at = utcnow()
    assert reminder.id is not None
    record_audit(
        session,
        actor_id=actor.id,
        action="update",
        entity_type="reminder",
        entity_id=reminder.id,
        changes=diff(before, snapshot(**values)),
    )


def _require_own(session: Session, *, actor: Member, reminder_id: int) -> Reminder:
    reminder = session.exec(
        select(Reminder).where(
            col(Reminder.id) == reminder_id, col(Reminder.member_id) == actor.id
        )
    ).first()
    if reminder is None:
        raise NotFound
    return reminder


def _by_dedupe_key(session: Session, actor: Member, dedupe_key: str) -> Reminder | None:
    """The reminder already made under this key; another member's key is the caller's bug."""
    reminder = session.exec(select(Reminder).where(col(Reminder.dedupe_key) == dedupe_key)).first()
    if reminder is not None and reminder.member_id != actor.id:
        raise NotAllowed
    return reminder


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None:
        raise ValueError("reminder times must be timezone-aware")
