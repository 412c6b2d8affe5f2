"""Reminders a member sets for themselves, the member's own view of them, and delivery.

The database is the source of truth for reminders (docs/stack-facts.md: the JobQueue loses jobs on
restart and skips misfires), so a follow-up is just a pending row with a due time; the
scheduler claims and sends due rows. Reminders are personal: even a manager cannot see,
finish or snooze a teammate's, so they are loaded by `member_id`, not through `owner_scope`.

Delivery, exactly once across restarts and instances:

    pending --claim_due (lease)--> pending + claimed_by --mark_sent--> sent --mark_done--> done
                                                   |--mark_retry--> pending, next_attempt_at
                                                   |--mark_undeliverable--> pending, member
                                                   |       unreachable (not claimed until they
                                                   |       write again; then delivered late)
                                                   |--mark_failed--> failed (Telegram refused it)
                                                   `--release / lease expiry--> pending

A claim is a lease: a worker that dies mid-batch leaves rows that another worker claims once
`claimed_until` passes. Every `mark_*` only acts while the row is still claimed by the same
worker, so a Done or Snooze pressed meanwhile wins over the delivery bookkeeping.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from sqlalchemy import bindparam, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.access import (
    NotAllowed,
    NotFound,
    actor_id,
    require_customer,
    visible_contracts,
    visible_customers,
)
from storage.audit import diff, record_audit, snapshot
from storage.members import set_reachable
from storage.models import Contract, Customer, Interaction, Member, Reminder, utcnow
from storage.paging import Cursor, Key, KeysetPage, keyset_page, micros
from storage.prepared import PreparedSelect
from storage.webhooks import emit

T = TypeVar("T")


class ReminderKind(StrEnum):
    FOLLOW_UP = "follow_up"
    BIRTHDAY = "birthday"
    STAY_IN_TOUCH = "stay_in_touch"
    DIGEST = "digest"
    RENEWAL = "renewal"  # a contract's renewal is due (`storage.contract_reminders`)
    DELIVERY = "delivery"  # an order's promised delivery day, while not delivered
    WEBHOOK_OFF = "webhook_off"  # an admin told an endpoint was disabled (its URL as text)
    TICKET = "ticket"  # a ticket's due time is near or passed (`storage.tickets`)
    SATISFACTION = "satisfaction"  # a customer's score fell: the owner's manager (or admins) told
    TICKET_NOTICE = "ticket_notice"  # a ticket given to someone (`storage.ticket_notices`)


class NoticeKind(StrEnum):
    """What a ticket notice says: given to its reader, taken from them, or urgent and new."""

    ASSIGNED = "assigned"
    UNASSIGNED = "unassigned"
    URGENT = "urgent"


@dataclass(frozen=True)
class TicketNotice:
    """A ticket notice's message: the ticket's number, who gave it, and to whom (its
    assignee then)."""

    what: NoticeKind
    number: str
    member: str
    to: str


def notice_key(*, ticket_id: int, what: str, member_id: int, to_id: int, at: datetime) -> str:
    """A ticket notice's dedupe key, which also carries what its message needs but names."""
    return f"ticket-notice:{ticket_id}:{what}:{member_id}:{to_id}:{micros(at)}"


class ReminderStatus(StrEnum):
    """`sent` stays on the member's list until Done; `failed` is a message Telegram refused."""

    PENDING = "pending"
    SENT = "sent"
    DONE = "done"
    FAILED = "failed"


OPEN_STATUSES = (ReminderStatus.PENDING, ReminderStatus.SENT)


@dataclass(frozen=True)
class ReminderView:
    """A reminder with what its message shows: where to send it, the customer, the last note."""

    reminder: Reminder
    chat_id: int
    language: str | None
    timezone: str | None
    customer_name: str | None
    last_note: str | None
    # A renewal reminder's contract and its customer, while its member may see them.
    contract: tuple[Contract, Customer] | None = None
    # The contract owner's name when the member is not the owner (their manager is reminded
    # too, and must know whom to ask).
    contract_owner: str | None = None
    notice: TicketNotice | None = None

    @property
    def id(self) -> int:
        assert self.reminder.id is not None
        return self.reminder.id


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
    back. An open follow-up of the actor's with the same customer, time and text is returned
    as well: the note flow and /log, or one entry typed twice, would otherwise ring twice.
    The checks and the insert share one transaction (BEGIN IMMEDIATE on SQLite, so no one
    can slip in between); on PostgreSQL a concurrent insert can still win, which the unique
    constraint catches inside a savepoint so the caller's transaction survives.
    """
    _require_aware(due_at)
    if customer_id is not None:
        require_customer(session, actor=actor, customer_id=customer_id)
    if dedupe_key is not None and (existing := _by_dedupe_key(session, actor, dedupe_key)):
        return existing
    if existing := _same_open_follow_up(
        session, actor=actor, due_at=due_at, text=text, customer_id=customer_id
    ):
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


def list_pending_reminders(
    session: Session, *, actor: Member, limit: int | None = 50, offset: int = 0
) -> list[Reminder]:
    """The actor's own open reminders (pending, or sent and not yet Done), soonest first."""
    return list(
        session.exec(
            select(Reminder)
            .where(
                col(Reminder.member_id) == actor.id,
                col(Reminder.status).in_(OPEN_STATUSES),
            )
            .order_by(col(Reminder.due_at), col(Reminder.id))
            .offset(offset)
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


def get_reminder(session: Session, *, actor: Member, reminder_id: int) -> Reminder:
    """One of the actor's own reminders; anyone else's is `NotFound`, as if it did not exist."""
    return _require_own(session, actor=actor, reminder_id=reminder_id)


def get_reminder_view(session: Session, *, actor: Member, reminder_id: int) -> ReminderView:
    """One of the actor's reminders as its message shows it; NotFound if not theirs."""
    return describe(session, [get_reminder(session, actor=actor, reminder_id=reminder_id)])[0]


def reminder_key(reminder: Reminder) -> Key:
    """The order of `/reminders`: soonest first, then oldest id (`list_pending_reminders`)."""
    assert reminder.id is not None
    return (micros(reminder.due_at), reminder.id)


def page_reminder_views(
    session: Session, *, actor: Member, cursor: Cursor | None = None, size: int = 10
) -> KeysetPage[ReminderView]:
    """A page of the actor's open reminders as their messages show them (for `/reminders`),
    found by the key of a reminder shown before (`storage.paging`)."""
    everything = list_pending_reminders(session, actor=actor, limit=None)
    page = keyset_page(everything, key=reminder_key, cursor=cursor, size=size)
    return KeysetPage(describe(session, page.items), page.keys, page.start, page.total)


def claim_due(
    session: Session, *, now: datetime, worker: str, limit: int, lease: timedelta
) -> list[Reminder]:
    """Claim up to `limit` due reminders for `worker` until `now + lease`, oldest first.

    Due: pending, `due_at` and any retry time reached, unclaimed or its lease expired, for an
    active member who has not blocked the bot. PostgreSQL: `FOR UPDATE SKIP LOCKED`, so
    concurrent workers take disjoint rows without waiting (plain FOR UPDATE deadlocked, no
    locking sent 3.5% twice: docs/stack-facts.md). SQLite ignores the clause; the BEGIN
    IMMEDIATE write transaction `Database.run` opens serialises claimers instead.
    """
    rows = list(
        session.exec(
            select(Reminder)
            .join(Member, col(Member.id) == col(Reminder.member_id))
            .where(
                col(Reminder.status) == ReminderStatus.PENDING,
                col(Reminder.due_at) <= now,
                or_(col(Reminder.next_attempt_at).is_(None), col(Reminder.next_attempt_at) <= now),
                or_(col(Reminder.claimed_until).is_(None), col(Reminder.claimed_until) <= now),
                col(Member.active).is_(True),
                col(Member.unreachable_at).is_(None),
            )
            .order_by(col(Reminder.due_at), col(Reminder.id))
            .limit(limit)
            .with_for_update(skip_locked=True, of=Reminder)
        )
    )
    for reminder in rows:
        reminder.claimed_by, reminder.claimed_until = worker, now + lease
    session.flush()
    return rows


_ANY_DUE = PreparedSelect(  # `claim_due`'s conditions on the reminder alone
    select(Reminder.id)
    .where(
        col(Reminder.status) == ReminderStatus.PENDING,
        col(Reminder.due_at) <= bindparam("now"),
        or_(
            col(Reminder.next_attempt_at).is_(None),
            col(Reminder.next_attempt_at) <= bindparam("now"),
        ),
        or_(
            col(Reminder.claimed_until).is_(None), col(Reminder.claimed_until) <= bindparam("now")
        ),
    )
    .limit(1)
)


def any_due(session: Session, *, now: datetime) -> bool:
    """Whether `claim_due` may find a reminder at `now` (never "no" when it would): most
    delivery passes find none, and this read stops them without the write lock."""
    return bool(_ANY_DUE.rows(session, {"now": now}))


def claim_deliveries(
    session: Session, *, now: datetime, worker: str, limit: int, lease: timedelta
) -> list[ReminderView]:
    """`claim_due` plus what each message needs, in the same short transaction."""
    return describe(session, claim_due(session, now=now, worker=worker, limit=limit, lease=lease))


def describe(session: Session, reminders: Sequence[Reminder]) -> list[ReminderView]:
    """Attach chat, language, timezone, customer name and last note to each reminder.

    The customer goes through the access rule for the reminder's member now, when the text is
    built, not only when the reminder was made: a customer deleted, reassigned or merged into
    someone else's since is left out of the message (the member's own text stays).
    """
    members = _members_of(session, reminders)
    customers = reminder_customers(session, reminders, members=members)
    contracts = reminder_contracts(session, reminders, members=members)
    notes = {c.id: _last_note(session, c.id) for c in customers.values()}
    owners = _names(session, {c.owner_id for c, _ in contracts.values()})
    notices = _ticket_notices(session, reminders)
    views = []
    for reminder in reminders:
        member = members[reminder.member_id]
        customer = customers.get(reminder.id or 0)
        pair = contracts.get(reminder.id or 0)
        owner_id = pair[0].owner_id if pair else reminder.member_id
        views.append(
            ReminderView(
                reminder=reminder,
                chat_id=member.telegram_id,
                language=member.language,
                timezone=member.timezone,
                customer_name=customer.name if customer else None,
                last_note=notes.get(customer.id) if customer else None,
                contract=pair,
                contract_owner=owners.get(owner_id) if owner_id != reminder.member_id else None,
                notice=notices.get(reminder.id or 0),
            )
        )
    return views


def reminder_customers(
    session: Session,
    reminders: Sequence[Reminder],
    *,
    members: dict[int, Member] | None = None,
) -> dict[int, Customer]:
    """By reminder id, the customer of each reminder that its member may see now (one query
    per member: the access rule is applied as that member)."""
    members = _members_of(session, reminders) if members is None else members
    return _seen_by_members(
        reminders,
        members,
        lambda r: r.customer_id,
        lambda actor, ids: visible_customers(session, actor=actor, customer_ids=ids),
    )


def reminder_contracts(
    session: Session, reminders: Sequence[Reminder], *, members: dict[int, Member]
) -> dict[int, tuple[Contract, Customer]]:
    """By reminder id, the contract (and customer) of each reminder that its member may see
    now, by the contracts' access rule applied as that member: a contract reassigned, merged
    away or deleted since the reminder was made is left out of its text."""
    return _seen_by_members(
        reminders,
        members,
        lambda r: r.contract_id,
        lambda actor, ids: visible_contracts(session, actor=actor, contract_ids=ids),
    )


def _seen_by_members(
    reminders: Sequence[Reminder],
    members: dict[int, Member],
    record_id: Callable[[Reminder], int | None],
    visible: Callable[[Member, list[int | None]], dict[int, T]],
) -> dict[int, T]:
    """By reminder id, the record `record_id` names, if the reminder's member may see it now:
    one `visible` query per member."""
    by_member: dict[int, list[Reminder]] = {}
    for reminder in reminders:
        if record_id(reminder) is not None:
            by_member.setdefault(reminder.member_id, []).append(reminder)
    found: dict[int, T] = {}
    for member_id, own in by_member.items():
        seen = visible(members[member_id], [record_id(r) for r in own])
        for reminder in own:
            if (record := seen.get(record_id(reminder) or 0)) is not None:
                found[reminder.id or 0] = record
    return found


def _members_of(session: Session, reminders: Sequence[Reminder]) -> dict[int, Member]:
    ids = {r.member_id for r in reminders}
    if not ids:
        return {}
    return {m.id or 0: m for m in session.exec(select(Member).where(col(Member.id).in_(ids)))}


def _ticket_notices(session: Session, reminders: Sequence[Reminder]) -> dict[int, TicketNotice]:
    """By reminder id, what each ticket notice says (names as they are now)."""
    parts = {
        r.id or 0: (r, (r.dedupe_key or "").split(":"))
        for r in reminders
        if r.kind == ReminderKind.TICKET_NOTICE
    }
    ids = {r.created_by_id or 0 for r, _ in parts.values()} | {
        int(p[4]) for _, p in parts.values()
    }
    names = _names(session, ids)
    return {
        rid: TicketNotice(
            what=NoticeKind(p[2]),
            number=r.text or "",
            member=names.get(r.created_by_id or 0, ""),
            to=names.get(int(p[4]), ""),
        )
        for rid, (r, p) in parts.items()
    }


def _names(session: Session, member_ids: set[int]) -> dict[int, str]:
    if not member_ids:
        return {}
    rows = session.exec(select(Member).where(col(Member.id).in_(member_ids)))
    return {m.id or 0: m.display_name for m in rows}


def _last_note(session: Session, customer_id: int | None) -> str | None:
    return session.exec(
        select(Interaction.summary)
        .where(
            col(Interaction.customer_id) == customer_id,
            col(Interaction.deleted_at).is_(None),
            col(Interaction.summary).is_not(None),
        )
        .order_by(col(Interaction.happened_at).desc(), col(Interaction.id).desc())
        .limit(1)
    ).first()


def mark_sent(session: Session, *, reminder_id: int, worker: str, at: datetime) -> bool:
    """Telegram accepted the message: `sent`, claim cleared, and the `reminder.due` webhook
    event written with it (a digest is no reminder of the member's, nor a ticket notice, which
    the chat sends without one). False if no longer our claim."""
    sent = _if_claimed(
        session,
        reminder_id,
        worker,
        status=ReminderStatus.SENT,
        sent_at=at,
        attempts=Reminder.attempts + 1,
        next_attempt_at=None,
    )
    reminder = session.get(Reminder, reminder_id) if sent else None
    if reminder is not None and reminder.kind not in (
        ReminderKind.DIGEST,
        ReminderKind.TICKET_NOTICE,
    ):
        session.refresh(reminder)
        emit(session, event_type="reminder.due", record=reminder)
    return sent


def mark_retry(
    session: Session, *, reminder_id: int, worker: str, attempts: int, next_attempt_at: datetime
) -> bool:
    """A failed try (network, 5xx, repeated 429): kept pending, tried again from the given
    time by whichever worker claims it then, so the schedule survives a crash."""
    return _if_claimed(
        session, reminder_id, worker, attempts=attempts, next_attempt_at=next_attempt_at
    )


def mark_undeliverable(session: Session, *, reminder_id: int, worker: str) -> bool:
    """The member blocked the bot: the reminder stays pending (not lost) and the member becomes
    unreachable, so nothing of theirs is claimed until they write again (the gate marks them
    reachable) and it is then delivered, marked late."""
    reminder = session.get(Reminder, reminder_id)
    if reminder is None or reminder.claimed_by != worker:
        return False
    set_reachable(session, member_id=reminder.member_id, reachable=False)
    return _if_claimed(session, reminder_id, worker)


def mark_failed(session: Session, *, reminder_id: int, worker: str, attempts: int) -> bool:
    """Telegram refused the message itself (400) or every retry failed: stop trying."""
    return _if_claimed(
        session, reminder_id, worker, status=ReminderStatus.FAILED, attempts=attempts
    )


def release(session: Session, *, reminder_ids: Sequence[int], worker: str) -> int:
    """Give claimed rows back unsent (shutting down, lease running out): due again at once."""
    result = session.execute(
        update(Reminder)
        .where(col(Reminder.id).in_(reminder_ids), col(Reminder.claimed_by) == worker)
        .values(claimed_by=None, claimed_until=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _if_claimed(session: Session, reminder_id: int, worker: str, **values: object) -> bool:
    """Apply `values` and drop the claim, only while `worker` still holds it (one UPDATE)."""
    result = session.execute(
        update(Reminder)
        .where(
            col(Reminder.id) == reminder_id,
            col(Reminder.claimed_by) == worker,
            col(Reminder.status) == ReminderStatus.PENDING,
        )
        .values(claimed_by=None, claimed_until=None, updated_at=utcnow(), **values)
    )
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


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


def _same_open_follow_up(
    session: Session, *, actor: Member, due_at: datetime, text: str | None, customer_id: int | None
) -> Reminder | None:
    """The actor's open follow-up identical to the one asked for (customer, time, text)."""
    return session.exec(
        select(Reminder)
        .where(
            col(Reminder.member_id) == actor_id(actor),
            col(Reminder.kind) == ReminderKind.FOLLOW_UP,
            col(Reminder.status).in_(OPEN_STATUSES),
            col(Reminder.due_at) == due_at,
            col(Reminder.customer_id).is_(None)
            if customer_id is None
            else col(Reminder.customer_id) == customer_id,
            col(Reminder.text).is_(None) if text is None else col(Reminder.text) == text,
        )
        .order_by(col(Reminder.id))
    ).first()


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None:
        raise ValueError("reminder times must be timezone-aware")
