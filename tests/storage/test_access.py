"""The one access rule: sales see their own, managers their team, admins everything."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlmodel import Session, col, select

from storage.access import (
    NotFound,
    may_invite,
    member_scope,
    owner_scope,
    require_customer,
    require_member,
)
from storage.db import Database
from storage.models import Customer, Member, Role
from storage.search.find import get_customer_card
from tests.factories import make_customer, make_member


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
