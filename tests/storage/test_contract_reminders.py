"""Renewal reminders (`storage.contract_reminders`): who is reminded and when, once per key,
and kept right when the contract changes: renewed, terminated, deleted, end date moved,
handed to another owner (never a word to the former owner)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from storage.contract_changes import archive_contract, restore_contract, update_contract
from storage.contract_reminders import RenewalRules, plan_renewal_reminders
from storage.contracts import renew_contract, terminate_contract
from storage.customer_changes import reassign_customer
from storage.db import Database
from storage.models import Contract, ContractStatus, Customer, Member, Reminder, utcnow
from storage.nudges import Claimed, NudgeRules, claim_deliverable
from storage.reminders import mark_sent, page_reminder_views
from tests.factories import make_customer, pk
from tests.storage.test_customer_changes import People, make_people

SH = ZoneInfo("Asia/Shanghai")
RULES = RenewalRules(timezone="Asia/Shanghai", work_start=time(9))
NUDGES = NudgeRules(timezone="Asia/Shanghai", work_start=time(9), work_end=time(19))
# Wednesday 2027-06-02 10:00 in Shanghai; a contract ending 2027-07-02 is in its 30-day notice.
NOW = datetime(2027, 6, 2, 2, 0, tzinfo=UTC)
ENDS = date(2027, 7, 2)
LEASE = timedelta(minutes=5)
OWNER_ONLY = replace(RULES, remind_manager=False)  # the owner reminded, not the manager


def expiring(
    session: Session, owner: Member, *, ends_on: date = ENDS, **values: object
) -> Contract:
    customer = make_customer(session, owner=owner, name="Zhang Wei")
    contract = Contract(
        customer_id=pk(customer),
        owner_id=pk(owner),
        created_by_id=pk(owner),
        number=f"HT-{pk(customer)}",
        title="Forklift service",
        status=ContractStatus.EXPIRING,
        starts_on=date(2026, 7, 3),
        ends_on=ends_on,
        **values,
    )
    session.add(contract)
    session.flush()
    return contract


def reminders(session: Session) -> list[tuple[int, str, str, datetime]]:
    """(member, key, status, due) of every renewal reminder, in id order."""
    return [
        (r.member_id, r.dedupe_key or "", r.status, r.due_at)
        for r in session.exec(
            select(Reminder).where(col(Reminder.kind) == "renewal").order_by(col(Reminder.id))
        )
    ]


def at_nine(day: date) -> datetime:
    return datetime.combine(day, time(9), tzinfo=SH).astimezone(UTC)


def plan(session: Session, now: datetime = NOW, rules: RenewalRules = RULES) -> int:
    return plan_renewal_reminders(session, now=now, rules=rules)


def deliverable(session: Session, now: datetime = NOW) -> Claimed:
    return claim_deliverable(session, now=now, worker="w", limit=10, lease=LEASE, rules=NUDGES)


def hand_over(session: Session, people: People, contract: Contract, to: Member) -> None:
    """The contract's customer reassigned by the admin to `to`."""
    reassign_customer(
        session, actor=people.admin, customer_id=contract.customer_id, new_owner_id=pk(to)
    )


def terminate(session: Session, people: People, contract: Contract) -> None:
    terminate_contract(
        session, actor=people.sales, contract_id=pk(contract), terminated_on=NOW.date(), reason=""
    )


def test_owner_and_manager_are_reminded_once_at_the_start_of_work_on_the_notice_day(
    db: Database,
) -> None:
    def scenario(session: Session) -> None:
        people = make_people(session)
        contract = expiring(session, people.sales)
        assert plan(session) == 2
        assert plan(session) == 0  # the next pass, a restart, another instance
        key, nine = f"renewal:{contract.id}:notice:20270702", at_nine(date(2027, 6, 2))
        assert reminders(session) == [
            (pk(people.sales), f"{key}:{pk(people.sales)}", "pending", nine),
            (pk(people.manager), f"{key}:{pk(people.manager)}", "pending", nine),
        ]

    db.run_sync(scenario)


def test_without_remind_manager_only_the_owner_and_a_planned_manager_reminder_goes(
    db: Database,
) -> None:
    def scenario(session: Session) -> None:
        people = make_people(session)
        expiring(session, people.sales)
        plan(session)
        assert plan(session, rules=OWNER_ONLY) == 0
        assert [member for member, *_ in reminders(session)] == [pk(people.sales)]

    db.run_sync(scenario)


def test_the_last_week_reminder_supersedes_an_unsent_notice_and_follows_a_sent_one(
    db: Database,
) -> None:
    def scenario(session: Session) -> None:
        people = make_people(session)
        unsent = expiring(session, people.other_sales)
        sent = expiring(session, people.admin)
        plan(session, rules=OWNER_ONLY)
        [own] = [r for r in session.exec(select(Reminder)) if r.member_id == people.admin.id]
        own.status, own.sent_at = "sent", NOW
        last_week = NOW + timedelta(days=23)  # 2027-06-25: 7 days before the end
        assert plan(session, last_week, OWNER_ONLY) == 2
        assert [(m, k.split(":")[2], s) for m, k, s, _ in reminders(session)] == [
            (pk(people.admin), "notice", "sent"),
            (pk(people.other_sales), "final", "pending"),
            (pk(people.admin), "final", "pending"),
        ]
        del unsent, sent

    db.run_sync(scenario)


def test_a_contract_entered_in_its_last_week_gets_only_the_last_weeks_reminder(
    db: Database,
) -> None:
    def scenario(session: Session) -> None:
        people = make_people(session)
        expiring(session, people.admin, ends_on=date(2027, 6, 5))
        assert plan(session) == 1
        [(_, key, _, due)] = reminders(session)
        assert key.split(":")[2] == "final"
        assert due == at_nine(date(2027, 5, 29))  # its day has passed: claimed at once

    db.run_sync(scenario)


def test_the_contracts_own_notice_and_a_notice_not_before_the_last_week(db: Database) -> None:
    def scenario(session: Session) -> None:
        people = make_people(session)
        expiring(session, people.admin, renewal_notice_days=60, ends_on=date(2027, 8, 1))
        expiring(session, people.admin, renewal_notice_days=5, ends_on=date(2027, 6, 7))
        expiring(session, people.admin, ends_on=date(2027, 6, 9))  # last week from today
        plan(session)
        assert [(k.split(":")[2], due) for _, k, _, due in reminders(session)] == [
            ("notice", at_nine(date(2027, 6, 2))),
            ("notice", at_nine(date(2027, 6, 2))),  # no last-week one: 7 days >= its 5
            ("final", at_nine(date(2027, 6, 2))),
        ]

    db.run_sync(scenario)


def test_the_members_timezone_decides_the_day(db: Database) -> None:
    def scenario(session: Session) -> None:
        people = make_people(session)
        people.admin.timezone = "America/New_York"  # still 1 June there, 22:00
        expiring(session, people.admin, ends_on=date(2027, 7, 2))
        assert plan(session) == 0
        assert plan(session, NOW + timedelta(hours=3)) == 1
        [(_, _, _, due)] = reminders(session)
        ny = ZoneInfo("America/New_York")
        assert due == datetime(2027, 6, 2, 9, tzinfo=ny).astimezone(UTC)

    db.run_sync(scenario)


def _one_contract(session: Session) -> tuple[People, Contract]:
    people = make_people(session)
    contract = expiring(session, people.sales)
    plan(session, rules=OWNER_ONLY)
    return people, contract


def test_renewed_terminated_expired_or_deleted_contracts_lose_their_reminders(
    db: Database,
) -> None:
    def scenario(session: Session) -> None:
        people = make_people(session)
        contracts = [expiring(session, people.admin) for _ in range(5)]
        plan(session)
        contracts[0].status = ContractStatus.RENEWED
        contracts[1].status = ContractStatus.TERMINATED
        contracts[2].status = ContractStatus.EXPIRED
        contracts[3].deleted_at = utcnow()
        session.get_one(Customer, contracts[4].customer_id).deleted_at = utcnow()
        session.flush()
        assert plan(session) == 0
        assert reminders(session) == []  # unsent: deleted, so nothing stays on /reminders

    db.run_sync(scenario)


def test_a_sent_reminder_of_a_renewed_contract_is_finished(db: Database) -> None:
    def scenario(session: Session) -> None:
        people, contract = _one_contract(session)
        [reminder] = session.exec(select(Reminder)).all()
        reminder.status, reminder.sent_at = "sent", NOW
        contract.status = ContractStatus.RENEWED
        session.flush()
        plan(session)
        assert [status for *_, status, _ in reminders(session)] == ["done"]
        page = page_reminder_views(session, actor=people.sales)
        assert page.total == 0

    db.run_sync(scenario)


def test_an_end_date_moved_moves_the_reminder(db: Database) -> None:
    def scenario(session: Session) -> None:
        _, contract = _one_contract(session)
        contract.ends_on = date(2027, 6, 20)
        session.flush()
        assert plan(session, rules=OWNER_ONLY) == 1
        assert [key.split(":")[3] for _, key, *_ in reminders(session)] == ["20270620"]

    db.run_sync(scenario)


def test_a_reassigned_customer_moves_the_reminder_to_the_new_owner(db: Database) -> None:
    def scenario(session: Session) -> None:
        people, contract = _one_contract(session)
        hand_over(session, people, contract, people.other_sales)
        assert plan(session, rules=OWNER_ONLY) == 1
        assert [member for member, *_ in reminders(session)] == [pk(people.other_sales)]
        hand_over(session, people, contract, people.sales)  # back: the first key is free
        assert plan(session, rules=OWNER_ONLY) == 1
        assert [member for member, *_ in reminders(session)] == [pk(people.sales)]

    db.run_sync(scenario)


def test_a_reminder_claimed_after_its_contract_changed_hands_is_never_delivered(
    db: Database,
) -> None:
    """Between two planning passes delivery checks again: the former owner gets nothing."""

    def scenario(session: Session) -> None:
        people, contract = _one_contract(session)
        hand_over(session, people, contract, people.other_sales)
        claimed = deliverable(session)
        assert (claimed.views, claimed.held_back) == ([], 1)
        assert reminders(session) == []

    db.run_sync(scenario)


def test_claimed_renewal_shows_its_contract_and_waits_for_working_hours_and_days(
    db: Database,
) -> None:
    def scenario(session: Session) -> None:
        people, contract = _one_contract(session)
        early = NOW - timedelta(hours=2)  # 08:00 in Shanghai, before work
        assert deliverable(session, early).views == []
        saturday = datetime(2027, 6, 5, 3, 0, tzinfo=UTC)
        held = deliverable(session, saturday)
        assert held.views == []
        [reminder] = session.exec(select(Reminder)).all()
        assert reminder.due_at == at_nine(date(2027, 6, 7))  # Monday morning
        monday = at_nine(date(2027, 6, 7))
        [view] = deliverable(session, monday).views
        assert view.contract is not None
        assert (view.contract[0].id, view.contract[1].name) == (contract.id, "Zhang Wei")
        assert mark_sent(session, reminder_id=view.id, worker="w", at=monday)
        del people

    db.run_sync(scenario)


def _with_manager(session: Session) -> tuple[People, Contract]:
    """A contract of the salesperson whose owner and manager both have a reminder pending."""
    people = make_people(session)
    contract = expiring(session, people.sales)
    assert plan(session) == 2
    return people, contract


def test_terminating_withdraws_the_pending_reminders_at_once(db: Database) -> None:
    def scenario(session: Session) -> None:
        people, contract = _with_manager(session)
        terminate(session, people, contract)
        assert reminders(session) == []  # no pass ran: the terminate itself withdrew them

    db.run_sync(scenario)


def test_renewing_withdraws_the_pending_reminders_at_once(db: Database) -> None:
    def scenario(session: Session) -> None:
        people, contract = _with_manager(session)
        renew_contract(session, actor=people.manager, contract_id=pk(contract), number="HT-R")
        assert reminders(session) == []

    db.run_sync(scenario)


def test_terminating_finishes_a_sent_reminder_at_once(db: Database) -> None:
    def scenario(session: Session) -> None:
        people, contract = _one_contract(session)
        [reminder] = session.exec(select(Reminder)).all()
        reminder.status, reminder.sent_at = "sent", NOW
        session.flush()
        terminate(session, people, contract)
        assert [status for *_, status, _ in reminders(session)] == ["done"]
        assert page_reminder_views(session, actor=people.sales).total == 0

    db.run_sync(scenario)


def test_deleting_withdraws_the_reminders_at_once_and_a_restore_lets_the_pass_plan_them(
    db: Database,
) -> None:
    def scenario(session: Session) -> None:
        people, contract = _with_manager(session)
        planned = reminders(session)
        archive_contract(session, actor=people.sales, contract_id=pk(contract))
        assert reminders(session) == []
        restore_contract(session, actor=people.admin, contract_id=pk(contract))
        assert reminders(session) == []  # the restore plans nothing itself ...
        assert plan(session) == 2  # ... the next pass does, under the same keys
        assert reminders(session) == planned

    db.run_sync(scenario)


def test_an_edited_end_date_or_notice_replans_the_reminders_in_the_same_transaction(
    db: Database,
) -> None:
    def scenario(session: Session) -> None:
        people, contract = _with_manager(session)
        [sent, _] = session.exec(select(Reminder).order_by(col(Reminder.id))).all()
        sent.status, sent.sent_at = "sent", NOW  # the owner's went out already
        session.flush()

        def edit(**changes: object) -> None:
            update_contract(session, actor=people.sales, contract_id=pk(contract), changes=changes)

        edit(renewal_notice_days=45)  # the manager's unsent one was planned for the old day
        assert [status for *_, status, _ in reminders(session)] == ["sent"]
        edit(ends_on=date(2027, 6, 20))  # now the sent one names an end date no longer there
        assert [status for *_, status, _ in reminders(session)] == ["done"]
        assert plan(session) == 2  # the pass plans the new end date's (45 days' notice)
        keys = [key for _, key, status, _ in reminders(session) if status == "pending"]
        assert {tuple(key.split(":")[2:4]) for key in keys} == {("notice", "20270620")}
        edit(title="Renamed")  # another field leaves them alone
        assert len(reminders(session)) == 3

    db.run_sync(scenario)
