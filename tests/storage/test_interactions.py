"""Notes: who may write them, what they update, and the nearby / recent customer lookups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from storage.access import NotFound, require_interaction
from storage.audit import list_audit
from storage.db import Database
from storage.interactions import (
    AttachmentRef,
    InteractionCreate,
    create_interaction,
    customers_near,
    haversine_m,
    last_interaction,
    list_recent_interactions,
    recently_touched_customers,
)
from storage.models import Attachment, Customer, Interaction, Member, Role, utcnow
from tests.factories import make_customer, make_member

# A spot in Shanghai; 0.01 degree of latitude is 1111.95 m on the haversine sphere.
HERE = (31.2304, 121.4737)
LAT_STEP_M = 1111.95


@dataclass
class People:
    manager: Member
    sales: Member
    other_sales: Member


def make_people(session: Session) -> People:
    manager = make_member(session, role=Role.MANAGER)
    return People(
        manager=manager,
        sales=make_member(session, manager=manager),
        other_sales=make_member(session, manager=make_member(session, role=Role.MANAGER)),
    )


def note(
    session: Session,
    actor: Member,
    customer: Customer,
    *,
    kind: str = "call",
    happened_at: datetime | None = None,
    at: tuple[float, float] | None = None,
    attachments: tuple[AttachmentRef, ...] = (),
) -> Interaction:
    assert customer.id is not None
    data = InteractionCreate(
        customer_id=customer.id,
        kind=kind,
        happened_at=happened_at or utcnow(),
        summary="Talked about forklifts",
        latitude=at[0] if at else None,
        longitude=at[1] if at else None,
        attachments=attachments,
    )
    return create_interaction(session, actor=actor, data=data)


def test_create_interaction_stores_attachments_and_audit(db: Database) -> None:
    refs = (AttachmentRef("voice", "file-1", "uniq-1"), AttachmentRef("photo", "file-2", "uniq-2"))
    with db.session() as session:
        people = make_people(session)
        customer = make_customer(session, owner=people.sales)
        interaction = note(
            session, people.sales, customer, kind="visit", at=HERE, attachments=refs
        )
        files = session.exec(
            select(Attachment).where(col(Attachment.interaction_id) == interaction.id)
        ).all()
        assert interaction.id is not None
        [entry] = list_audit(session, entity_type="interaction", entity_id=interaction.id)
    assert interaction.owner_id == people.sales.id
    assert sorted((f.kind, f.telegram_file_id, f.customer_id) for f in files) == [
        ("photo", "file-2", customer.id),
        ("voice", "file-1", customer.id),
    ]
    assert entry.action == "create"
    assert entry.changes["kind"] == [None, "visit"]
    assert entry.changes["happened_at"] == [None, interaction.happened_at.isoformat()]
    assert entry.changes["attachments"] == [None, 2]


def test_create_interaction_moves_last_contact_forward_only(db: Database) -> None:
    recent = utcnow() - timedelta(hours=1)
    with db.session() as session:
        people = make_people(session)
        customer = make_customer(session, owner=people.sales)
        note(session, people.sales, customer, happened_at=recent)
        assert customer.last_contact_at == recent
        note(session, people.sales, customer, happened_at=recent - timedelta(days=30))
        customer_id = customer.id
    with db.session() as session:
        assert session.get_one(Customer, customer_id).last_contact_at == recent


def test_create_interaction_for_other_salespersons_customer_is_not_found(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer = make_customer(session, owner=people.other_sales)
        with pytest.raises(NotFound):
            note(session, people.sales, customer)


def test_create_interaction_by_manager_for_team_customer_is_theirs(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer = make_customer(session, owner=people.sales)
        interaction = note(session, people.manager, customer)
        assert interaction.id is not None
        seen = require_interaction(session, actor=people.sales, interaction_id=interaction.id)
    assert interaction.owner_id == people.manager.id
    assert seen.id == interaction.id


def test_require_interaction_of_other_salespersons_customer_is_not_found(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        interaction = note(
            session, people.other_sales, make_customer(session, owner=people.other_sales)
        )
        assert interaction.id is not None
        with pytest.raises(NotFound):
            require_interaction(session, actor=people.sales, interaction_id=interaction.id)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kind": "fax"}, "kind"),
        ({"happened_at": datetime(2030, 1, 1)}, "aware"),  # noqa: DTZ001 (the naive input)
        ({"latitude": 31.0}, "both"),
        ({"latitude": 95.0, "longitude": 0.0}, "range"),
    ],
)
def test_interaction_create_refuses_bad_input(changes: dict[str, object], message: str) -> None:
    values: dict[str, object] = {"customer_id": 1, "kind": "call", "happened_at": utcnow()}
    with pytest.raises(ValueError, match=message):
        InteractionCreate(**{**values, **changes})  # type: ignore[arg-type]


def test_list_recent_interactions_newest_first_with_limit(db: Database) -> None:
    start = utcnow() - timedelta(days=10)
    with db.session() as session:
        people = make_people(session)
        customer = make_customer(session, owner=people.sales)
        notes = [
            note(session, people.sales, customer, happened_at=start + timedelta(days=day))
            for day in (3, 1, 7, 5)
        ]
        note(session, people.sales, make_customer(session, owner=people.sales))
        assert customer.id is not None
        recent = list_recent_interactions(
            session, actor=people.sales, customer_id=customer.id, limit=3
        )
        last = last_interaction(session, actor=people.sales, customer_id=customer.id)
    assert [i.id for i in recent] == [notes[2].id, notes[3].id, notes[0].id]
    assert last is not None
    assert last.id == notes[2].id


def test_last_interaction_without_notes_is_none(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer = make_customer(session, owner=people.sales)
        assert customer.id is not None
        assert last_interaction(session, actor=people.sales, customer_id=customer.id) is None


def test_list_recent_interactions_of_other_salespersons_customer_is_not_found(
    db: Database,
) -> None:
    with db.session() as session:
        people = make_people(session)
        customer = make_customer(session, owner=people.other_sales)
        assert customer.id is not None
        with pytest.raises(NotFound):
            list_recent_interactions(session, actor=people.sales, customer_id=customer.id)


def north_of_here(metres: float) -> tuple[float, float]:
    return (HERE[0] + metres / LAT_STEP_M * 0.01, HERE[1])


def test_customers_near_nearest_first_with_distance(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        far = make_customer(session, owner=people.sales)
        near = make_customer(session, owner=people.sales)
        note(session, people.sales, far, kind="visit", at=north_of_here(3000))
        note(session, people.sales, near, kind="visit", at=north_of_here(500))
        # The far customer was also visited right here once: it counts at its nearest visit.
        note(session, people.sales, far, kind="visit", at=north_of_here(100))
        found = customers_near(session, actor=people.sales, latitude=HERE[0], longitude=HERE[1])
    assert [customer.id for customer, _ in found] == [far.id, near.id]
    assert [round(distance) for _, distance in found] == [100, 500]


def test_customers_near_leaves_out_others_non_visits_deleted_and_far(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        mine = make_customer(session, owner=people.sales)
        note(session, people.sales, mine, kind="visit", at=north_of_here(200))
        theirs = make_customer(session, owner=people.other_sales)
        note(session, people.other_sales, theirs, kind="visit", at=north_of_here(10))
        called = make_customer(session, owner=people.sales)
        note(session, people.sales, called, kind="call", at=north_of_here(10))
        deleted = make_customer(session, owner=people.sales)
        note(session, people.sales, deleted, kind="visit", at=north_of_here(10))
        deleted.deleted_at = utcnow()
        beijing = make_customer(session, owner=people.sales)
        note(session, people.sales, beijing, kind="visit", at=(39.9042, 116.4074))
        found = customers_near(session, actor=people.sales, latitude=HERE[0], longitude=HERE[1])
        team_view = customers_near(
            session, actor=people.manager, latitude=HERE[0], longitude=HERE[1]
        )
    assert [customer.id for customer, _ in found] == [mine.id]
    assert [customer.id for customer, _ in team_view] == [mine.id]


def test_customers_near_across_the_antimeridian(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer = make_customer(session, owner=people.sales)
        note(session, people.sales, customer, kind="visit", at=(0.0, -179.9))
        found = customers_near(session, actor=people.sales, latitude=0.0, longitude=179.9)
    assert [c.id for c, _ in found] == [customer.id]
    assert found[0][1] == pytest.approx(haversine_m(0.0, 179.9, 0.0, -179.9))
    assert found[0][1] == pytest.approx(22_239, rel=1e-3)


def test_customers_near_respects_limit(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        for metres in (400, 300, 200, 100):
            customer = make_customer(session, owner=people.sales)
            note(session, people.sales, customer, kind="visit", at=north_of_here(metres))
        found = customers_near(
            session, actor=people.sales, latitude=HERE[0], longitude=HERE[1], limit=2
        )
    assert [round(distance) for _, distance in found] == [100, 200]


def test_recently_touched_customers_by_last_contact_then_updated(db: Database) -> None:
    now = utcnow()
    with db.session() as session:
        people = make_people(session)
        untouched_new = make_customer(session, owner=people.sales)
        untouched_new.updated_at = now
        untouched_old = make_customer(session, owner=people.sales)
        untouched_old.updated_at = now - timedelta(days=9)
        contacted_long_ago = make_customer(session, owner=people.sales)
        note(session, people.sales, contacted_long_ago, happened_at=now - timedelta(days=5))
        contacted_lately = make_customer(session, owner=people.sales)
        note(session, people.sales, contacted_lately, happened_at=now - timedelta(hours=1))
        make_customer(session, owner=people.other_sales)
        make_customer(session, owner=people.sales, deleted=True)
        found = recently_touched_customers(session, actor=people.sales, limit=10)
    assert [c.id for c in found] == [
        contacted_lately.id,
        contacted_long_ago.id,
        untouched_new.id,
        untouched_old.id,
    ]
