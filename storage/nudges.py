"""Birthday and stay-in-touch nudges: planned as reminder rows, held back outside working hours
and off the member's working days.

Planning is idempotent: each nudge has a dedupe key (`birthday:<customer>:<year>`,
`touch:<customer>:<period>:<since>`), so the planner may run every few minutes, on several
instances and after any restart without ever making a second row. Delivery reuses the
follow-up machinery (`storage.reminders`); `claim_deliverable` adds the quiet-hours rule on
top of `claim_deliveries`: a claimed reminder that is not for an exact time and falls
outside its member's working hours is moved to the next start instead of being sent (a nudge
also waits for a working day; a follow-up the member dated to a Saturday is theirs to keep),
and a stay-in-touch nudge whose customer was contacted meanwhile is dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from storage.contract_reminders import drop_renewals
from storage.models import Customer, Interaction, Member, Reminder, utcnow
from storage.reminders import (
    ReminderKind,
    ReminderStatus,
    ReminderView,
    claim_deliveries,
    reminder_customers,
)
from storage.working_hours import (
    WorkingHours,
    birthday_in,
    days_text,
    local_moment,
    next_birthday,
    next_delivery_time,
    parse_clock,
    parse_days,
)

NUDGE_KINDS = (ReminderKind.BIRTHDAY, ReminderKind.STAY_IN_TOUCH)
# Reminders the bot plans itself: they wait for a working day as well as working hours.
PLANNED_KINDS = (*NUDGE_KINDS, ReminderKind.RENEWAL)
_KEY_CHUNK = 500  # dedupe keys looked up per query when planning


@dataclass(frozen=True)
class NudgeRules:
    """The team's defaults from config; members override timezone and working hours."""

    timezone: str
    work_start: time
    work_end: time
    birthday_check_time: time = time(9, 0)
    birthday_days_ahead: int = 0
    cadence_days: Mapping[str, int] = field(default_factory=dict)

    def tz_of(self, member: Member) -> ZoneInfo:
        return ZoneInfo(member.timezone or self.timezone)

    def hours_of(self, member: Member) -> WorkingHours:
        start, end = parse_clock(member.work_start), parse_clock(member.work_end)
        return WorkingHours(start or self.work_start, end or self.work_end)

    def cadence_of(self, customer: Customer) -> int | None:
        if customer.contact_cadence_days:
            return customer.contact_cadence_days
        return self.cadence_days.get(customer.category or "")

    def deliver_at(self, member: Member, due_at: datetime, *, work_days: bool = True) -> datetime:
        """The first moment in the member's working hours (and days, unless not asked)."""
        hours = self.hours_of(member)
        return next_delivery_time(
            due_at,
            tz=self.tz_of(member),
            work_start=hours.start,
            work_end=hours.end,
            exact=False,
            work_days=parse_days(member.work_days) if work_days else None,
        )


@dataclass(frozen=True)
class NudgeInfo:
    """What a nudge message shows beyond `ReminderView`: the birthday, or the last contact."""

    customer_id: int
    birthday: date | None = None
    birth_year: int | None = None
    since: datetime | None = None
    last_kind: str | None = None
    last_at: datetime | None = None
    last_summary: str | None = None


@dataclass(frozen=True)
class Claimed:
    views: list[ReminderView]
    nudges: dict[int, NudgeInfo]
    held_back: int  # moved to working hours or dropped: the caller should claim again


# --- planning ---------------------------------------------------------------------------------


class WantedNudge(NamedTuple):
    member_id: int
    customer_id: int
    key: str  # the dedupe key: one reminder per key, ever
    due_at: datetime


def plan_nudges(
    session: Session, *, now: datetime, rules: NudgeRules, member_id: int | None = None
) -> int:
    """Create every birthday and stay-in-touch reminder due by now's rules; the number made."""
    wanted = wanted_nudges(session, now=now, rules=rules, member_id=member_id)
    return create_nudges(session, wanted=wanted)


def wanted_nudges(
    session: Session, *, now: datetime, rules: NudgeRules, member_id: int | None = None
) -> list[WantedNudge]:
    """The nudges now's rules call for, made or not: a read, so the scheduler can run it
    outside a write transaction (at 1,000,000 customers it took ~250 ms, and SQLite's one
    writer would have made every member's save wait that long). A customer contacted or
    deleted before the write gets a nudge that delivery drops (`_still_wanted`); a schedule
    change in between plans under the same keys, so one of the two inserts is skipped."""
    return [
        WantedNudge(member.id or 0, customer.id or 0, key, due_at)
        for customer, member in _candidates(session, now=now, rules=rules, member_id=member_id)
        for key, due_at in _wanted(customer, member, now=now, rules=rules)
    ]


def create_nudges(session: Session, *, wanted: Sequence[WantedNudge]) -> int:
    """Make the reminders of `wanted` whose key has none yet; the number made."""
    made = 0
    for start in range(0, len(wanted), _KEY_CHUNK):
        chunk = wanted[start : start + _KEY_CHUNK]
        existing = set(
            session.scalars(
                select(col(Reminder.dedupe_key)).where(
                    col(Reminder.dedupe_key).in_([w.key for w in chunk])
                )
            )
        )
        made += sum(_insert_once(session, w) for w in chunk if w.key not in existing)
    return made


def _candidates(
    session: Session, *, now: datetime, rules: NudgeRules, member_id: int | None
) -> list[tuple[Customer, Member]]:
    """Customers of active members with a birthday near today (in any timezone) or who may
    be overdue for contact: a cheap SQL filter, refined per owner's timezone in `_wanted`."""
    first = now.date() - timedelta(days=1)
    days = [first + timedelta(days=i) for i in range(rules.birthday_days_ahead + 3)]
    pairs = {(d.month, d.day) for d in days} | {
        (2, 29) for d in days if (d.month, d.day) == (2, 28)
    }
    near_birthday = or_(
        *(
            and_(col(Customer.birthday_month) == m, col(Customer.birthday_day) == d)
            for m, d in pairs
        )
    )
    since = func.coalesce(col(Customer.last_contact_at), col(Customer.created_at))
    shortest = min(rules.cadence_days.values(), default=None)
    maybe_stale: ColumnElement[bool] = col(Customer.contact_cadence_days).is_not(None)
    if shortest is not None:
        by_category = and_(
            col(Customer.category).in_(list(rules.cadence_days)),
            since <= now - timedelta(days=shortest),
        )
        maybe_stale = or_(maybe_stale, by_category)
    query = (
        select(Customer, Member)
        .join(Member, col(Member.id) == col(Customer.owner_id))
        .where(
            col(Member.active).is_(True),
            col(Customer.deleted_at).is_(None),
            or_(near_birthday, maybe_stale),
        )
        .order_by(col(Customer.id))
    )
    if member_id is not None:
        query = query.where(col(Member.id) == member_id)
    return [(customer, member) for customer, member in session.exec(query)]


def _wanted(
    customer: Customer, member: Member, *, now: datetime, rules: NudgeRules
) -> list[tuple[str, datetime]]:
    """(dedupe key, due time) of the nudges this customer should have now."""
    wanted = []
    birthday = _birthday_due(customer, member, now=now, rules=rules)
    if birthday is not None:
        wanted.append(birthday)
    touch = _touch_due(customer, member, now=now, rules=rules)
    if touch is not None:
        wanted.append(touch)
    return wanted


def _birthday_due(
    customer: Customer, member: Member, *, now: datetime, rules: NudgeRules
) -> tuple[str, datetime] | None:
    """Announced `birthday_days_ahead` days early at the check time, in the owner's timezone;
    a birthday already within that window (added late, bot was down) is announced today."""
    if customer.birthday_month is None or customer.birthday_day is None:
        return None
    tz = rules.tz_of(member)
    today = now.astimezone(tz).date()
    occurs = next_birthday(today, customer.birthday_month, customer.birthday_day)
    if (occurs - today).days > rules.birthday_days_ahead:
        return None
    announce = max(occurs - timedelta(days=rules.birthday_days_ahead), today)
    due = rules.deliver_at(member, local_moment(announce, rules.birthday_check_time, tz))
    return f"birthday:{customer.id}:{occurs.year}", due


def _touch_due(
    customer: Customer, member: Member, *, now: datetime, rules: NudgeRules
) -> tuple[str, datetime] | None:
    """One nudge per cadence period without contact; a new contact starts new keys."""
    cadence = rules.cadence_of(customer)
    if not cadence:
        return None
    since = customer.last_contact_at or customer.created_at
    periods = (now - since) // timedelta(days=cadence)
    if periods < 1:
        return None
    due = rules.deliver_at(member, since + timedelta(days=cadence * periods))
    return f"touch:{customer.id}:{periods}:{int(since.timestamp())}", due


def _insert_once(session: Session, wanted: WantedNudge) -> int:
    """1 if a row was made under its key, 0 if one exists (made by another instance)."""
    birthday = wanted.key.startswith("birthday:")
    reminder = Reminder(
        member_id=wanted.member_id,
        customer_id=wanted.customer_id,
        kind=ReminderKind.BIRTHDAY if birthday else ReminderKind.STAY_IN_TOUCH,
        due_at=wanted.due_at,
        exact_time=False,
        status=ReminderStatus.PENDING,
        dedupe_key=wanted.key,
    )
    try:
        with session.begin_nested():
            session.add(reminder)
            session.flush()
    except IntegrityError:
        return 0
    return 1


# --- settings ---------------------------------------------------------------------------------


def set_member_schedule(
    session: Session,
    *,
    member_id: int,
    rules: NudgeRules,
    now: datetime,
    timezone: str | None = None,
    hours: WorkingHours | None = None,
    work_days: frozenset[int] | None = None,
) -> Member:
    """Change a member's timezone, working hours or days; their unsent nudges are planned
    again under the new schedule in the same transaction, so nothing fires at the old time."""
    member = session.get_one(Member, member_id)
    if timezone is not None:
        ZoneInfo(timezone)  # an unknown name raises before anything changes
        member.timezone = timezone
    if hours is not None:
        member.work_start, member.work_end = f"{hours.start:%H:%M}", f"{hours.end:%H:%M}"
    if work_days is not None:
        if not work_days <= set(range(7)) or not work_days:
            raise ValueError(f"working days must be some of 0-6, not {sorted(work_days)}")
        member.work_days = days_text(work_days)
    member.updated_at = utcnow()
    session.execute(
        delete(Reminder).where(
            col(Reminder.member_id) == member_id,
            col(Reminder.kind).in_(NUDGE_KINDS),
            col(Reminder.status) == ReminderStatus.PENDING,
            col(Reminder.sent_at).is_(None),
            col(Reminder.claimed_by).is_(None),
        )
    )
    session.flush()
    plan_nudges(session, now=now, rules=rules, member_id=member_id)
    return member


# --- delivery ---------------------------------------------------------------------------------


def claim_deliverable(
    session: Session,
    *,
    now: datetime,
    worker: str,
    limit: int,
    lease: timedelta,
    rules: NudgeRules,
) -> Claimed:
    """`claim_deliveries`, minus what must wait for working hours or is no longer wanted."""
    views = claim_deliveries(session, now=now, worker=worker, limit=limit, lease=lease)
    # A contract renewed, ended, changed or handed over since: its reminder is dropped.
    dropped = drop_renewals(session, [v.reminder for v in views], now=now)
    views = [view for view in views if view.id not in dropped]
    members = _members(session, {v.reminder.member_id for v in views})
    # As its member may see it now: a customer reassigned or merged away gets them no nudge.
    customers = reminder_customers(session, [v.reminder for v in views], members=members)
    kept: list[ReminderView] = []
    nudges: dict[int, NudgeInfo] = {}
    held = 0
    for view in views:
        reminder, member = view.reminder, members[view.reminder.member_id]
        customer = customers.get(view.id)
        if reminder.kind in NUDGE_KINDS and not _still_wanted(reminder, customer, now, rules):
            _release_as(session, reminder, worker, status=ReminderStatus.DONE, done_at=now)
            held += 1
        elif not reminder.exact_time and (later := _hold(rules, member, reminder, now)) > now:
            _release_as(session, reminder, worker, due_at=later)
            held += 1
        else:
            kept.append(view)
            if reminder.kind in NUDGE_KINDS and customer is not None:
                nudges[view.id] = _info(session, reminder, customer)
    return Claimed(views=kept, nudges=nudges, held_back=held + len(dropped))


def finish_nudge(session: Session, *, reminder_id: int) -> None:
    """A nudge has no Done button: once Telegram took it, it leaves the member's open list."""
    session.execute(
        update(Reminder)
        .where(col(Reminder.id) == reminder_id, col(Reminder.status) == ReminderStatus.SENT)
        .values(status=ReminderStatus.DONE, done_at=utcnow(), updated_at=utcnow())
    )


def _still_wanted(
    reminder: Reminder, customer: Customer | None, now: datetime, rules: NudgeRules
) -> bool:
    """A customer deleted, or no longer visible to the member, gets no nudge; a contact logged
    since the nudge was planned (or a snooze) makes a stay-in-touch nudge moot once the
    customer is no longer overdue."""
    if customer is None:
        return False
    if reminder.kind == ReminderKind.BIRTHDAY:
        return customer.birthday_month is not None and customer.birthday_day is not None
    cadence = rules.cadence_of(customer)
    since = customer.last_contact_at or customer.created_at
    return bool(cadence) and now - since >= timedelta(days=cadence or 0)


def _hold(rules: NudgeRules, member: Member, reminder: Reminder, now: datetime) -> datetime:
    """Nudges and renewals wait for a working day too; a day-only follow-up keeps the day it
    was set for."""
    return rules.deliver_at(member, now, work_days=reminder.kind in PLANNED_KINDS)


def _release_as(session: Session, reminder: Reminder, worker: str, **values: object) -> None:
    session.execute(
        update(Reminder)
        .where(col(Reminder.id) == reminder.id, col(Reminder.claimed_by) == worker)
        .values(claimed_by=None, claimed_until=None, updated_at=utcnow(), **values)
    )


def _info(session: Session, reminder: Reminder, customer: Customer) -> NudgeInfo:
    assert customer.id is not None
    if reminder.kind == ReminderKind.BIRTHDAY:
        year = int((reminder.dedupe_key or "").rsplit(":", 1)[-1] or reminder.due_at.year)
        assert customer.birthday_month is not None
        assert customer.birthday_day is not None
        occurs = birthday_in(year, customer.birthday_month, customer.birthday_day)
        return NudgeInfo(customer.id, birthday=occurs, birth_year=customer.birthday_year)
    last = session.exec(
        select(Interaction)
        .where(col(Interaction.customer_id) == customer.id, col(Interaction.deleted_at).is_(None))
        .order_by(col(Interaction.happened_at).desc(), col(Interaction.id).desc())
        .limit(1)
    ).first()
    return NudgeInfo(
        customer.id,
        since=customer.last_contact_at or customer.created_at,
        last_kind=last.kind if last else None,
        last_at=last.happened_at if last else None,
        last_summary=last.summary if last else None,
    )


def _members(session: Session, ids: set[int]) -> dict[int, Member]:
    if not ids:
        return {}
    rows = session.exec(select(Member).where(col(Member.id).in_(ids)))
    return {m.id: m for m in rows if m.id is not None}
