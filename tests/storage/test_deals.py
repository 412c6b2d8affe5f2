"""Deals: who may open them, who owns them, and how stage moves are kept and audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, col, select

from storage.access import NotFound
from storage.audit import list_audit
from storage.db import Database
from storage.deals import (
    DealClosed,
    DealCreate,
    UnknownStage,
    change_stage,
    create_deal,
    get_deal,
    list_open_deals,
    list_stage_changes,
    list_stage_moves,
    reopen_deal,
)
from storage.models import Customer, Deal, DealStageChange, Member, Role, utcnow
from tests.factories import last_contact_of, make_customer, make_member

STAGES = ("lead", "qualified", "proposal", "won", "lost")


@dataclass
class People:
    """A manager with one salesperson, and a salesperson on another team."""

    manager: Member
    sales: Member
    other_sales: Member


def make_people(session: Session) -> People:
    manager = make_member(session, role=Role.MANAGER)
    other_manager = make_member(session, role=Role.MANAGER)
    return People(
        manager=manager,
        sales=make_member(session, manager=manager),
        other_sales=make_member(session, manager=other_manager),
    )


def new_deal(session: Session, actor: Member, customer: Customer, stage: str = "lead") -> Deal:
    assert customer.id is not None
    data = DealCreate(
        customer_id=customer.id,
        title="Forklifts",
        stage=stage,
        amount=Decimal("12000.50"),
        currency="CNY",
        expected_close_date=date(2030, 3, 15),
        probability=40,
    )
    return create_deal(session, actor=actor, data=data)


def owned_deal(session: Session, owner: Member, stage: str = "lead") -> tuple[Deal, int]:
    """A deal `owner` made for a customer of their own, and its id."""
    deal = new_deal(session, owner, make_customer(session, owner=owner), stage)
    assert deal.id is not None
    return deal, deal.id


def to_stage(
    session: Session, actor: Member, deal_id: int, stage: str, reason: str | None = None
) -> Deal:
    """`change_stage` through the configured stages."""
    return change_stage(
        session, actor=actor, deal_id=deal_id, stage=stage, reason=reason, stages=STAGES
    )


def test_create_deal_records_initial_stage_and_audit(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        deal, deal_id = owned_deal(session, people.sales)
        changes = list_stage_changes(session, actor=people.sales, deal_id=deal_id)
        [entry] = list_audit(session, entity_type="deal", entity_id=deal_id)
    assert deal.owner_id == people.sales.id
    assert deal.closed_at is None
    assert [(c.from_stage, c.to_stage, c.changed_by_id) for c in changes] == [
        (None, "lead", people.sales.id)
    ]
    assert entry.action == "create"
    assert entry.actor_id == people.sales.id
    assert entry.changes["amount"] == [None, "12000.50"]
    assert entry.changes["expected_close_date"] == [None, "2030-03-15"]
    assert entry.changes["stage"] == [None, "lead"]


def test_create_deal_stores_amount_exactly(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        deal_id = new_deal(session, people.sales, make_customer(session, owner=people.sales)).id
    with db.session() as session:
        deal = session.get_one(Deal, deal_id)
        assert deal.amount == Decimal("12000.50")
        assert deal.expected_close_date == date(2030, 3, 15)


def test_create_deal_for_other_salespersons_customer_is_not_found(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer = make_customer(session, owner=people.other_sales)
        with pytest.raises(NotFound):
            new_deal(session, people.sales, customer)


def test_create_deal_for_deleted_customer_is_not_found(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer = make_customer(session, owner=people.sales, deleted=True)
        with pytest.raises(NotFound):
            new_deal(session, people.sales, customer)


def test_create_deal_by_manager_for_team_customer_belongs_to_salesperson(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        deal = new_deal(session, people.manager, make_customer(session, owner=people.sales))
    assert deal.owner_id == people.sales.id
    assert deal.created_by_id == people.manager.id


def test_create_deal_by_manager_for_other_team_customer_is_not_found(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer = make_customer(session, owner=people.other_sales)
        with pytest.raises(NotFound):
            new_deal(session, people.manager, customer)


def test_create_deal_with_amount_but_no_currency_is_refused() -> None:
    with pytest.raises(ValueError, match="currency"):
        DealCreate(customer_id=1, title="x", stage="lead", amount=Decimal(5))


def test_change_stage_records_history_and_audit(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        deal, deal_id = owned_deal(session, people.sales)
        to_stage(session, people.manager, deal_id, "proposal", "sent quote")
        changes = list_stage_changes(session, actor=people.sales, deal_id=deal_id)
        [update, _create] = list_audit(session, entity_type="deal", entity_id=deal_id)
    assert deal.stage == "proposal"
    assert deal.updated_by_id == people.manager.id
    assert [(c.from_stage, c.to_stage, c.reason) for c in changes] == [
        (None, "lead", None),
        ("lead", "proposal", "sent quote"),
    ]
    assert changes[1].changed_by_id == people.manager.id
    assert changes[1].changed_at.tzinfo is not None
    assert update.action == "update"
    assert update.actor_id == people.manager.id
    assert update.changes == {"stage": ["lead", "proposal"]}


def test_change_stage_to_won_sets_closed_at_and_reason(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        deal, deal_id = owned_deal(session, people.sales)
        before = utcnow()
        to_stage(session, people.sales, deal_id, "won", "signed")
        [update, _create] = list_audit(session, entity_type="deal", entity_id=deal_id)
    assert deal.closed_at is not None
    assert deal.closed_at >= before
    assert deal.close_reason == "signed"
    assert update.changes["stage"] == ["lead", "won"]
    assert update.changes["closed_at"] == [None, deal.closed_at.isoformat()]
    assert update.changes["close_reason"] == [None, "signed"]


def test_change_stage_of_closed_deal_is_refused(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        deal, deal_id = owned_deal(session, people.sales)
        to_stage(session, people.sales, deal_id, "won")
        for stage in ("lost", "lead"):
            with pytest.raises(DealClosed):
                to_stage(session, people.sales, deal_id, stage)
        history = [
            c.to_stage for c in list_stage_changes(session, actor=people.sales, deal_id=deal_id)
        ]
    assert (deal.stage, deal.closed_at is not None) == ("won", True)
    assert history == ["lead", "won"]


def test_reopen_deal_goes_back_to_the_stage_before_it_closed(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        deal, deal_id = owned_deal(session, people.sales)
        for stage, reason in (("proposal", None), ("lost", "price")):
            to_stage(session, people.sales, deal_id, stage, reason)
        reopen_deal(session, actor=people.sales, deal_id=deal_id, stages=STAGES)
        reopen_deal(session, actor=people.sales, deal_id=deal_id, stages=STAGES)  # repeated
        history = [
            (c.from_stage, c.to_stage)
            for c in list_stage_changes(session, actor=people.sales, deal_id=deal_id)
        ]
    assert (deal.stage, deal.closed_at, deal.close_reason) == ("proposal", None, None)
    assert history == [
        (None, "lead"),
        ("lead", "proposal"),
        ("proposal", "lost"),
        ("lost", "proposal"),
    ]


def test_reopen_deal_created_closed_goes_to_the_first_open_stage(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        deal, deal_id = owned_deal(session, people.sales, "won")
        reopen_deal(session, actor=people.sales, deal_id=deal_id, stages=STAGES)
    assert (deal.stage, deal.closed_at) == ("lead", None)


def test_reopen_deal_of_other_salespersons_deal_is_not_found(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        deal, deal_id = owned_deal(session, people.sales, "won")
        with pytest.raises(NotFound):
            reopen_deal(session, actor=people.other_sales, deal_id=deal_id, stages=STAGES)
    assert deal.stage == "won"


def test_list_stage_moves_names_who_moved_it_and_counts_older_moves(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        deal, deal_id = owned_deal(session, people.sales)
        for stage in ("qualified", "proposal", "qualified"):
            to_stage(session, people.manager, deal_id, stage, None)
        moves, total = list_stage_moves(session, actor=people.sales, deal_id=deal_id, limit=2)
    assert total == 3
    assert [(m.from_stage, m.to_stage, m.changed_by) for m in moves] == [
        ("qualified", "proposal", people.manager.display_name),
        ("proposal", "qualified", people.manager.display_name),
    ]


def test_change_stage_to_same_stage_records_nothing(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        deal, deal_id = owned_deal(session, people.sales)
        to_stage(session, people.sales, deal_id, "lead", None)
        changes = session.exec(
            select(DealStageChange).where(col(DealStageChange.deal_id) == deal_id)
        ).all()
        audit = list_audit(session, entity_type="deal", entity_id=deal_id)
    assert len(changes) == 1
    assert [entry.action for entry in audit] == ["create"]


def test_change_stage_to_unknown_stage_is_refused(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        deal, deal_id = owned_deal(session, people.sales)
        with pytest.raises(UnknownStage):
            to_stage(session, people.sales, deal_id, "bogus", None)


def test_change_stage_of_other_salespersons_deal_is_not_found(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        deal, deal_id = owned_deal(session, people.other_sales)
        with pytest.raises(NotFound):
            to_stage(session, people.sales, deal_id, "won", None)
        assert deal.stage == "lead"


def test_get_deal_hides_missing_deleted_and_others_alike(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer = make_customer(session, owner=people.sales)
        deleted = new_deal(session, people.sales, customer)
        deleted.deleted_at = utcnow()
        others = new_deal(
            session, people.other_sales, make_customer(session, owner=people.other_sales)
        )
        for deal_id in (deleted.id, others.id, 10**9):
            assert deal_id is not None
            with pytest.raises(NotFound):
                get_deal(session, actor=people.sales, deal_id=deal_id)


def test_get_deal_of_deleted_customer_is_not_found(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer = make_customer(session, owner=people.sales)
        deal = new_deal(session, people.sales, customer)
        customer.deleted_at = utcnow()
        assert deal.id is not None
        with pytest.raises(NotFound):
            get_deal(session, actor=people.sales, deal_id=deal.id)


def test_list_open_deals_excludes_closed_deleted_and_others(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer = make_customer(session, owner=people.sales)
        open_deal = new_deal(session, people.sales, customer)
        new_deal(session, people.sales, customer, stage="won")
        lost = new_deal(session, people.sales, customer)
        assert lost.id is not None
        to_stage(session, people.sales, lost.id, "lost", None)
        new_deal(session, people.sales, customer).deleted_at = utcnow()
        new_deal(session, people.other_sales, make_customer(session, owner=people.other_sales))
        deals = list_open_deals(session, actor=people.sales)
    assert [deal.id for deal in deals] == [open_deal.id]


def test_list_open_deals_for_manager_includes_team(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        own = new_deal(session, people.manager, make_customer(session, owner=people.manager))
        team = new_deal(session, people.sales, make_customer(session, owner=people.sales))
        new_deal(session, people.other_sales, make_customer(session, owner=people.other_sales))
        deals = list_open_deals(session, actor=people.manager)
    assert {deal.id for deal in deals} == {own.id, team.id}


def test_create_deal_in_closed_stage_is_closed(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        deal = new_deal(session, people.sales, make_customer(session, owner=people.sales), "won")
    assert deal.closed_at is not None


def test_list_stage_changes_of_other_salespersons_deal_is_not_found(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        deal, deal_id = owned_deal(session, people.other_sales)
        with pytest.raises(NotFound):
            list_stage_changes(session, actor=people.sales, deal_id=deal_id)


def test_create_deal_is_a_contact_with_the_customer(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer = make_customer(session, owner=people.sales)
        customer.last_contact_at = utcnow() - timedelta(days=90)
        before = utcnow()
        new_deal(session, people.sales, customer)
        assert (last_contact_of(session, customer) or before) > before


def test_change_stage_is_a_contact_with_the_customer(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer = make_customer(session, owner=people.sales)
        deal = new_deal(session, people.sales, customer)
        assert deal.id is not None
        customer.last_contact_at = utcnow() - timedelta(days=90)
        before = utcnow()
        to_stage(session, people.sales, deal.id, "won", "")
        assert (last_contact_of(session, customer) or before) > before
