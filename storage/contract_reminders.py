"""Renewal reminders: a contract's owner (and, per config, the owner's manager) is reminded
`notice` days before the contract ends and again in its last week, through the reminder
machinery (`storage.reminders`: claimed, sent once, Snooze, /reminders).

Planning runs in the `contract-renewals` pass right after the statuses moved
(`storage.contract_status`), so the contracts to remind are the expiring ones. It is
idempotent: each reminder has a dedupe key naming the contract, the stage ("notice" or
"final"), the end date and the member (`renewal:12:final:20271231:7`), so passes on several
instances and after any restart never make a second row. A stage is planned on its day in the
member's timezone, due at the start of their working hours (their own, else the team's);
delivery holds it back to their working hours and days (`storage.nudges.claim_deliverable`). A
stage whose day passed while a later one is due (the bot was down, the contract was entered
late) is not sent: only the latest due stage is.

Reminders stay right when the contract changes, whatever changed it: each pass first drops
the open renewal reminders no longer wanted (`unwanted_renewals`: the contract was renewed,
terminated, expired or deleted, its end date changed, it or its customer changed hands, the
member no longer may see it), and delivery checks the same again at claim time. An unsent one
is deleted, which frees its key, so the contract's new owner, end date or a hand-back gets
its own reminder; one already sent is finished and leaves the member's list. Renew,
terminate and delete do not wait for the pass: they withdraw the contract's reminders in their
own transaction (`withdraw_renewals`); so does an edit of the end date or the renewal notice
(`replan_renewals`), whose unsent reminders were planned for the old days.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.access import visible_contracts
from storage.contract_status import notice_days
from storage.models import Contract, ContractStatus, Customer, Member, Reminder, utcnow
from storage.reminders import OPEN_STATUSES, ReminderKind, ReminderStatus
from storage.working_hours import local_moment, parse_clock

NOTICE, FINAL = "notice", "final"
IN_FORCE = (ContractStatus.ACTIVE, ContractStatus.EXPIRING)


@dataclass(frozen=True)
class RenewalRules:
    """The team's settings (`[contracts]`, `[locale] timezone`, `[reminders] work_start`)."""

    timezone: str
    work_start: time
    default_notice_days: int = 30
    final_notice_days: int = 7
    remind_manager: bool = True


@dataclass(frozen=True)
class RenewalKey:
    """What a renewal reminder's dedupe key says."""

    contract_id: int
    stage: str
    ends_on: date
    member_id: int

    def __str__(self) -> str:
        return f"renewal:{self.contract_id}:{self.stage}:{self.ends_on:%Y%m%d}:{self.member_id}"

    @classmethod
    def parse(cls, key: str | None) -> RenewalKey | None:
        parts = (key or "").split(":")
        if len(parts) != 5 or parts[0] != "renewal":
            return None
        ends_on = datetime.strptime(parts[3], "%Y%m%d").date()  # noqa: DTZ007 (a date)
        return cls(int(parts[1]), parts[2], ends_on, int(parts[4]))


def renewal_stages(contract: Contract, rules: RenewalRules) -> list[tuple[str, date]]:
    """(stage, day) of the contract's reminders, earliest first: its notice, then the last
    week's unless that is not later than the notice."""
    if contract.ends_on is None:
        return []
    notice = notice_days(contract, rules.default_notice_days)
    stages = [(NOTICE, contract.ends_on - timedelta(days=notice))]
    if rules.final_notice_days < notice:
        stages.append((FINAL, contract.ends_on - timedelta(days=rules.final_notice_days)))
    return stages


def plan_renewal_reminders(session: Session, *, now: datetime, rules: RenewalRules) -> int:
    """Drop the open renewal reminders no longer wanted, then make those due by now that do
    not exist yet; the number made."""
    drop_renewals(session, _open_renewals(session), now=now, rules=rules)
    made = 0
    for contract, owner in _expiring(session):
        for member in _recipients(session, owner, rules):
            visible = visible_contracts(session, actor=member, contract_ids=[contract.id])
            if contract.id in visible:
                made += _plan_one(session, contract, member, now=now, rules=rules)
    return made


def _plan_one(
    session: Session, contract: Contract, member: Member, *, now: datetime, rules: RenewalRules
) -> int:
    assert contract.id is not None
    assert contract.ends_on is not None
    assert member.id is not None
    tz = ZoneInfo(member.timezone or rules.timezone)
    today = now.astimezone(tz).date()
    due = [(stage, day) for stage, day in renewal_stages(contract, rules) if day <= today]
    if not due or today > contract.ends_on:
        return 0
    stage, day = due[-1]
    key = RenewalKey(contract.id, stage, contract.ends_on, member.id)
    # An earlier stage not sent yet is superseded: one message, the latest, not two at once.
    session.execute(
        delete(Reminder).where(
            col(Reminder.contract_id) == contract.id,
            col(Reminder.member_id) == member.id,
            col(Reminder.kind) == ReminderKind.RENEWAL,
            col(Reminder.status) == ReminderStatus.PENDING,
            col(Reminder.sent_at).is_(None),
            col(Reminder.claimed_by).is_(None),
            col(Reminder.dedupe_key) != str(key),
        )
    )
    if session.exec(select(Reminder.id).where(col(Reminder.dedupe_key) == str(key))).first():
        return 0
    reminder = Reminder(
        member_id=member.id,
        contract_id=contract.id,
        kind=ReminderKind.RENEWAL,
        due_at=local_moment(day, parse_clock(member.work_start) or rules.work_start, tz),
        exact_time=False,
        status=ReminderStatus.PENDING,
        dedupe_key=str(key),
    )
    try:
        with session.begin_nested():
            session.add(reminder)
            session.flush()
    except IntegrityError:  # another instance made it meanwhile (PostgreSQL)
        return 0
    return 1


def _expiring(session: Session) -> list[tuple[Contract, Member]]:
    """Expiring contracts of live customers, with their active owners."""
    return [
        (contract, owner)
        for contract, owner in session.exec(
            select(Contract, Member)
            .join(Customer, col(Customer.id) == col(Contract.customer_id))
            .join(Member, col(Member.id) == col(Contract.owner_id))
            .where(
                col(Contract.status) == ContractStatus.EXPIRING,
                col(Contract.deleted_at).is_(None),
                col(Contract.ends_on).is_not(None),
                col(Customer.deleted_at).is_(None),
                col(Member.active).is_(True),
            )
            .order_by(col(Contract.id))
        )
    ]


def _recipients(session: Session, owner: Member, rules: RenewalRules) -> list[Member]:
    recipients = [owner]
    if rules.remind_manager and owner.manager_id is not None:
        manager = session.get(Member, owner.manager_id)
        if manager is not None and manager.active:
            recipients.append(manager)
    return recipients


def withdraw_renewals(session: Session, *, contract_id: int, now: datetime) -> set[int]:
    """Drop at once the contract's open renewal reminders no longer wanted, in the caller's
    transaction: a renew, terminate or delete takes them off the members' lists now, not at
    the next pass. A restore needs nothing here: the unsent ones were deleted, so their keys
    are free and the next pass plans them again."""
    return drop_renewals(session, _open_renewals(session, contract_id), now=now)


def replan_renewals(session: Session, *, contract_id: int, now: datetime) -> None:
    """The contract's end date or renewal notice was edited: its unsent reminders were planned
    for the old days, so they go now in the caller's transaction (their keys free), a sent one
    whose end date is no longer the contract's is finished, and the next pass plans the new
    days (`plan_renewal_reminders`: it alone knows the team's rules). A reminder being
    delivered (claimed) is left to the claim-time check."""
    session.execute(
        delete(Reminder).where(
            col(Reminder.contract_id) == contract_id,
            col(Reminder.kind) == ReminderKind.RENEWAL,
            col(Reminder.status) == ReminderStatus.PENDING,
            col(Reminder.sent_at).is_(None),
            col(Reminder.claimed_by).is_(None),
        )
    )
    withdraw_renewals(session, contract_id=contract_id, now=now)


def _open_renewals(session: Session, contract_id: int | None = None) -> list[Reminder]:
    query = select(Reminder).where(
        col(Reminder.kind) == ReminderKind.RENEWAL,
        col(Reminder.status).in_(OPEN_STATUSES),
    )
    if contract_id is not None:
        query = query.where(col(Reminder.contract_id) == contract_id)
    return list(session.exec(query))


def unwanted_renewals(
    session: Session, reminders: Iterable[Reminder], *, rules: RenewalRules | None = None
) -> set[int]:
    """The ids of those renewal `reminders` that must not reach their member now: the contract
    is deleted or no longer in force, its end date is not the one the reminder was made for,
    the member is neither its owner nor (when managers are reminded; without `rules`, as far
    as the reminder alone says) the owner's manager, or they may no longer see it."""
    renewals = [r for r in reminders if r.kind == ReminderKind.RENEWAL]
    members = _members(session, {r.member_id for r in renewals})
    owners: dict[int, Member] = {}
    unwanted: set[int] = set()
    for reminder in renewals:
        member = members[reminder.member_id]
        pair = visible_contracts(session, actor=member, contract_ids=[reminder.contract_id])
        found = pair.get(reminder.contract_id or 0)
        key = RenewalKey.parse(reminder.dedupe_key)
        contract = found[0] if found else None
        if contract is None or key is None or not _still_due(contract, key):
            unwanted.add(reminder.id or 0)
            continue
        if contract.owner_id == member.id:
            continue
        owner = owners.get(contract.owner_id) or session.get_one(Member, contract.owner_id)
        owners[contract.owner_id] = owner
        manager_reminded = rules is None or rules.remind_manager
        if not manager_reminded or owner.manager_id != member.id:
            unwanted.add(reminder.id or 0)
    return unwanted


def _still_due(contract: Contract, key: RenewalKey) -> bool:
    return contract.status in IN_FORCE and contract.ends_on == key.ends_on


def drop_renewals(
    session: Session,
    reminders: Sequence[Reminder],
    *,
    now: datetime,
    rules: RenewalRules | None = None,
) -> set[int]:
    """Delete the unwanted ones never sent (their keys become free) and finish those already
    sent (they leave the member's list); the ids dropped."""
    unwanted = unwanted_renewals(session, reminders, rules=rules)
    if not unwanted:
        return unwanted
    session.execute(
        delete(Reminder).where(col(Reminder.id).in_(unwanted), col(Reminder.sent_at).is_(None))
    )
    session.execute(
        update(Reminder)
        .where(col(Reminder.id).in_(unwanted))
        .values(
            status=ReminderStatus.DONE,
            done_at=now,
            claimed_by=None,
            claimed_until=None,
            updated_at=utcnow(),
        )
    )
    session.flush()
    return unwanted


def _members(session: Session, ids: set[int]) -> dict[int, Member]:
    if not ids:
        return {}
    rows = session.exec(select(Member).where(col(Member.id).in_(ids)))
    return {m.id: m for m in rows if m.id is not None}
