"""Follow-ups: personal, deduplicated by key, finished and snoozed only by their member."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import Session, func, select

from storage import reminders
from storage.access import NotAllowed, NotFound
from storage.agenda import get_agenda
from storage.audit import list_audit
from storage.db import Database
from storage.interactions import InteractionCreate, create_interaction
from storage.members import update_member
from storage.models import Member, Reminder, Role, utcnow
from storage.reminders import (
    ReminderKind,
    claim_deliveries,
    create_follow_up,
    list_pending_reminders,
    mark_done,
    page_reminder_views,
    snooze,
)
from tests.factories import make_customer, make_member


def follow_up(
    session: Session,
    actor: Member,
    *,
    due_in: timedelta = timedelta(days=1),
    customer_id: int | None = None,
    dedupe_key: str | None = None,
) -> Reminder:
    return create_follow_up(
        session,
        actor=actor,
        due_at=utcnow() + due_in,
        text="Call back about the quote",
        customer_id=customer_id,
        exact_time=True,
        dedupe_key=dedupe_key,
    )


def count_reminders(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Reminder)).one()


def test_create_follow_up_is_pending_and_audited(db: Database) -> None:
    with db.session() as session:
        sales = make_member(session)
        customer = make_customer(session, owner=sales)
        reminder = follow_up(session, sales, customer_id=customer.id)
        assert reminder.id is not None
        [entry] = list_audit(session, entity_type="reminder", entity_id=reminder.id)
    assert (reminder.kind, reminder.status) == (ReminderKind.FOLLOW_UP, "pending")
    assert (reminder.member_id, reminder.created_by_id) == (sales.id, sales.id)
    assert reminder.customer_id == customer.id
    assert entry.action == "create"
    assert entry.changes["due_at"] == [None, reminder.due_at.isoformat()]


def test_create_follow_up_for_other_salespersons_customer_is_not_found(db: Database) -> None:
    with db.session() as session:
        sales = make_member(session)
        customer = make_customer(session, owner=make_member(session))
        with pytest.raises(NotFound):
            follow_up(session, sales, customer_id=customer.id)


def test_create_follow_up_by_manager_for_team_customer(db: Database) -> None:
    with db.session() as session:
        manager = make_member(session, role=Role.MANAGER)
        customer = make_customer(session, owner=make_member(session, manager=manager))
        reminder = follow_up(session, manager, customer_id=customer.id)
    assert reminder.member_id == manager.id


def test_create_follow_up_with_naive_time_is_refused(db: Database) -> None:
    with db.session() as session:
        sales = make_member(session)
        with pytest.raises(ValueError, match="aware"):
            create_follow_up(
                session,
                actor=sales,
                due_at=datetime(2030, 1, 1, 9),  # noqa: DTZ001 (the naive input)
                text=None,
                customer_id=None,
                exact_time=False,
            )


def test_create_follow_up_with_same_dedupe_key_returns_existing(db: Database) -> None:
    with db.session() as session:
        sales = make_member(session)
        first = follow_up(session, sales, dedupe_key="update:42")
    with db.session() as session:
        again = follow_up(session, sales, due_in=timedelta(days=5), dedupe_key="update:42")
        assert again.id == first.id
        assert again.due_at == first.due_at
        assert count_reminders(session) == 1
        assert first.id is not None
        assert len(list_audit(session, entity_type="reminder", entity_id=first.id)) == 1


def _at_same_time(session: Session, actor: Member, due_at: datetime, **kw: object) -> Reminder:
    values: dict = {"text": "Call back about the quote", "customer_id": None, "dedupe_key": None}
    values.update(kw)
    return create_follow_up(session, actor=actor, due_at=due_at, exact_time=True, **values)


def test_create_follow_up_identical_to_an_open_one_returns_it(db: Database) -> None:
    """The note flow and /log (different keys), or one entry typed twice, ring once."""
    due_at = utcnow() + timedelta(days=2)
    with db.session() as session:
        sales = make_member(session)
        customer = make_customer(session, owner=sales)
        first = _at_same_time(session, sales, due_at, customer_id=customer.id, dedupe_key="a")
    with db.session() as session:
        again = _at_same_time(session, sales, due_at, customer_id=customer.id, dedupe_key="b")
        typed = _at_same_time(session, sales, due_at, customer_id=customer.id)
        assert again.id == typed.id == first.id
        assert count_reminders(session) == 1
        assert first.id is not None
        assert len(list_audit(session, entity_type="reminder", entity_id=first.id)) == 1


def test_create_follow_up_differing_in_anything_is_a_new_one(db: Database) -> None:
    due_at = utcnow() + timedelta(days=2)
    with db.session() as session:
        sales = make_member(session)
        customer = make_customer(session, owner=sales)
        first = _at_same_time(session, sales, due_at, customer_id=customer.id)
        others = [
            _at_same_time(session, sales, due_at + timedelta(minutes=1), customer_id=customer.id),
            _at_same_time(session, sales, due_at, customer_id=customer.id, text="Send the quote"),
            _at_same_time(session, sales, due_at),
            _at_same_time(session, make_member(session), due_at),
        ]
        assert len({first.id, *(r.id for r in others)}) == 5


def test_create_follow_up_identical_to_a_done_one_is_a_new_one(db: Database) -> None:
    due_at = utcnow() + timedelta(days=2)
    with db.session() as session:
        sales = make_member(session)
        first = _at_same_time(session, sales, due_at, text=None)
        assert first.id is not None
        mark_done(session, actor=sales, reminder_id=first.id)
        again = _at_same_time(session, sales, due_at, text=None)
        assert again.id != first.id
        assert _at_same_time(session, sales, due_at, text=None).id == again.id


def test_create_follow_up_losing_an_insert_race_returns_the_winner(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another transaction inserted the key between our check and our insert."""
    with db.session() as session:
        sales = make_member(session)
        winner = follow_up(session, sales, dedupe_key="update:7")
    real_lookup = reminders._by_dedupe_key
    lookups: list[str] = []

    def misses_first_time(session: Session, actor: Member, key: str) -> Reminder | None:
        lookups.append(key)
        return None if len(lookups) == 1 else real_lookup(session, actor, key)

    monkeypatch.setattr(reminders, "_by_dedupe_key", misses_first_time)
    with db.session() as session:
        loser = follow_up(session, sales, dedupe_key="update:7")
        # The savepoint kept the transaction usable after the unique violation.
        assert count_reminders(session) == 1
    assert loser.id == winner.id
    assert lookups == ["update:7", "update:7"]


def test_create_follow_up_with_another_members_dedupe_key_is_refused(db: Database) -> None:
    with db.session() as session:
        follow_up(session, make_member(session), dedupe_key="shared")
        with pytest.raises(NotAllowed):
            follow_up(session, make_member(session), dedupe_key="shared")


def test_list_pending_reminders_own_pending_soonest_first(db: Database) -> None:
    with db.session() as session:
        manager = make_member(session, role=Role.MANAGER)
        sales = make_member(session, manager=manager)
        later = follow_up(session, sales, due_in=timedelta(days=3))
        sooner = follow_up(session, sales, due_in=timedelta(hours=2))
        finished = follow_up(session, sales, due_in=timedelta(hours=1))
        assert finished.id is not None
        mark_done(session, actor=sales, reminder_id=finished.id)
        follow_up(session, manager)
        pending = list_pending_reminders(session, actor=sales)
    assert [r.id for r in pending] == [sooner.id, later.id]


def test_mark_done_sets_done_at_and_audits(db: Database) -> None:
    with db.session() as session:
        sales = make_member(session)
        reminder = follow_up(session, sales)
        assert reminder.id is not None
        mark_done(session, actor=sales, reminder_id=reminder.id)
        mark_done(session, actor=sales, reminder_id=reminder.id)
        [update, _create] = list_audit(session, entity_type="reminder", entity_id=reminder.id)
    assert reminder.status == "done"
    assert reminder.done_at is not None
    assert update.action == "update"
    assert update.changes["status"] == ["pending", "done"]
    assert update.changes["done_at"] == [None, reminder.done_at.isoformat()]


def test_snooze_moves_due_time_and_reopens(db: Database) -> None:
    until = utcnow() + timedelta(days=2)
    with db.session() as session:
        sales = make_member(session)
        reminder = follow_up(session, sales, due_in=timedelta(minutes=5))
        assert reminder.id is not None
        old_due = reminder.due_at
        mark_done(session, actor=sales, reminder_id=reminder.id)
        reminder.attempts, reminder.claimed_by = 2, "worker-1"
        snooze(session, actor=sales, reminder_id=reminder.id, until=until)
        [snoozed, _done, _create] = list_audit(
            session, entity_type="reminder", entity_id=reminder.id
        )
    assert (reminder.status, reminder.due_at, reminder.done_at) == ("pending", until, None)
    assert (reminder.attempts, reminder.claimed_by) == (0, None)
    assert snoozed.changes["due_at"] == [old_due.isoformat(), until.isoformat()]
    assert snoozed.changes["status"] == ["done", "pending"]


def test_mark_done_of_others_is_not_found_even_for_their_manager(db: Database) -> None:
    with db.session() as session:
        manager = make_member(session, role=Role.MANAGER)
        reminder = follow_up(session, make_member(session, manager=manager))
        assert reminder.id is not None
        for actor in (manager, make_member(session)):
            with pytest.raises(NotFound):
                mark_done(session, actor=actor, reminder_id=reminder.id)
        audit = list_audit(session, entity_type="reminder", entity_id=reminder.id)
    assert reminder.status == "pending"
    assert [entry.action for entry in audit] == ["create"]


def test_snooze_of_others_is_not_found_even_for_their_manager(db: Database) -> None:
    with db.session() as session:
        manager = make_member(session, role=Role.MANAGER)
        reminder = follow_up(session, make_member(session, manager=manager))
        assert reminder.id is not None
        due_at = reminder.due_at
        for actor in (manager, make_member(session)):
            with pytest.raises(NotFound):
                snooze(session, actor=actor, reminder_id=reminder.id, until=utcnow())
        audit = list_audit(session, entity_type="reminder", entity_id=reminder.id)
    assert reminder.due_at == due_at
    assert [entry.action for entry in audit] == ["create"]


def test_reminder_text_leaves_out_a_customer_its_member_no_longer_sees(db: Database) -> None:
    """A manager's reminder about a salesperson's customer, after the salesperson moved to
    another team: the list, the delivery and the agenda keep the reminder's own text but show
    neither the customer's name nor its last note."""
    with db.session() as session:
        admin = make_member(session, role=Role.ADMIN)
        manager, other_manager = (make_member(session, role=Role.MANAGER) for _ in range(2))
        sales = make_member(session, manager=manager)
        customer = make_customer(session, owner=sales, name="Moved Along")
        assert customer.id is not None
        data = InteractionCreate(customer.id, "call", utcnow(), summary="SECRET price")
        create_interaction(session, actor=sales, data=data)
        follow_up(session, manager, due_in=timedelta(minutes=-1), customer_id=customer.id)
        assert page_reminder_views(session, actor=manager).items[0].customer_name == "Moved Along"
        update_member(session, actor=admin, member_id=sales.id or 0, manager_id=other_manager.id)
        [listed] = page_reminder_views(session, actor=manager).items
        [claimed] = claim_deliveries(
            session, now=utcnow(), worker="w", limit=10, lease=timedelta(minutes=5)
        )
        today = utcnow().date()
        agenda = get_agenda(
            session, actor=manager, first=today, last=today, until=utcnow() + timedelta(days=1)
        )
    for view in (listed, claimed):
        assert (view.customer_name, view.last_note) == (None, None)
        assert view.reminder.text == "Call back about the quote"
    assert [(i.text, i.customer_name) for i in agenda.follow_ups] == [
        ("Call back about the quote", None)
    ]
