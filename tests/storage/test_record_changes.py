"""Editing, deleting and restoring deals and notes: access, audit, and what deleting hides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session

from storage.access import NotFound, require_deal, require_interaction
from storage.audit import list_audit
from storage.customers import CustomerCreate, create_customer
from storage.db import Database
from storage.deals import DealCreate, create_deal
from storage.interactions import InteractionCreate, create_interaction
from storage.models import Customer, Member, Role
from storage.record_changes import (
    archive_deal,
    archive_interaction,
    get_interaction,
    list_deleted_deals,
    list_deleted_interactions,
    restore_deal,
    restore_interaction,
    update_deal,
    update_interaction,
)
from tests.factories import make_member, pk


def seed(session: Session) -> tuple[Member, Member, Member, int, int, int]:
    """An admin, a salesperson and another one; the salesperson's customer, deal and note."""
    admin = make_member(session, role=Role.ADMIN)
    sales, other = make_member(session), make_member(session)
    customer = create_customer(session, actor=sales, data=CustomerCreate(name="Zhang Wei"))
    deal = create_deal(
        session,
        actor=sales,
        data=DealCreate(
            customer_id=pk(customer),
            title="Chairs",
            stage="lead",
            amount=Decimal("100"),
            currency="CNY",
        ),
    )
    note = create_interaction(
        session,
        actor=sales,
        data=InteractionCreate(
            customer_id=pk(customer),
            kind="call",
            happened_at=datetime(2026, 1, 5, 9, tzinfo=UTC),
            summary="called",
        ),
    )
    assert deal.id is not None
    assert note.id is not None
    return admin, sales, other, pk(customer), deal.id, note.id


def test_update_deal_audits_old_and_new_values(db: Database) -> None:
    with db.session() as session:
        _admin, sales, _other, _c, deal_id, _n = seed(session)
        deal = update_deal(
            session,
            actor=sales,
            deal_id=deal_id,
            changes={"amount": Decimal("250"), "currency": "CNY", "title": "Chairs"},
        )
        entry = list_audit(session, entity_type="deal", entity_id=deal_id)[0]
    assert deal.amount == Decimal("250.00")
    assert (entry.action, entry.actor_id) == ("update", sales.id)
    assert entry.changes == {"amount": ["100.00", "250.00"]}


def test_update_deal_with_nothing_changed_writes_no_audit(db: Database) -> None:
    with db.session() as session:
        _admin, sales, _other, _c, deal_id, _n = seed(session)
        before = len(list_audit(session, entity_type="deal", entity_id=deal_id))
        update_deal(session, actor=sales, deal_id=deal_id, changes={"title": "Chairs"})
        after = len(list_audit(session, entity_type="deal", entity_id=deal_id))
    assert before == after


def test_update_deal_refuses_the_stage_and_an_amount_without_currency(db: Database) -> None:
    with db.session() as session:
        _admin, sales, _other, _c, deal_id, _n = seed(session)
        with pytest.raises(ValueError, match="not editable"):
            update_deal(session, actor=sales, deal_id=deal_id, changes={"stage": "won"})
        with pytest.raises(ValueError, match="currency"):
            update_deal(session, actor=sales, deal_id=deal_id, changes={"amount": Decimal(1)})


def test_another_salespersons_deal_and_note_are_not_found(db: Database) -> None:
    with db.session() as session:
        _admin, _sales, other, _c, deal_id, note_id = seed(session)
        with pytest.raises(NotFound):
            update_deal(session, actor=other, deal_id=deal_id, changes={"title": "Mine"})
        with pytest.raises(NotFound):
            archive_deal(session, actor=other, deal_id=deal_id)
        with pytest.raises(NotFound):
            update_interaction(
                session, actor=other, interaction_id=note_id, changes={"summary": "x"}
            )
        with pytest.raises(NotFound):
            archive_interaction(session, actor=other, interaction_id=note_id)


def test_archived_deal_is_hidden_and_admin_restores_it(db: Database) -> None:
    with db.session() as session:
        admin, sales, _other, _c, deal_id, _n = seed(session)
        archive_deal(session, actor=sales, deal_id=deal_id)
        with pytest.raises(NotFound):
            require_deal(session, actor=sales, deal_id=deal_id)
        listed = [d.id for d in list_deleted_deals(session, actor=admin)]
        restore_deal(session, actor=admin, deal_id=deal_id)
        visible = require_deal(session, actor=sales, deal_id=deal_id)
        actions = [e.action for e in list_audit(session, entity_type="deal", entity_id=deal_id)]
    assert listed == [deal_id]
    assert visible.deleted_at is None
    assert actions[:2] == ["restore", "delete"]


def test_only_admins_list_and_restore(db: Database) -> None:
    with db.session() as session:
        _admin, sales, _other, _c, deal_id, note_id = seed(session)
        manager = make_member(session, role=Role.MANAGER)
        archive_deal(session, actor=sales, deal_id=deal_id)
        archive_interaction(session, actor=sales, interaction_id=note_id)
        for actor in (sales, manager):
            with pytest.raises(NotFound):
                restore_deal(session, actor=actor, deal_id=deal_id)
            with pytest.raises(NotFound):
                restore_interaction(session, actor=actor, interaction_id=note_id)
            with pytest.raises(NotFound):
                list_deleted_deals(session, actor=actor)
            with pytest.raises(NotFound):
                list_deleted_interactions(session, actor=actor)


def test_restoring_a_live_deal_or_note_is_not_found(db: Database) -> None:
    with db.session() as session:
        admin, _sales, _other, _c, deal_id, note_id = seed(session)
        with pytest.raises(NotFound):
            restore_deal(session, actor=admin, deal_id=deal_id)
        with pytest.raises(NotFound):
            restore_interaction(session, actor=admin, interaction_id=note_id)


def test_update_interaction_audits_old_and_new_values(db: Database) -> None:
    with db.session() as session:
        _admin, sales, _other, _c, _d, note_id = seed(session)
        later = datetime(2026, 1, 6, 10, tzinfo=UTC)
        update_interaction(
            session,
            actor=sales,
            interaction_id=note_id,
            changes={"summary": "visited", "happened_at": later},
        )
        note, customer = get_interaction(session, actor=sales, interaction_id=note_id)
        entry = list_audit(session, entity_type="interaction", entity_id=note_id)[0]
    assert (note.summary, customer) == ("visited", "Zhang Wei")
    assert entry.changes["summary"] == ["called", "visited"]
    assert entry.changes["happened_at"][1] == later.isoformat()


def test_update_interaction_refuses_an_unknown_kind(db: Database) -> None:
    with db.session() as session:
        _admin, sales, _other, _c, _d, note_id = seed(session)
        with pytest.raises(ValueError, match="kind"):
            update_interaction(
                session, actor=sales, interaction_id=note_id, changes={"kind": "fax"}
            )


def test_archived_note_keeps_last_contact_and_admin_restores_it(db: Database) -> None:
    with db.session() as session:
        admin, sales, _other, customer_id, _d, note_id = seed(session)
        contact = session.get_one(Customer, customer_id).last_contact_at
        archive_interaction(session, actor=sales, interaction_id=note_id)
        with pytest.raises(NotFound):
            require_interaction(session, actor=sales, interaction_id=note_id)
        kept = session.get_one(Customer, customer_id).last_contact_at
        listed = [(n.id, name) for n, name in list_deleted_interactions(session, actor=admin)]
        restore_interaction(session, actor=admin, interaction_id=note_id)
        restored = require_interaction(session, actor=sales, interaction_id=note_id)
    assert contact is not None
    assert kept == contact
    assert listed == [(note_id, "Zhang Wei")]
    assert restored.deleted_at is None


def test_deleted_deal_of_a_deleted_customer_is_not_listed_for_restore(db: Database) -> None:
    with db.session() as session:
        admin, sales, _other, customer_id, deal_id, _n = seed(session)
        archive_deal(session, actor=sales, deal_id=deal_id)
        session.get_one(Customer, customer_id).deleted_at = datetime.now(UTC) - timedelta(1)
        session.flush()
        listed = list_deleted_deals(session, actor=admin)
        with pytest.raises(NotFound):
            restore_deal(session, actor=admin, deal_id=deal_id)
    assert listed == []
