"""A note with its follow-up, and a quick log's customer, note and deal, in one transaction."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import func, select

from storage.access import NotFound
from storage.customers import CustomerCreate
from storage.db import Database
from storage.deals import DealCreate
from storage.interactions import InteractionCreate
from storage.models import Customer, Interaction, Member, utcnow
from storage.notes import FollowUp, create_logged_note, create_note
from tests.factories import make_customer, make_member, pk


def a_customer(db: Database) -> tuple[Member, Customer]:
    with db.session() as session:
        owner = make_member(session)
        return owner, make_customer(session, owner=owner)


def a_note(customer_id: int) -> InteractionCreate:
    return InteractionCreate(
        customer_id=customer_id, kind="call", happened_at=utcnow(), summary="asked for a quote"
    )


def test_create_note_without_follow_up_schedules_nothing(db: Database) -> None:
    owner, customer = a_customer(db)
    saved = db.run_sync(create_note, actor=owner, data=a_note(pk(customer)), follow_up=None)
    assert saved.interaction.summary == "asked for a quote"
    assert saved.follow_up is None


def test_create_note_schedules_its_follow_up(db: Database) -> None:
    owner, customer = a_customer(db)
    due = utcnow() + timedelta(days=2)
    saved = db.run_sync(
        create_note, actor=owner, data=a_note(pk(customer)), follow_up=FollowUp(due, True)
    )
    assert saved.follow_up is not None
    assert (saved.follow_up.customer_id, saved.follow_up.text) == (
        pk(customer),
        "asked for a quote",
    )
    assert saved.follow_up.due_at == due


def test_create_note_for_someone_elses_customer_saves_nothing(db: Database) -> None:
    _, customer = a_customer(db)
    with db.session() as session:
        stranger = make_member(session)
    with pytest.raises(NotFound):
        db.run_sync(create_note, actor=stranger, data=a_note(pk(customer)), follow_up=None)
    assert db.read_sync(lambda s: s.scalar(select(func.count()).select_from(Interaction))) == 0


def test_create_logged_note_creates_the_customer_and_a_deal_for_it(db: Database) -> None:
    with db.session() as session:
        owner = make_member(session)
    deal = DealCreate(
        customer_id=0, title="quote", stage="lead", amount=Decimal(5), currency="CNY"
    )
    saved = db.run_sync(
        create_logged_note,
        actor=owner,
        customer=CustomerCreate(name="Zhou Min"),
        note=a_note(0),
        follow_up=None,
        deal=deal,
    )
    assert saved.new_customer is not None
    assert saved.deal is not None
    customer_id = saved.new_customer.id
    assert (saved.note.interaction.customer_id, saved.deal.customer_id) == (
        customer_id,
        customer_id,
    )


def test_create_logged_note_for_an_existing_customer_adds_no_customer(db: Database) -> None:
    owner, customer = a_customer(db)
    saved = db.run_sync(
        create_logged_note,
        actor=owner,
        customer=pk(customer),
        note=a_note(0),
        follow_up=FollowUp(utcnow() + timedelta(days=1), False),
        deal=None,
    )
    assert (saved.new_customer, saved.deal) == (None, None)
    assert saved.note.interaction.customer_id == pk(customer)
    assert saved.note.follow_up is not None
    assert saved.note.follow_up.customer_id == pk(customer)
