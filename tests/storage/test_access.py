"""The one access rule: sales see their own, managers their team, admins everything."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlmodel import Session, col, select

from storage.access import (
    NotFound,
    may_invite,
    member_scope,
    owner_for,
    owner_scope,
    require_customer,
    require_deal,
    require_interaction,
    require_member,
    visible_customers,
)
from storage.db import Database
from storage.models import Customer, Deal, Interaction, Member, Role, utcnow
from storage.search.find import get_customer_card
from tests.factories import make_customer, make_member, pk


@dataclass
class Team:
    """Two managers with a salesperson each, a salesperson on no team, and an admin."""

    admin: Member
    manager_a: Member
    sales_a: Member
    manager_b: Member
    sales_b: Member
    loner: Member


def make_team(session: Session) -> Team:
    manager_a = make_member(session, role=Role.MANAGER)
    manager_b = make_member(session, role=Role.MANAGER)
    return Team(
        admin=make_member(session, role=Role.ADMIN),
        manager_a=manager_a,
        sales_a=make_member(session, manager=manager_a),
        manager_b=manager_b,
        sales_b=make_member(session, manager=manager_b),
        loner=make_member(session),
    )


def customers_seen(session: Session, actor: Member) -> set[int]:
    """Owner ids of the customers actor's scope returns (each member owns one customer)."""
    rows = session.exec(select(Customer).where(owner_scope(actor, Customer.owner_id)))
    return {customer.owner_id for customer in rows}


def members_seen(session: Session, actor: Member) -> set[int | None]:
    return {member.id for member in session.exec(select(Member).where(member_scope(actor)))}


def ids(*members: Member) -> set[int | None]:
    return {member.id for member in members}


def with_customers(session: Session) -> Team:
    team = make_team(session)
    for member in vars(team).values():
        make_customer(session, owner=member)
    return team


def test_owner_scope_limits_sales_to_own_customers(db: Database) -> None:
    with db.session() as session:
        team = with_customers(session)
        assert customers_seen(session, team.sales_a) == ids(team.sales_a)


def test_owner_scope_gives_manager_own_and_team_customers_only(db: Database) -> None:
    with db.session() as session:
        team = with_customers(session)
        assert customers_seen(session, team.manager_a) == ids(team.manager_a, team.sales_a)


def test_owner_scope_gives_admin_every_customer(db: Database) -> None:
    with db.session() as session:
        team = with_customers(session)
        assert customers_seen(session, team.admin) == ids(*vars(team).values())


def test_member_scope_limits_sales_to_themselves(db: Database) -> None:
    with db.session() as session:
        team = make_team(session)
        assert members_seen(session, team.sales_b) == ids(team.sales_b)


def test_member_scope_gives_manager_self_and_team(db: Database) -> None:
    with db.session() as session:
        team = make_team(session)
        assert members_seen(session, team.manager_b) == ids(team.manager_b, team.sales_b)


def test_member_scope_gives_admin_everyone(db: Database) -> None:
    with db.session() as session:
        team = make_team(session)
        assert members_seen(session, team.admin) == ids(*vars(team).values())


def test_require_customer_returns_team_members_customer_to_manager(db: Database) -> None:
    with db.session() as session:
        team = make_team(session)
        customer = make_customer(session, owner=team.sales_a)
        assert customer.id is not None
        found = require_customer(session, actor=team.manager_a, customer_id=customer.id)
        assert found.id == customer.id


def test_require_customer_returns_the_one_asked_for_among_those_visible(db: Database) -> None:
    with db.session() as session:
        team = make_team(session)
        customers = [make_customer(session, owner=team.sales_a) for _ in range(3)]
        for customer in reversed(customers):
            assert customer.id is not None
            found = require_customer(session, actor=team.sales_a, customer_id=customer.id)
            assert found.id == customer.id


@pytest.mark.parametrize("case", ["missing", "deleted", "someone_elses"])
def test_require_customer_raises_the_same_not_found_when_unavailable(
    db: Database, case: str
) -> None:
    with db.session() as session:
        team = make_team(session)
        own_deleted = make_customer(session, owner=team.sales_a, deleted=True)
        others = make_customer(session, owner=team.sales_b)
        assert own_deleted.id is not None
        assert others.id is not None
        customer_id = {
            "missing": others.id + 1000,
            "deleted": own_deleted.id,
            "someone_elses": others.id,
        }[case]
        with pytest.raises(NotFound) as raised:
            require_customer(session, actor=team.sales_a, customer_id=customer_id)
    # Alike in type and message, so a forged id learns nothing about what exists.
    assert type(raised.value) is NotFound
    assert str(raised.value) == ""


def test_require_customer_hides_deleted_customer_from_admin(db: Database) -> None:
    with db.session() as session:
        team = make_team(session)
        customer = make_customer(session, owner=team.admin, deleted=True)
        assert customer.id is not None
        with pytest.raises(NotFound):
            require_customer(session, actor=team.admin, customer_id=customer.id)


@pytest.mark.parametrize("actor_name", ["admin", "manager_a", "sales_a", "manager_b", "loner"])
def test_customer_card_shows_exactly_what_the_access_rule_allows(
    db: Database, actor_name: str
) -> None:
    """The card's statements are built once per role (`role_scope`): the same rule as
    `owner_scope`, with each actor's own id, including a deleted customer hidden from all."""
    with db.session() as session:
        team = with_customers(session)
        make_customer(session, owner=team.admin, deleted=True)
        actor = getattr(team, actor_name)
        opened: set[int] = set()
        for customer in session.exec(select(Customer)):
            assert customer.id is not None
            try:
                card = get_customer_card(session, actor=actor, customer_id=customer.id)
            except NotFound:
                continue
            assert card.customer.id == customer.id
            owner = session.get(Member, customer.owner_id)
            assert owner is not None
            assert card.owner_name == owner.display_name
            opened.add(customer.id)
        allowed = session.exec(
            select(Customer.id).where(
                owner_scope(actor, Customer.owner_id), col(Customer.deleted_at).is_(None)
            )
        )
        assert opened == set(allowed)
        assert opened  # every actor owns a customer


def test_require_member_returns_team_member_to_manager(db: Database) -> None:
    with db.session() as session:
        team = make_team(session)
        assert team.sales_a.id is not None
        found = require_member(session, actor=team.manager_a, member_id=team.sales_a.id)
        assert found.id == team.sales_a.id


@pytest.mark.parametrize("target", ["manager_b", "sales_b", "admin", "missing"])
def test_require_member_raises_not_found_outside_managers_team(db: Database, target: str) -> None:
    with db.session() as session:
        team = make_team(session)
        member_id = 10**9 if target == "missing" else getattr(team, target).id
        with pytest.raises(NotFound):
            require_member(session, actor=team.manager_a, member_id=member_id)


@pytest.mark.parametrize(
    ("actor_role", "role", "allowed"),
    [
        (Role.ADMIN, Role.SALES, True),
        (Role.ADMIN, Role.MANAGER, True),
        (Role.ADMIN, Role.ADMIN, False),
        (Role.MANAGER, Role.SALES, True),
        (Role.MANAGER, Role.MANAGER, False),
        (Role.MANAGER, Role.ADMIN, False),
        (Role.SALES, Role.SALES, False),
        (Role.SALES, Role.MANAGER, False),
        (Role.SALES, Role.ADMIN, False),
    ],
)
def test_may_invite_follows_role_matrix(actor_role: Role, role: Role, allowed: bool) -> None:
    actor = Member(id=1, telegram_id=1, display_name="Actor", role=actor_role)
    assert may_invite(actor, role) is allowed


def add_deal(session: Session, customer: Customer, owner: Member, *, deleted: bool = False) -> int:
    deal = Deal(customer_id=pk(customer), owner_id=pk(owner), title="Chairs", stage="lead",
                created_by_id=pk(owner), deleted_at=utcnow() if deleted else None)  # fmt: skip
    session.add(deal)
    session.flush()
    assert deal.id is not None
    return deal.id


def add_note(session: Session, customer: Customer, *, deleted: bool = False) -> int:
    note = Interaction(customer_id=pk(customer), owner_id=customer.owner_id, kind="call",
                       happened_at=utcnow(), created_by_id=customer.owner_id,
                       deleted_at=utcnow() if deleted else None)  # fmt: skip
    session.add(note)
    session.flush()
    assert note.id is not None
    return note.id


def test_require_deal_returns_the_one_asked_for_to_its_owner_and_manager(db: Database) -> None:
    with db.session() as session:
        team = make_team(session)
        customers = [make_customer(session, owner=team.sales_a) for _ in range(3)]
        deal_ids = [add_deal(session, customer, team.sales_a) for customer in customers]
        for actor in (team.sales_a, team.manager_a, team.admin):
            for deal_id in reversed(deal_ids):
                assert require_deal(session, actor=actor, deal_id=deal_id).id == deal_id


@pytest.mark.parametrize(
    "case", ["missing", "deleted", "of_deleted_customer", "others_deal", "on_others_customer"]
)
def test_require_deal_raises_not_found_when_the_deal_or_its_customer_is_out_of_reach(
    db: Database, case: str
) -> None:
    """A deal needs both itself and its customer alive and in scope; another visible deal
    next to it must not be returned instead."""
    with db.session() as session:
        team = make_team(session)
        own = make_customer(session, owner=team.sales_a)
        visible = add_deal(session, own, team.sales_a)
        make_deal = {
            "missing": lambda: visible + 1000,
            "deleted": lambda: add_deal(session, own, team.sales_a, deleted=True),
            "of_deleted_customer": lambda: add_deal(
                session, make_customer(session, owner=team.sales_a, deleted=True), team.sales_a
            ),
            "others_deal": lambda: add_deal(session, own, team.sales_b),
            "on_others_customer": lambda: add_deal(
                session, make_customer(session, owner=team.sales_b), team.sales_a
            ),
        }[case]
        deal_id = make_deal()
        with pytest.raises(NotFound):
            require_deal(session, actor=team.sales_a, deal_id=deal_id)


def test_require_interaction_returns_the_one_asked_for_to_those_who_see_its_customer(
    db: Database,
) -> None:
    with db.session() as session:
        team = make_team(session)
        note_ids = [
            add_note(session, make_customer(session, owner=team.sales_a)) for _ in range(3)
        ]
        for actor in (team.sales_a, team.manager_a, team.admin):
            for note_id in reversed(note_ids):
                assert (
                    require_interaction(session, actor=actor, interaction_id=note_id).id == note_id
                )


@pytest.mark.parametrize("case", ["missing", "deleted", "of_deleted_customer", "others"])
def test_require_interaction_raises_not_found_when_the_note_or_its_customer_is_out_of_reach(
    db: Database, case: str
) -> None:
    with db.session() as session:
        team = make_team(session)
        visible = add_note(session, make_customer(session, owner=team.sales_a))
        make_note = {
            "missing": lambda: visible + 1000,
            "deleted": lambda: add_note(
                session, make_customer(session, owner=team.sales_a), deleted=True
            ),
            "of_deleted_customer": lambda: add_note(
                session, make_customer(session, owner=team.sales_a, deleted=True)
            ),
            "others": lambda: add_note(session, make_customer(session, owner=team.sales_b)),
        }[case]
        note_id = make_note()
        for actor in (team.sales_a, team.manager_a):
            with pytest.raises(NotFound):
                require_interaction(session, actor=actor, interaction_id=note_id)


def test_owner_for_gives_sales_their_own_records_and_others_the_customers_owner(
    db: Database,
) -> None:
    """A manager or admin logging work on a team customer does it for the salesperson."""
    with db.session() as session:
        team = make_team(session)
        customer = make_customer(session, owner=team.sales_a)
        assert owner_for(team.sales_b, customer) == team.sales_b.id
        assert owner_for(team.manager_a, customer) == team.sales_a.id
        assert owner_for(team.admin, customer) == team.sales_a.id


def test_visible_customers_gives_those_asked_for_that_are_alive_and_in_scope(db: Database) -> None:
    with db.session() as session:
        team = make_team(session)
        asked, not_asked = (make_customer(session, owner=team.sales_a) for _ in range(2))
        deleted = make_customer(session, owner=team.sales_a, deleted=True)
        others = make_customer(session, owner=team.sales_b)
        found = visible_customers(
            session, actor=team.manager_a, customer_ids=[pk(asked), pk(deleted), pk(others), None]
        )
    assert list(found) == [asked.id]
