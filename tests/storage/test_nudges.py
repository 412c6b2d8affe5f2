"""Birthday and stay-in-touch planning, and the quiet-hours rule at claim time, with a pinned
clock on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from storage.db import Database
from storage.interactions import InteractionCreate, create_interaction
from storage.models import Customer, Member, Reminder
from storage.nudges import (
    NudgeRules,
    claim_deliverable,
    create_nudges,
    plan_nudges,
    set_member_schedule,
    wanted_nudges,
)
from storage.reminders import create_follow_up
from storage.working_hours import WorkingHours
from tests.factories import make_customer, make_member

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
RULES = NudgeRules(
    timezone="Asia/Shanghai",
    work_start=time(9),
    work_end=time(19),
    birthday_check_time=time(9),
    cadence_days={"loyal": 30, "existing": 60},
)
NOW = datetime(2031, 3, 1, 2, 0, tzinfo=UTC)  # Saturday 1 March 2031, 10:00 in Shanghai


def customer_with(session: Session, owner: Member, **values: object) -> Customer:
    customer = make_customer(session, owner=owner)
    for key, value in values.items():
        setattr(customer, key, value)
    session.flush()
    return customer


def nudges_of(session: Session, member: Member) -> list[Reminder]:
    return list(
        session.exec(
            select(Reminder).where(col(Reminder.member_id) == member.id).order_by(col(Reminder.id))
        )
    )


def test_birthday_today_is_planned_once_at_check_time(db: Database) -> None:
    def scenario(session: Session) -> None:
        owner = make_member(session)
        owner.work_days = "0,1,2,3,4,5"  # works on Saturdays: today is a working day
        customer = customer_with(session, owner, birthday_month=3, birthday_day=1)
        assert plan_nudges(session, now=NOW, rules=RULES) == 1
        assert plan_nudges(session, now=NOW + timedelta(hours=1), rules=RULES) == 0
        [row] = nudges_of(session, owner)
        assert (row.kind, row.dedupe_key, row.exact_time) == (
            "birthday",
            f"birthday:{customer.id}:2031",
            False,
        )
        assert row.due_at == datetime(2031, 3, 1, 9, 0, tzinfo=SH)

    db.run_sync(scenario)


def test_a_saturday_birthday_waits_for_monday_morning(db: Database) -> None:
    def scenario(session: Session) -> None:
        owner = make_member(session)  # Monday to Friday, as every member unless they chose
        customer_with(session, owner, birthday_month=3, birthday_day=1)
        assert plan_nudges(session, now=NOW, rules=RULES) == 1
        [row] = nudges_of(session, owner)
        assert row.due_at == datetime(2031, 3, 3, 9, 0, tzinfo=SH)
        claimed = claim_deliverable(
            session, now=NOW, worker="w", limit=10, lease=timedelta(minutes=5), rules=RULES
        )
        assert (claimed.views, claimed.held_back) == ([], 0)

    db.run_sync(scenario)


def test_a_nudge_due_on_a_weekend_is_held_to_monday_but_a_follow_up_for_that_day_goes(
    db: Database,
) -> None:
    saturday_noon = datetime(2031, 3, 1, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai

    def scenario(session: Session) -> None:
        owner = make_member(session)
        customer_with(session, owner, category="loyal", last_contact_at=NOW - timedelta(days=40))
        plan_nudges(session, now=saturday_noon, rules=RULES)
        nudge = nudges_of(session, owner)[0]
        nudge.due_at = saturday_noon  # planned before the member's days were known, say
        day_only = create_follow_up(
            session,
            actor=owner,
            due_at=saturday_noon,
            text="Visit the fair",
            customer_id=None,
            exact_time=False,
        )
        session.flush()
        claimed = claim_deliverable(
            session,
            now=saturday_noon,
            worker="w",
            limit=10,
            lease=timedelta(minutes=5),
            rules=RULES,
        )
        assert [v.id for v in claimed.views] == [day_only.id]
        assert claimed.held_back == 1
        session.refresh(nudge)
        assert nudge.due_at == datetime(2031, 3, 3, 9, 0, tzinfo=SH)

    db.run_sync(scenario)


def test_birthday_feb_29_is_planned_on_feb_28_in_a_common_year(db: Database) -> None:
    feb_28 = datetime(2031, 2, 28, 0, 30, tzinfo=UTC)

    def scenario(session: Session) -> None:
        owner = make_member(session)
        customer_with(session, owner, birthday_month=2, birthday_day=29, birthday_year=1996)
        assert plan_nudges(session, now=feb_28, rules=RULES) == 1
        [row] = nudges_of(session, owner)
        assert row.due_at == datetime(2031, 2, 28, 9, 0, tzinfo=SH)

    db.run_sync(scenario)


def test_birthday_days_ahead_is_announced_early_keyed_by_the_birthday_year(db: Database) -> None:
    rules = NudgeRules(**{**RULES.__dict__, "birthday_days_ahead": 3})
    dec_30 = datetime(2031, 12, 30, 0, 0, tzinfo=UTC)

    def scenario(session: Session) -> None:
        owner = make_member(session)
        customer = customer_with(session, owner, birthday_month=1, birthday_day=2)
        assert plan_nudges(session, now=dec_30, rules=rules) == 1
        [row] = nudges_of(session, owner)
        assert row.dedupe_key == f"birthday:{customer.id}:2032"
        assert row.due_at == datetime(2031, 12, 30, 9, 0, tzinfo=SH)

    db.run_sync(scenario)


def test_birthday_in_owner_timezone_and_check_time_before_work_waits(db: Database) -> None:
    rules = NudgeRules(**{**RULES.__dict__, "birthday_check_time": time(7)})

    def scenario(session: Session) -> None:
        owner = make_member(session)
        owner.timezone = "America/New_York"
        # 1 March 02:00 UTC is still 28 February in New York: tomorrow's birthday waits.
        customer_with(session, owner, birthday_month=3, birthday_day=1)
        assert plan_nudges(session, now=NOW, rules=rules) == 0
        customer_with(session, owner, birthday_month=2, birthday_day=28)
        assert plan_nudges(session, now=NOW, rules=rules) == 1
        [row] = nudges_of(session, owner)
        assert row.due_at == datetime(2031, 2, 28, 9, 0, tzinfo=NY)  # 07:00 is before work

    db.run_sync(scenario)


def test_stale_customer_is_nudged_once_per_cadence_period(db: Database) -> None:
    def scenario(session: Session) -> None:
        owner = make_member(session)
        stale = customer_with(
            session, owner, category="loyal", last_contact_at=NOW - timedelta(days=31)
        )
        customer_with(session, owner, category="existing", last_contact_at=NOW - timedelta(days=5))
        customer_with(session, owner, category=None, last_contact_at=NOW - timedelta(days=400))
        assert plan_nudges(session, now=NOW, rules=RULES) == 1
        assert plan_nudges(session, now=NOW + timedelta(days=20), rules=RULES) == 0
        assert plan_nudges(session, now=NOW + timedelta(days=29), rules=RULES) == 1
        first, second = nudges_of(session, owner)
        assert first.kind == "stay_in_touch"
        assert first.customer_id == second.customer_id == stale.id
        assert first.dedupe_key != second.dedupe_key

    db.run_sync(scenario)


def test_customer_cadence_overrides_the_category(db: Database) -> None:
    def scenario(session: Session) -> None:
        owner = make_member(session)
        customer_with(
            session,
            owner,
            category="existing",
            contact_cadence_days=7,
            last_contact_at=NOW - timedelta(days=8),
        )
        assert plan_nudges(session, now=NOW, rules=RULES) == 1

    db.run_sync(scenario)


def test_contact_logged_before_delivery_drops_the_nudge(db: Database) -> None:
    def scenario(session: Session) -> None:
        owner = make_member(session)
        customer = customer_with(
            session, owner, category="loyal", last_contact_at=NOW - timedelta(days=40)
        )
        plan_nudges(session, now=NOW, rules=RULES)
        assert customer.id is not None
        data = InteractionCreate(customer.id, "call", NOW - timedelta(hours=1), "Caught up")
        create_interaction(session, actor=owner, data=data)
        claimed = claim_deliverable(
            session, now=NOW, worker="w", limit=10, lease=timedelta(minutes=5), rules=RULES
        )
        assert (claimed.views, claimed.held_back) == ([], 1)
        [row] = nudges_of(session, owner)
        assert row.status == "done"

    db.run_sync(scenario)


def test_claim_outside_working_hours_waits_but_exact_follow_up_goes(db: Database) -> None:
    night = datetime(2031, 3, 1, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai

    def scenario(session: Session) -> None:
        owner = make_member(session)
        customer_with(session, owner, category="loyal", last_contact_at=NOW - timedelta(days=40))
        plan_nudges(session, now=night, rules=RULES)
        exact = create_follow_up(
            session, actor=owner, due_at=night, text="Call", customer_id=None, exact_time=True
        )
        claimed = claim_deliverable(
            session, now=night, worker="w", limit=10, lease=timedelta(minutes=5), rules=RULES
        )
        assert [v.id for v in claimed.views] == [exact.id]
        assert claimed.held_back == 1
        nudge = next(r for r in nudges_of(session, owner) if r.kind == "stay_in_touch")
        assert nudge.due_at == datetime(2031, 3, 3, 9, 0, tzinfo=SH)  # Sunday: Monday
        assert nudge.claimed_by is None

    db.run_sync(scenario)


def test_changing_timezone_and_hours_replans_unsent_nudges(db: Database) -> None:
    def scenario(session: Session) -> None:
        owner = make_member(session)
        customer_with(session, owner, birthday_month=3, birthday_day=1)
        plan_nudges(session, now=NOW, rules=RULES)
        assert owner.id is not None
        set_member_schedule(
            session,
            member_id=owner.id,
            rules=RULES,
            now=NOW,
            timezone="Asia/Tokyo",
            hours=WorkingHours(time(10), time(20)),
        )
        [row] = nudges_of(session, owner)
        assert (owner.timezone, owner.work_start, owner.work_end) == (
            "Asia/Tokyo",
            "10:00",
            "20:00",
        )
        assert row.due_at == datetime(2031, 3, 3, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
        set_member_schedule(
            session, member_id=owner.id, rules=RULES, now=NOW, work_days=frozenset({5, 6})
        )
        [row] = nudges_of(session, owner)
        assert owner.work_days == "5,6"  # the weekend only: today, Saturday, at 10:00
        assert row.due_at == datetime(2031, 3, 1, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))

    db.run_sync(scenario)


def test_nudges_worked_out_apart_from_their_write_are_made_once(db: Database) -> None:
    """The scheduler reads what is wanted, then writes: another instance may have written the
    same nudges in between, and an instance may write twice."""

    def setup(session: Session) -> int:
        owner = make_member(session)
        customer_with(session, owner, birthday_month=3, birthday_day=1)
        customer_with(session, owner, birthday_month=3, birthday_day=1)
        assert owner.id is not None
        return owner.id

    owner_id = db.run_sync(setup)
    wanted = db.read_sync(wanted_nudges, now=NOW, rules=RULES)
    assert len(wanted) == 2
    assert db.run_sync(create_nudges, wanted=wanted[:1]) == 1  # the other instance, first
    assert db.run_sync(create_nudges, wanted=wanted) == 1
    assert db.run_sync(create_nudges, wanted=wanted) == 0
    keys = db.read_sync(
        lambda session: sorted(
            session.scalars(select(Reminder.dedupe_key).where(col(Reminder.member_id) == owner_id))
        )
    )
    assert keys == sorted(w.key for w in wanted)
