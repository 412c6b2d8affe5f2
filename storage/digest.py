"""The numbers of a manager's digest, as plain data, and the sent-once log every
notification goes through.

`team_digest` computes everything one message shows in one read transaction, from the
records themselves (no counters kept elsewhere that could drift): for each salesperson the
customers, deals and notes created in the period, the deals won and lost in it (count and
sum per currency), and, as of the period's end, overdue follow-ups, customers not contacted
for `stale_days`, open deals past their expected close date, open tickets overdue or urgent
(their numbers), and whether they blocked the bot.

The log (`NotificationLog`) makes "exactly once" hold across restarts and instances: a
message is claimed by inserting its unique key before it is sent (see `claim_notification`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as core_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

import storage.notification_models  # noqa: F401  (registers the tables on the metadata)
from storage.contract_figures import expiring_by_owner
from storage.deals import CLOSED_STAGES, LOST, WON
from storage.interactions import IMPORTED_KIND
from storage.models import Customer, Deal, Interaction, Member, Order, Reminder, Role
from storage.notification_models import NotificationLog
from storage.orders import UNDELIVERED
from storage.parsing import Money
from storage.reminders import OPEN_STATUSES, ReminderKind
from storage.ticket_views import tickets_to_chase

DAILY = "digest.daily"
WEEKLY = "digest.weekly"
SENT = "sent"


@dataclass
class SalesDigest:
    """One salesperson's lines in a digest; amounts are summed per currency, never converted."""

    member_id: int
    name: str
    unreachable: bool = False
    new_customers: int = 0
    new_deals: int = 0
    new_notes: int = 0
    won: int = 0
    won_amounts: list[Money] = field(default_factory=list)
    lost: int = 0
    lost_amounts: list[Money] = field(default_factory=list)
    overdue_follow_ups: int = 0
    stale_customers: int = 0
    overdue_deals: int = 0
    expiring_contracts: int = 0
    overdue_deliveries: int = 0  # orders not delivered after their promised delivery date
    overdue_tickets: list[str] = field(default_factory=list)  # open tickets' numbers
    urgent_tickets: list[str] = field(default_factory=list)  # open, urgent, not yet overdue


@dataclass(frozen=True)
class TeamDigest:
    since: datetime
    until: datetime
    members: list[SalesDigest]

    @property
    def unreachable(self) -> list[str]:
        """Members who blocked the bot: they get no reminders until they write again."""
        return [m.name for m in self.members if m.unreachable]


def list_digest_recipients(session: Session) -> list[Member]:
    """Active managers and admins who have not blocked the bot."""
    return list(
        session.exec(
            select(Member)
            .where(
                col(Member.role).in_((Role.MANAGER, Role.ADMIN)),
                col(Member.active).is_(True),
                col(Member.unreachable_at).is_(None),
            )
            .order_by(col(Member.id))
        )
    )


def digest_team(session: Session, *, recipient: Member) -> list[Member]:
    """Whom a digest reports on: a manager's salespeople; for an admin, every active member
    who is not an admin."""
    query = select(Member).where(col(Member.active).is_(True), col(Member.id) != recipient.id)
    if recipient.role == Role.ADMIN:
        query = query.where(col(Member.role) != Role.ADMIN)
    else:
        query = query.where(col(Member.manager_id) == recipient.id)
    return list(session.exec(query.order_by(col(Member.display_name), col(Member.id))))


def team_digest(
    session: Session,
    *,
    recipient: Member,
    since: datetime,
    until: datetime,
    today: date,
    stale_days: int,
) -> TeamDigest:
    """The digest for `recipient` over [since, until); `today` is the recipient's local date
    at `until` (a deal is late once its expected close date is before it)."""
    team = digest_team(session, recipient=recipient)
    lines = {
        m.id: SalesDigest(m.id, m.display_name, unreachable=m.unreachable_at is not None)
        for m in team
        if m.id is not None
    }
    ids = list(lines)
    if not ids:
        return TeamDigest(since, until, [])

    def period(column: Any) -> tuple[Any, ...]:
        return (col(column) >= since, col(column) < until)

    live_customer = col(Customer.deleted_at).is_(None)
    for member_id, n in _counts(
        session, Customer.owner_id, ids, live_customer, *period(Customer.created_at)
    ):
        lines[member_id].new_customers = n
    deal_base = (col(Deal.deleted_at).is_(None), live_customer)
    for member_id, n in _counts(session, Deal.owner_id, ids, *deal_base, *period(Deal.created_at)):
        lines[member_id].new_deals = n
    note_period = period(Interaction.created_at)
    for member_id, n in _counts(
        session,
        Interaction.owner_id,
        ids,
        col(Interaction.deleted_at).is_(None),
        col(Interaction.kind) != IMPORTED_KIND,
        *note_period,
    ):
        lines[member_id].new_notes = n
    _closed_deals(session, lines, ids, deal_base, period(Deal.closed_at))
    for member_id, n in _counts(
        session,
        Reminder.member_id,
        ids,
        col(Reminder.kind) == ReminderKind.FOLLOW_UP,
        col(Reminder.status).in_(OPEN_STATUSES),
        col(Reminder.due_at) < until,
    ):
        lines[member_id].overdue_follow_ups = n
    stale_before = until - timedelta(days=stale_days)
    last_touch = func.coalesce(Customer.last_contact_at, Customer.created_at)
    for member_id, n in _counts(
        session, Customer.owner_id, ids, live_customer, last_touch < (stale_before)
    ):
        lines[member_id].stale_customers = n
    for member_id, n in _counts(
        session,
        Deal.owner_id,
        ids,
        *deal_base,
        col(Deal.stage).not_in(CLOSED_STAGES),
        col(Deal.expected_close_date) < today,
    ):
        lines[member_id].overdue_deals = n
    for member_id, n in expiring_by_owner(session, owner_ids=ids).items():
        lines[member_id].expiring_contracts = n
    for member_id, n in _counts(
        session,
        Order.owner_id,
        ids,
        col(Order.deleted_at).is_(None),
        live_customer,
        col(Order.status).in_(UNDELIVERED),
        col(Order.delivery_due_on) < today,
    ):
        lines[member_id].overdue_deliveries = n
    for member_id, chase in tickets_to_chase(session, owner_ids=ids, now=until).items():
        lines[member_id].overdue_tickets = chase.overdue
        lines[member_id].urgent_tickets = chase.urgent
    return TeamDigest(since, until, list(lines.values()))


def _counts(
    session: Session, owner: Any, ids: list[int], *conditions: Any
) -> Iterable[tuple[int, int]]:
    """(owner id, row count) for the team's rows matching `conditions`; Deal/Customer rows
    join their customer so a deleted customer's deals are not counted."""
    query = core_select(col(owner), func.count()).where(col(owner).in_(ids), *conditions)
    if owner is Deal.owner_id:
        query = query.join(Customer, col(Customer.id) == col(Deal.customer_id))
    elif owner is Order.owner_id:
        query = query.join(Customer, col(Customer.id) == col(Order.customer_id))
    return [(int(row[0]), int(row[1])) for row in session.execute(query.group_by(col(owner)))]


def _closed_deals(
    session: Session,
    lines: dict[int, SalesDigest],
    ids: list[int],
    deal_base: tuple[Any, ...],
    closed_period: tuple[Any, ...],
) -> None:
    """Won and lost counts and their sums per currency (deals without an amount count too)."""
    query = (
        core_select(
            col(Deal.owner_id),
            col(Deal.stage),
            col(Deal.currency),
            func.count(),
            func.sum(Deal.amount),
        )
        .join(Customer, col(Customer.id) == col(Deal.customer_id))
        .where(col(Deal.owner_id).in_(ids), col(Deal.stage).in_(CLOSED_STAGES), *deal_base)
        .where(*closed_period)
        .group_by(col(Deal.owner_id), col(Deal.stage), col(Deal.currency))
        .order_by(col(Deal.currency))
    )
    sums: dict[tuple[int, str], list[Money]] = defaultdict(list)
    for owner_id, stage, currency, count, total in session.execute(query):
        line = lines[int(owner_id)]
        if stage == WON:
            line.won += int(count)
        else:
            line.lost += int(count)
        if currency is not None and total is not None:
            sums[(int(owner_id), stage)].append(
                Money(Decimal(total).quantize(Decimal("0.01")), currency)
            )
    for (owner_id, stage), amounts in sums.items():
        if stage == WON:
            lines[owner_id].won_amounts = amounts
        elif stage == LOST:
            lines[owner_id].lost_amounts = amounts


# --- the sent-once log -----------------------------------------------------------------------


def claim_notification(
    session: Session,
    *,
    kind: str,
    key: str,
    worker: str,
    now: datetime,
    lease: timedelta,
    member_id: int | None = None,
    period_end: datetime | None = None,
) -> int:
    """Take the right to send `key` until `now + lease`: the attempt number, or 0 if it is
    sent, final, held by someone else, or waiting for its retry time.

    The row is inserted before anything is sent. Two instances racing insert the same unique
    key: one wins, the other gets an IntegrityError inside a savepoint and backs off. On
    SQLite the BEGIN IMMEDIATE transaction of `Database.run` serialises claimers outright;
    on PostgreSQL an existing row is locked FOR UPDATE while it is taken over.
    """
    row = session.exec(
        select(NotificationLog).where(col(NotificationLog.key) == key).with_for_update()
    ).first()
    if row is None:
        try:
            with session.begin_nested():
                session.add(
                    NotificationLog(
                        kind=kind,
                        key=key,
                        member_id=member_id,
                        period_end=period_end,
                        claimed_by=worker,
                        claimed_until=now + lease,
                        attempts=1,
                        created_at=now,
                    )
                )
                session.flush()
        except IntegrityError:
            return 0
        return 1
    if not _claimable(row, now):
        return 0
    row.claimed_by, row.claimed_until, row.attempts = worker, now + lease, row.attempts + 1
    return row.attempts


def claim_notifications(
    session: Session,
    *,
    kind: str,
    keys: Iterable[str],
    worker: str,
    now: datetime,
    lease: timedelta,
) -> list[str]:
    """`claim_notification` for several keys in one transaction; the keys now ours."""
    return [
        key
        for key in keys
        if claim_notification(session, kind=kind, key=key, worker=worker, now=now, lease=lease)
    ]


def _claimable(row: NotificationLog, now: datetime) -> bool:
    if row.sent_at is not None or row.outcome is not None:
        return False
    return row.claimed_until is None or row.claimed_until <= now


def finish_notification(
    session: Session, *, key: str, worker: str, now: datetime, outcome: str = SENT
) -> bool:
    """Record the final outcome of our claim: `sent` (Telegram accepted it) or why it never
    will be (`blocked`, `failed`). False if the claim was no longer ours."""
    row = _claimed(session, key, worker)
    if row is None:
        return False
    row.outcome, row.claimed_by, row.claimed_until = outcome, None, None
    if outcome == SENT:
        row.sent_at = now
    return True


def retry_notification(session: Session, *, key: str, worker: str, not_before: datetime) -> bool:
    """Give our claim back unsent (network error, flood, shutting down): any pass may send it
    from `not_before` on."""
    row = _claimed(session, key, worker)
    if row is None:
        return False
    row.claimed_by, row.claimed_until = None, not_before
    return True


def unsettled_keys(session: Session, *, keys: Iterable[str], now: datetime) -> set[str]:
    """Which of `keys` could be claimed now: not in the log, or unsent and free to retry.

    A cheap read before claiming, so a pass over many already-sent events writes nothing.
    """
    wanted = set(keys)
    if not wanted:
        return set()
    rows = session.exec(select(NotificationLog).where(col(NotificationLog.key).in_(wanted)))
    settled = {row.key for row in rows if not _claimable(row, now)}
    return wanted - settled


def last_period_end(session: Session, *, member_id: int, kind: str) -> datetime | None:
    """Where the member's last sent digest of `kind` ended: the next one starts there."""
    return session.exec(
        select(func.max(NotificationLog.period_end)).where(
            col(NotificationLog.member_id) == member_id,
            col(NotificationLog.kind) == kind,
            col(NotificationLog.sent_at).is_not(None),
        )
    ).first()


def _claimed(session: Session, key: str, worker: str) -> NotificationLog | None:
    return session.exec(
        select(NotificationLog).where(
            col(NotificationLog.key) == key,
            col(NotificationLog.claimed_by) == worker,
            col(NotificationLog.outcome).is_(None),
        )
    ).first()
