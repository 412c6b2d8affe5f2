"""Tickets after entry: /tickets filtered by status and assignee (an assignee outside the
actor's scope refused), files added up to the limit, the note a request starts from, and
tickets interleaved in the customer's history by the ticket rule."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storage.access import NotFound
from storage.customer_changes import list_customer_history
from storage.db import Database
from storage.interactions import AttachmentRef, InteractionCreate, create_interaction
from storage.models import TicketStatus
from storage.ticket_views import list_open_tickets, list_ticket_files, note_for_ticket
from storage.tickets import TooManyFiles, add_files, move_ticket
from tests.factories import make_customer, pk
from tests.storage.test_access import make_team
from tests.storage.test_tickets import new_ticket, tid


def test_lists_filter_by_status_and_an_assignee_in_scope(db: Database) -> None:
    with db.session() as session:
        team = make_team(session)
        customer = make_customer(session, owner=team.sales_a)
        first = new_ticket(session, team.manager_a, customer)
        second = new_ticket(session, team.manager_a, customer, assignee_id=pk(team.manager_a))
        move_ticket(
            session, actor=team.manager_a, ticket_id=tid(second), status=TicketStatus.WAITING
        )

        def listed(**filters: object) -> list[int | None]:
            lines = list_open_tickets(session, actor=team.manager_a, **filters)  # type: ignore[arg-type]
            return [line.ticket.id for line in lines]

        assert listed(status=TicketStatus.WAITING) == [second.id]
        assert listed(status=TicketStatus.OPEN) == [first.id]
        assert listed(assignee_id=pk(team.sales_a)) == [first.id]
        assert listed(assignee_id=pk(team.manager_a), status=TicketStatus.OPEN) == []
        for forged in (pk(team.sales_b), pk(team.admin), 999_999):
            with pytest.raises(NotFound):
                listed(assignee_id=forged)
        with pytest.raises(NotFound):
            listed(status=TicketStatus.RESOLVED)
        # a salesperson may filter by themselves only
        assert [
            line.ticket.id
            for line in list_open_tickets(
                session, actor=team.sales_a, assignee_id=pk(team.sales_a)
            )
        ] == [first.id]
        with pytest.raises(NotFound):
            list_open_tickets(session, actor=team.sales_a, assignee_id=pk(team.manager_a))


def test_files_added_later_keep_to_the_limit(db: Database) -> None:
    with db.session() as session:
        team = make_team(session)
        ticket = new_ticket(session, team.sales_a, make_customer(session, owner=team.sales_a))
        refs = [AttachmentRef("photo", f"f{n}", f"u{n}") for n in range(3)]
        assert (
            add_files(session, actor=team.sales_a, ticket_id=tid(ticket), files=refs[:2], limit=3)
            == 2
        )
        with pytest.raises(TooManyFiles) as full:
            add_files(session, actor=team.sales_a, ticket_id=tid(ticket), files=refs[1:], limit=3)
        assert full.value.held == 2
        with pytest.raises(NotFound):
            add_files(session, actor=team.sales_b, ticket_id=tid(ticket), files=refs[2:])
        with pytest.raises(NotFound):
            list_ticket_files(session, actor=team.sales_b, ticket_id=tid(ticket))
        files = list_ticket_files(session, actor=team.manager_a, ticket_id=tid(ticket))
    assert [f.telegram_file_id for f in files] == ["f0", "f1"]


def test_a_request_starts_from_a_note_its_member_may_see(db: Database) -> None:
    with db.session() as session:
        team = make_team(session)
        customer = make_customer(session, owner=team.sales_a)
        note = create_interaction(
            session,
            actor=team.sales_a,
            data=InteractionCreate(
                customer_id=pk(customer),
                kind="visit",
                happened_at=datetime(2026, 12, 1, 9, tzinfo=UTC),
                summary="pump leaks again",
            ),
        )
        found, owner = note_for_ticket(session, actor=team.manager_a, note_id=pk(note))
        assert (found.summary, owner.id) == ("pump leaks again", customer.id)
        for stranger in (team.sales_b, team.manager_b):
            with pytest.raises(NotFound):
                note_for_ticket(session, actor=stranger, note_id=pk(note))


def test_history_interleaves_the_tickets_the_reader_may_reach(db: Database) -> None:
    with db.session() as session:
        team = make_team(session)
        customer = make_customer(session, owner=team.sales_a)
        ticket = new_ticket(session, team.sales_a, customer)
        move_ticket(
            session, actor=team.sales_a, ticket_id=tid(ticket), status=TicketStatus.IN_PROGRESS
        )
        entries = list_customer_history(
            session, actor=team.manager_a, customer_id=pk(customer), limit=20
        )
    assert [(e.entity_type, e.action) for e in entries if e.entity_type == "ticket"] == [
        ("ticket", "update"),
        ("ticket", "create"),
    ]
    assert [e.at for e in entries] == sorted((e.at for e in entries), reverse=True)
