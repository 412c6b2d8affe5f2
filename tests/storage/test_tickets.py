"""Tickets: numbers, SLA due times, status moves and reopen, comments and files, the access
rule (the deal's, plus the assignee), assignment, reminders, satisfaction, hand-over, soft
delete and restore."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from storage.access import NotFound, require_customer, require_ticket
from storage.audit import list_audit
from storage.customer_card import read_customer_card
from storage.customer_changes import archive_customer, merge_customers, reassign_customer
from storage.db import Database
from storage.interactions import AttachmentRef
from storage.models import (
    Attachment,
    Customer,
    Member,
    Reminder,
    Role,
    Ticket,
    TicketStatus,
    utcnow,
)
from storage.orders import OrderCreate, OrderLineCreate, create_order
from storage.ticket_notices import assignment_notices
from storage.ticket_views import customer_tickets, get_ticket_view, list_open_tickets
from storage.tickets import (
    Priority,
    TicketCreate,
    TransitionRefused,
    add_comment,
    add_files,
    archive_ticket,
    assignable_members,
    create_ticket,
    due_by_sla,
    edit_ticket,
    move_ticket,
    reassign_ticket,
    record_satisfaction,
    reopen_ticket,
    restore_ticket,
)
from tests.factories import make_customer, make_member, pk
from tests.storage.test_access import make_team

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


def data(customer: Customer, **values: Any) -> TicketCreate:
    base = TicketCreate(
        customer_id=pk(customer),
        type="complaint",
        priority=Priority.NORMAL,
        description="3 units broken",
        due_at=utcnow() + timedelta(days=3),
    )
    return replace(base, **values)


def new_ticket(session: Session, actor: Member, customer: Customer, **values: Any) -> Ticket:
    return create_ticket(session, actor=actor, data=data(customer, **values))


def tid(ticket: Ticket) -> int:
    assert ticket.id is not None
    return ticket.id


def reminders_of(session: Session, ticket: Ticket) -> list[Reminder]:
    session.expire_all()
    return list(
        session.exec(
            select(Reminder)
            .where(col(Reminder.ticket_id) == tid(ticket))
            .order_by(col(Reminder.due_at))
        )
    )


def test_create_ticket_numbers_assigns_owner_and_audits(db: Database) -> None:
    with db.session() as session:
        sales = make_member(session)
        customer = make_customer(session, owner=sales)
        first = new_ticket(session, sales, customer)
        second = new_ticket(session, sales, customer, files=(AttachmentRef("photo", "f1", "u1"),))
        view = get_ticket_view(session, actor=sales, ticket_id=tid(second))
        [entry] = list_audit(session, entity_type="ticket", entity_id=tid(first))
    year = utcnow().year
    assert (first.number, second.number) == (f"GD-{year}-0001", f"GD-{year}-0002")
    assert (first.owner_id, first.assignee_id, first.status) == (sales.id, sales.id, "open")
    assert view.files == 1
    assert [(e.from_status, e.to_status) for e in view.history] == [(None, "open")]
    assert entry.action == "create"
    assert entry.changes["priority"] == [None, "normal"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"description": "  "}, "description"),
        ({"files": tuple(AttachmentRef("photo", str(i), str(i)) for i in range(51))}, "files"),
        ({"due_at": datetime(2026, 12, 7, 3, 0)}, "timezone"),  # noqa: DTZ001 (naive on purpose)
    ],
)
def test_ticket_data_refuses_what_makes_no_ticket(values: dict[str, Any], message: str) -> None:
    base = TicketCreate(1, "question", Priority.LOW, "x", NOW)
    with pytest.raises(ValueError, match=message):
        replace(base, **values)


def test_create_ticket_refuses_a_due_time_in_the_past(db: Database) -> None:
    with db.session() as session:
        sales = make_member(session)
        customer = make_customer(session, owner=sales)
        with pytest.raises(ValueError, match="future"):
            new_ticket(session, sales, customer, due_at=utcnow() - timedelta(minutes=1))


def test_due_by_sla_uses_config_then_defaults() -> None:
    assert due_by_sla(Priority.URGENT, NOW, {}) == NOW + timedelta(hours=4)
    assert due_by_sla(Priority.LOW, NOW, {}) == NOW + timedelta(days=7)
    assert due_by_sla(Priority.HIGH, NOW, {"high": timedelta(hours=2)}) == NOW + timedelta(hours=2)


def test_statuses_move_and_refuse_and_reopen_with_reason(db: Database) -> None:
    with db.session() as session:
        sales = make_member(session)
        ticket = new_ticket(session, sales, make_customer(session, owner=sales))
        for status in (TicketStatus.IN_PROGRESS, TicketStatus.WAITING, TicketStatus.RESOLVED):
            move_ticket(session, actor=sales, ticket_id=tid(ticket), status=status)
        with pytest.raises(TransitionRefused):
            move_ticket(session, actor=sales, ticket_id=tid(ticket), status=TicketStatus.WAITING)
        move_ticket(session, actor=sales, ticket_id=tid(ticket), status=TicketStatus.RESOLVED)
        move_ticket(session, actor=sales, ticket_id=tid(ticket), status=TicketStatus.CLOSED)
        with pytest.raises(ValueError, match="reason"):
            reopen_ticket(session, actor=sales, ticket_id=tid(ticket), reason=" ")
        reopen_ticket(session, actor=sales, ticket_id=tid(ticket), reason="broke again")
        with pytest.raises(TransitionRefused):
            reopen_ticket(session, actor=sales, ticket_id=tid(ticket), reason="again")
        view = get_ticket_view(session, actor=sales, ticket_id=tid(ticket))
    assert [e.to_status for e in view.history] == [
        "open",
        "in_progress",
        "waiting",
        "resolved",
        "closed",
        "open",
    ]
    assert view.history[-1].text == "broke again"
    assert view.ticket.resolved_at is None


def test_comments_and_files_join_the_history(db: Database) -> None:
    with db.session() as session:
        sales = make_member(session)
        ticket = new_ticket(session, sales, make_customer(session, owner=sales))
        add_comment(session, actor=sales, ticket_id=tid(ticket), text="called back")
        with pytest.raises(ValueError, match="blank"):
            add_comment(session, actor=sales, ticket_id=tid(ticket), text=" ")
        files = add_files(
            session, actor=sales, ticket_id=tid(ticket), files=[AttachmentRef("doc", "a", "b")]
        )
        view = get_ticket_view(session, actor=sales, ticket_id=tid(ticket))
    assert files == 1
    assert [(e.to_status, e.text) for e in view.history] == [("open", None), (None, "called back")]


# --- the access rule --------------------------------------------------------------------------


def test_ticket_follows_the_deal_rule(db: Database) -> None:
    with db.session() as session:
        team = make_team(session)
        ticket = new_ticket(session, team.sales_a, make_customer(session, owner=team.sales_a))
        for actor in (team.sales_a, team.manager_a, team.admin):
            assert require_ticket(session, actor=actor, ticket_id=tid(ticket)).id == ticket.id
        for actor in (team.sales_b, team.manager_b, team.loner):
            with pytest.raises(NotFound):
                require_ticket(session, actor=actor, ticket_id=tid(ticket))


def test_assignee_outside_the_team_sees_that_ticket_only(db: Database) -> None:
    with db.session() as session:
        team = make_team(session)
        customer = make_customer(session, owner=team.sales_a)
        theirs = new_ticket(session, team.admin, customer, assignee_id=pk(team.sales_b))
        other = new_ticket(session, team.sales_a, customer)
        assert require_ticket(session, actor=team.sales_b, ticket_id=tid(theirs)).id == theirs.id
        with pytest.raises(NotFound):
            require_ticket(session, actor=team.sales_b, ticket_id=tid(other))
        with pytest.raises(NotFound):
            require_customer(session, actor=team.sales_b, customer_id=pk(customer))
        listed = list_open_tickets(session, actor=team.sales_b)
        # The manager of the assignee does not see it through the assignee.
        with pytest.raises(NotFound):
            require_ticket(session, actor=team.manager_b, ticket_id=tid(theirs))
    assert [line.ticket.id for line in listed] == [theirs.id]


def test_the_cards_open_count_holds_only_the_tickets_the_actor_may_see(db: Database) -> None:
    """The count is its own statement (built once per role): one left with another team's
    salesperson, and a deleted one, are not counted; the assignee outside the team gets the
    customer's NotFound, not a count."""
    with db.session() as session:
        team = make_team(session)
        customer = make_customer(session, owner=team.sales_a)
        new_ticket(session, team.sales_a, customer)
        left = new_ticket(session, team.admin, customer, assignee_id=pk(team.sales_b))
        left.owner_id = pk(team.sales_b)
        gone = new_ticket(session, team.sales_a, customer)
        archive_ticket(session, actor=team.sales_a, ticket_id=tid(gone))
        session.flush()
        counts = [
            read_customer_card(session, actor=actor, customer_id=pk(customer)).tickets.open
            for actor in (team.sales_a, team.manager_a, team.admin)
        ]
        with pytest.raises(NotFound):
            read_customer_card(session, actor=team.sales_b, customer_id=pk(customer))
    assert counts == [1, 1, 2]


def test_deleted_ticket_or_customer_hides_the_ticket(db: Database) -> None:
    with db.session() as session:
        team = make_team(session)
        customer = make_customer(session, owner=team.sales_a)
        ticket = new_ticket(session, team.admin, customer, assignee_id=pk(team.sales_b))
        archive_customer(session, actor=team.admin, customer_id=pk(customer))
        for actor in (team.sales_a, team.sales_b, team.admin):
            with pytest.raises(NotFound):
                require_ticket(session, actor=actor, ticket_id=tid(ticket))


def test_who_may_be_assigned(db: Database) -> None:
    with db.session() as session:
        team = make_team(session)
        customer = make_customer(session, owner=team.sales_a)

        def names(actor: Member) -> set[int | None]:
            return {m.id for m in assignable_members(session, actor=actor, customer=customer)}

        assert names(team.sales_a) == {team.sales_a.id}
        assert names(team.manager_a) == {team.manager_a.id, team.sales_a.id}
        assert team.sales_b.id in names(team.admin)
        with pytest.raises(NotFound):
            new_ticket(session, team.sales_a, customer, assignee_id=pk(team.manager_a))
        with pytest.raises(NotFound):
            new_ticket(session, team.manager_a, customer, assignee_id=pk(team.sales_b))


# --- reminders, reassigning, satisfaction -----------------------------------------------------


def test_reminders_before_and_when_overdue_end_on_resolve(db: Database) -> None:
    with db.session() as session:
        sales = make_member(session)
        due = utcnow() + timedelta(hours=4)
        ticket = new_ticket(session, sales, make_customer(session, owner=sales), due_at=due)
        sales_id = pk(sales)
        planned = [(r.member_id, r.due_at, r.exact_time) for r in reminders_of(session, ticket)]
        move_ticket(session, actor=sales, ticket_id=tid(ticket), status=TicketStatus.RESOLVED)
        left = reminders_of(session, ticket)
    assert planned == [
        (sales_id, due - timedelta(days=3) / 4, False),
        (sales_id, due, False),
    ]
    assert left == []


def test_edit_changes_priority_due_and_description_and_remakes_reminders(db: Database) -> None:
    with db.session() as session:
        sales = make_member(session)
        ticket = new_ticket(session, sales, make_customer(session, owner=sales))
        due = utcnow() + timedelta(hours=8)
        edit_ticket(
            session,
            actor=sales,
            ticket_id=tid(ticket),
            priority=Priority.URGENT,
            due_at=due,
            description=" 5 units broken ",
        )
        planned = [r.due_at for r in reminders_of(session, ticket)]
        audit = list_audit(session, entity_type="ticket", entity_id=tid(ticket))
        with pytest.raises(ValueError, match="future"):
            edit_ticket(session, actor=sales, ticket_id=tid(ticket), due_at=utcnow())
        with pytest.raises(ValueError, match="description"):
            edit_ticket(session, actor=sales, ticket_id=tid(ticket), description="  ")
        same = edit_ticket(session, actor=sales, ticket_id=tid(ticket), priority=Priority.URGENT)
        unchanged = len(list_audit(session, entity_type="ticket", entity_id=tid(ticket)))
    assert (same.priority, same.description) == ("urgent", "5 units broken")
    assert planned == [due - timedelta(hours=4) / 4, due]
    assert set(audit[0].changes) == {"priority", "due_at", "description"}
    assert unchanged == len(audit)


def test_reassign_moves_reminders_and_returns_the_previous(db: Database) -> None:
    with db.session() as session:
        team = make_team(session)
        customer = make_customer(session, owner=team.sales_a)
        ticket = new_ticket(session, team.manager_a, customer)
        _, previous = reassign_ticket(
            session, actor=team.manager_a, ticket_id=tid(ticket), assignee_id=pk(team.manager_a)
        )
        members = {r.member_id for r in reminders_of(session, ticket)}
        with pytest.raises(NotFound):
            reassign_ticket(
                session, actor=team.manager_a, ticket_id=tid(ticket), assignee_id=pk(team.loner)
            )
    assert previous == team.sales_a.id
    assert members == {team.manager_a.id}


def test_satisfaction_after_resolve_and_average(db: Database) -> None:
    with db.session() as session:
        sales = make_member(session)
        customer = make_customer(session, owner=sales)
        one, two, three = (new_ticket(session, sales, customer) for _ in range(3))
        with pytest.raises(TransitionRefused):
            record_satisfaction(session, actor=sales, ticket_id=tid(one), score=5)
        for ticket in (one, two, three):
            move_ticket(session, actor=sales, ticket_id=tid(ticket), status=TicketStatus.RESOLVED)
        with pytest.raises(ValueError, match="1 to 5"):
            record_satisfaction(session, actor=sales, ticket_id=tid(one), score=6)
        record_satisfaction(session, actor=sales, ticket_id=tid(one), score=5, comment="fast")
        record_satisfaction(session, actor=sales, ticket_id=tid(two), score=2)
        record_satisfaction(session, actor=sales, ticket_id=tid(three), score=None)
        summary = customer_tickets(session, actor=sales, customer=customer)
    assert (one.satisfaction_comment, three.satisfaction_asked) == ("fast", False)
    assert (summary.open, summary.rated, summary.average) == (0, 2, 3.5)


# --- hand-over, delete, restore --------------------------------------------------------------


def test_reassigning_the_customer_hands_its_tickets_over(db: Database) -> None:
    with db.session() as session:
        team = make_team(session)
        customer = make_customer(session, owner=team.sales_a)
        mine = new_ticket(session, team.sales_a, customer)
        engineer = new_ticket(session, team.manager_a, customer, assignee_id=pk(team.manager_a))
        reassign_customer(
            session, actor=team.admin, customer_id=pk(customer), new_owner_id=pk(team.sales_b)
        )
        session.expire_all()
        with pytest.raises(NotFound):
            require_ticket(session, actor=team.sales_a, ticket_id=tid(mine))
        seen = require_ticket(session, actor=team.sales_b, ticket_id=tid(mine))
        kept = session.get_one(Ticket, tid(engineer))
        members = {r.member_id for r in reminders_of(session, mine)}
        b, manager = pk(team.sales_b), pk(team.manager_a)
        assert (seen.owner_id, seen.assignee_id) == (b, b)
        assert members == {b}
        assert (kept.owner_id, kept.assignee_id) == (b, manager)


def test_merge_moves_tickets_to_the_survivor(db: Database) -> None:
    with db.session() as session:
        team = make_team(session)
        survivor = make_customer(session, owner=team.sales_a)
        duplicate = make_customer(session, owner=team.manager_a)
        ticket = new_ticket(session, team.manager_a, duplicate)
        merge_customers(
            session, actor=team.manager_a, survivor_id=pk(survivor), duplicate_id=pk(duplicate)
        )
        session.expire_all()
        moved = session.get_one(Ticket, tid(ticket))
        expected = (pk(survivor), pk(team.sales_a), pk(team.sales_a))
        assert (moved.customer_id, moved.owner_id, moved.assignee_id) == expected


def test_delete_and_restore_by_admin_only(db: Database) -> None:
    with db.session() as session:
        team = make_team(session)
        ticket = new_ticket(session, team.sales_a, make_customer(session, owner=team.sales_a))
        archive_ticket(session, actor=team.sales_a, ticket_id=tid(ticket))
        assert reminders_of(session, ticket) == []
        with pytest.raises(NotFound):
            require_ticket(session, actor=team.sales_a, ticket_id=tid(ticket))
        with pytest.raises(NotFound):
            restore_ticket(session, actor=team.manager_a, ticket_id=tid(ticket))
        restore_ticket(session, actor=team.admin, ticket_id=tid(ticket))
        assert require_ticket(session, actor=team.sales_a, ticket_id=tid(ticket)).id == ticket.id
        assert len(reminders_of(session, ticket)) == 2
        files = session.exec(select(Attachment).where(col(Attachment.ticket_id) == tid(ticket)))
        assert list(files) == []


def test_a_related_order_is_one_of_the_customers(db: Database) -> None:
    """The order the ticket names is kept; another customer's, even the actor's own, is
    NotFound like a missing one."""
    with db.session() as session:
        sales = make_member(session)
        customer, other = make_customer(session, owner=sales), make_customer(session, owner=sales)
        ordered = [
            pk(create_order(session, actor=sales, data=OrderCreate(
                customer_id=pk(c), ordered_on=date(2026, 12, 1), lines=(OrderLineCreate("X2"),))))
            for c in (customer, other)
        ]  # fmt: skip
        kept = new_ticket(session, sales, customer, order_id=ordered[0])
        for order_id in (ordered[1], 10**6):
            with pytest.raises(NotFound):
                new_ticket(session, sales, customer, order_id=order_id)
    assert kept.order_id == ordered[0]


def test_every_change_is_audited(db: Database) -> None:
    """Create, status, comment, files, reassign, satisfaction, reopen, delete, restore: an
    audit entry each, naming what changed."""
    with db.session() as session:
        team = make_team(session)
        sales, manager = team.sales_a, team.manager_a
        ticket = new_ticket(session, sales, make_customer(session, owner=sales))
        move_ticket(session, actor=sales, ticket_id=tid(ticket), status=TicketStatus.IN_PROGRESS)
        add_comment(session, actor=sales, ticket_id=tid(ticket), text="parts ordered")
        add_files(session, actor=sales, ticket_id=tid(ticket),
                  files=[AttachmentRef("photo", "f1", "u1")])  # fmt: skip
        reassign_ticket(session, actor=manager, ticket_id=tid(ticket), assignee_id=pk(manager))
        move_ticket(session, actor=manager, ticket_id=tid(ticket), status=TicketStatus.RESOLVED)
        record_satisfaction(session, actor=manager, ticket_id=tid(ticket), score=4)
        reopen_ticket(session, actor=manager, ticket_id=tid(ticket), reason="leaks again")
        archive_ticket(session, actor=manager, ticket_id=tid(ticket))
        restore_ticket(session, actor=team.admin, ticket_id=tid(ticket))
        entries = list_audit(session, entity_type="ticket", entity_id=tid(ticket))
    made = [(e.action, sorted(e.changes), e.actor_id) for e in reversed(entries)]
    assert [(action, keys) for action, keys, _ in made[1:]] == [
        ("update", ["status"]),
        ("comment", ["comment"]),
        ("update", ["files"]),
        ("update", ["assignee_id"]),
        ("update", ["status"]),
        ("update", ["score"]),
        ("update", ["due_at", "status"]),  # a reopen: a new due time by the SLA
        ("delete", ["deleted_at"]),
        ("restore", ["deleted_at"]),
    ]
    assert [actor for *_, actor in made] == [pk(sales)] * 4 + [pk(manager)] * 5 + [pk(team.admin)]


def test_an_urgent_ticket_tells_the_owners_manager_or_else_the_admins(db: Database) -> None:
    """The manager of a team; for a salesperson on no team, every active admin (never the
    actor, nor an inactive admin), so an urgent ticket is not heard by its assignee alone."""
    with db.session() as session:
        team = make_team(session)
        other_admin = make_member(session, role=Role.ADMIN)
        make_member(session, role=Role.ADMIN, active=False)

        def told(owner: Member) -> list[tuple[int | None, str]]:
            made = new_ticket(session, owner, make_customer(session, owner=owner),
                              priority=Priority.URGENT)  # fmt: skip
            notices = assignment_notices(
                session, actor=owner, ticket_id=tid(made), previous_id=None
            )
            return [(n.member.id, n.what) for n in notices]

        in_team, alone = told(team.sales_a), told(team.loner)
    assert in_team == [(team.manager_a.id, "urgent")]
    assert alone == [(team.admin.id, "urgent"), (other_admin.id, "urgent")]
