"""Team members: registration of config admins, admin-only changes, listing, reachability."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session, col, select

from storage.access import NotAllowed
from storage.audit import list_audit
from storage.db import Database
from storage.members import (
    get_active_member,
    is_current,
    list_members,
    set_reachable,
    update_member,
)
from storage.models import AuditEntry, Member, Role
from tests.factories import make_member, make_profile, pk

LONG_AGO = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def reload(db: Database, member: Member) -> Member:
    """The member as a fresh transaction sees it: proves the change was committed."""
    assert member.id is not None
    return db.read_sync(lambda session: session.get_one(Member, member.id))


def member_audit(db: Database, member: Member) -> list[AuditEntry]:
    assert member.id is not None
    return db.read_sync(list_audit, entity_type="member", entity_id=member.id)


def count_members(session: Session, telegram_id: int) -> int:
    return len(session.exec(select(Member).where(col(Member.telegram_id) == telegram_id)).all())


# get_active_member


def test_get_active_member_registers_config_admin_on_first_contact(db: Database) -> None:
    profile = make_profile()
    admins = frozenset({profile.telegram_id})
    member = db.run_sync(get_active_member, profile=profile, admin_ids=admins)
    assert member is not None
    stored = reload(db, member)
    assert (stored.telegram_id, stored.role, stored.active) == (
        profile.telegram_id,
        Role.ADMIN,
        True,
    )
    assert (stored.display_name, stored.username) == (profile.display_name, profile.username)
    [entry] = member_audit(db, member)
    assert (entry.action, entry.actor_id) == ("create", None)
    assert entry.changes["role"] == [None, Role.ADMIN]


def test_get_active_member_registers_config_admin_only_once(db: Database) -> None:
    profile = make_profile()
    admins = frozenset({profile.telegram_id})
    first = db.run_sync(get_active_member, profile=profile, admin_ids=admins)
    second = db.run_sync(get_active_member, profile=profile, admin_ids=admins)
    assert first is not None
    assert second is not None
    assert first.id == second.id
    assert len(member_audit(db, first)) == 1


def test_get_active_member_repromotes_config_admin_with_another_role(db: Database) -> None:
    with db.session() as session:
        member = make_member(session, role=Role.SALES)
    profile = make_profile(telegram_id=member.telegram_id)
    found = db.run_sync(
        get_active_member, profile=profile, admin_ids=frozenset({profile.telegram_id})
    )
    assert found is not None
    assert found.id == member.id
    assert reload(db, member).role == Role.ADMIN


def test_get_active_member_reactivates_deactivated_config_admin(db: Database) -> None:
    with db.session() as session:
        member = make_member(session, role=Role.ADMIN, active=False)
    profile = make_profile(telegram_id=member.telegram_id)
    found = db.run_sync(
        get_active_member, profile=profile, admin_ids=frozenset({profile.telegram_id})
    )
    assert found is not None
    assert reload(db, member).active is True


def test_get_active_member_repromotion_takes_admin_out_of_managers_team(db: Database) -> None:
    with db.session() as session:
        manager = make_member(session, role=Role.MANAGER)
        member = make_member(session, role=Role.SALES, manager=manager)
    profile = make_profile(telegram_id=member.telegram_id)
    db.run_sync(get_active_member, profile=profile, admin_ids=frozenset({profile.telegram_id}))
    assert reload(db, member).manager_id is None


def test_get_active_member_returns_none_for_stranger(db: Database) -> None:
    profile = make_profile()
    with db.session() as session:
        make_member(session, role=Role.ADMIN)
    found = db.run_sync(get_active_member, profile=profile, admin_ids=frozenset({1}))
    assert found is None
    with db.session() as session:
        assert count_members(session, profile.telegram_id) == 0


def test_get_active_member_returns_none_for_deactivated_member(db: Database) -> None:
    with db.session() as session:
        member = make_member(session, active=False)
    profile = make_profile(telegram_id=member.telegram_id)
    assert db.run_sync(get_active_member, profile=profile, admin_ids=frozenset()) is None


def test_get_active_member_returns_active_member(db: Database) -> None:
    with db.session() as session:
        member = make_member(session, role=Role.MANAGER)
    profile = make_profile(
        telegram_id=member.telegram_id, display_name=member.display_name, username=member.username
    )
    found = db.run_sync(get_active_member, profile=profile, admin_ids=frozenset())
    assert found is not None
    assert (found.id, found.role) == (member.id, Role.MANAGER)


def test_get_active_member_refreshes_display_name_and_username(db: Database) -> None:
    with db.session() as session:
        member = make_member(session)
    profile = make_profile(telegram_id=member.telegram_id, display_name="李娜 Li", username="lina")
    db.run_sync(get_active_member, profile=profile, admin_ids=frozenset())
    stored = reload(db, member)
    assert (stored.display_name, stored.username) == ("李娜 Li", "lina")
    assert stored.updated_at > member.updated_at


def test_get_active_member_keeps_the_telegram_language_until_one_is_picked(db: Database) -> None:
    """Reminders and digests are sent with no update at hand: a member who never picked a
    language gets them in their Telegram app's, which is remembered on contact."""
    with db.session() as session:
        member = make_member(session)
    same = {"display_name": member.display_name, "username": member.username}
    chinese = make_profile(telegram_id=member.telegram_id, language_code="zh", **same)
    assert not is_current(reload(db, member), profile=chinese, admin_ids=frozenset())
    db.run_sync(get_active_member, profile=chinese, admin_ids=frozenset())
    assert reload(db, member).language == "zh"
    english = make_profile(telegram_id=member.telegram_id, language_code="en", **same)
    assert is_current(reload(db, member), profile=english, admin_ids=frozenset())
    db.run_sync(get_active_member, profile=english, admin_ids=frozenset())
    assert reload(db, member).language == "zh"  # a language once kept or picked stays


# update_member


def test_update_member_changes_role_with_audit_entry(db: Database) -> None:
    with db.session() as session:
        admin = make_member(session, role=Role.ADMIN)
        member = make_member(session)
    db.run_sync(update_member, actor=admin, member_id=pk(member), role=Role.MANAGER)
    assert reload(db, member).role == Role.MANAGER
    [entry] = member_audit(db, member)
    assert (entry.action, entry.actor_id) == ("update", admin.id)
    assert entry.changes == {"role": [Role.SALES, Role.MANAGER]}


def test_update_member_deactivates_with_audit_entry(db: Database) -> None:
    with db.session() as session:
        admin = make_member(session, role=Role.ADMIN)
        member = make_member(session)
    db.run_sync(update_member, actor=admin, member_id=pk(member), active=False)
    assert reload(db, member).active is False
    [entry] = member_audit(db, member)
    assert entry.changes == {"active": [True, False]}


def test_update_member_sets_manager_with_audit_entry(db: Database) -> None:
    with db.session() as session:
        admin = make_member(session, role=Role.ADMIN)
        manager = make_member(session, role=Role.MANAGER)
        member = make_member(session)
    db.run_sync(update_member, actor=admin, member_id=pk(member), manager_id=pk(manager))
    assert reload(db, member).manager_id == manager.id
    [entry] = member_audit(db, member)
    assert entry.changes == {"manager_id": [None, manager.id]}


def test_update_member_clears_manager_when_asked(db: Database) -> None:
    with db.session() as session:
        admin = make_member(session, role=Role.ADMIN)
        manager = make_member(session, role=Role.MANAGER)
        member = make_member(session, manager=manager)
    db.run_sync(update_member, actor=admin, member_id=pk(member), clear_manager=True)
    assert reload(db, member).manager_id is None


def test_update_member_clears_manager_when_role_leaves_sales(db: Database) -> None:
    with db.session() as session:
        admin = make_member(session, role=Role.ADMIN)
        manager = make_member(session, role=Role.MANAGER)
        member = make_member(session, manager=manager)
    db.run_sync(update_member, actor=admin, member_id=pk(member), role=Role.MANAGER)
    assert reload(db, member).manager_id is None
    [entry] = member_audit(db, member)
    assert entry.changes == {"role": [Role.SALES, Role.MANAGER], "manager_id": [manager.id, None]}


def test_update_member_records_no_audit_when_nothing_changes(db: Database) -> None:
    with db.session() as session:
        admin = make_member(session, role=Role.ADMIN)
        member = make_member(session, role=Role.MANAGER)
    db.run_sync(update_member, actor=admin, member_id=pk(member), role=Role.MANAGER, active=True)
    assert member_audit(db, member) == []


@pytest.mark.parametrize("actor_role", [Role.MANAGER, Role.SALES])
def test_update_member_raises_not_allowed_for_non_admin(db: Database, actor_role: Role) -> None:
    with db.session() as session:
        actor = make_member(session, role=actor_role)
        member = make_member(session, manager=actor if actor_role == Role.MANAGER else None)
    with pytest.raises(NotAllowed):
        db.run_sync(update_member, actor=actor, member_id=pk(member), active=False)
    assert reload(db, member).active is True


@pytest.mark.parametrize(
    "change", [{"role": Role.MANAGER}, {"role": Role.SALES}, {"active": False}]
)
def test_update_member_refuses_admin_locking_themselves_out(
    db: Database, change: dict[str, object]
) -> None:
    with db.session() as session:
        admin = make_member(session, role=Role.ADMIN)
    with pytest.raises(NotAllowed):
        db.run_sync(update_member, actor=admin, member_id=pk(admin), **change)  # type: ignore[arg-type]
    stored = reload(db, admin)
    assert (stored.role, stored.active) == (Role.ADMIN, True)


@pytest.mark.parametrize("manager_role", [Role.SALES, Role.ADMIN])
def test_update_member_refuses_non_manager_as_manager(db: Database, manager_role: Role) -> None:
    with db.session() as session:
        admin = make_member(session, role=Role.ADMIN)
        not_a_manager = make_member(session, role=manager_role)
        member = make_member(session)
    with pytest.raises(NotAllowed):
        db.run_sync(update_member, actor=admin, member_id=pk(member), manager_id=pk(not_a_manager))
    assert reload(db, member).manager_id is None


# list_members


def test_list_members_orders_active_by_role_then_name_and_inactive_last(db: Database) -> None:
    with db.session() as session:
        admin = make_member(session, role=Role.ADMIN, display_name="Zed")
        make_member(session, role=Role.SALES, display_name="Amy")
        make_member(session, role=Role.MANAGER, display_name="Carl")
        make_member(session, role=Role.MANAGER, display_name="Bob")
        make_member(session, role=Role.SALES, display_name="Aaron", active=False)
        make_member(session, role=Role.SALES, display_name="Bea")
    names = [m.display_name for m in db.read_sync(list_members, actor=admin)]
    assert names == ["Zed", "Bob", "Carl", "Amy", "Bea", "Aaron"]


def test_list_members_gives_manager_only_self_and_team(db: Database) -> None:
    with db.session() as session:
        manager = make_member(session, role=Role.MANAGER)
        mine = make_member(session, manager=manager)
        other_manager = make_member(session, role=Role.MANAGER)
        make_member(session, manager=other_manager)
        make_member(session, role=Role.ADMIN)
    listed = db.read_sync(list_members, actor=manager)
    assert [m.id for m in listed] == [manager.id, mine.id]


def test_list_members_gives_sales_only_themselves(db: Database) -> None:
    with db.session() as session:
        manager = make_member(session, role=Role.MANAGER)
        sales = make_member(session, manager=manager)
        make_member(session, manager=manager)
    assert [m.id for m in db.read_sync(list_members, actor=sales)] == [sales.id]


# set_reachable


def test_set_reachable_false_marks_member_unreachable(db: Database) -> None:
    with db.session() as session:
        member = make_member(session)
    db.run_sync(set_reachable, member_id=pk(member), reachable=False)
    assert reload(db, member).unreachable_at is not None


def test_set_reachable_false_keeps_first_unreachable_time(db: Database) -> None:
    with db.session() as session:
        member = make_member(session)
        member.unreachable_at = LONG_AGO
    db.run_sync(set_reachable, member_id=pk(member), reachable=False)
    assert reload(db, member).unreachable_at == LONG_AGO


def test_set_reachable_true_clears_unreachable(db: Database) -> None:
    with db.session() as session:
        member = make_member(session)
        member.unreachable_at = LONG_AGO
    db.run_sync(set_reachable, member_id=pk(member), reachable=True)
    assert reload(db, member).unreachable_at is None


def test_update_member_demoting_a_manager_releases_their_team(db: Database) -> None:
    with db.session() as session:
        admin = make_member(session, role=Role.ADMIN)
        manager = make_member(session, role=Role.MANAGER)
        sales = make_member(session, role=Role.SALES, manager=manager)
        other = make_member(session, role=Role.SALES)
    db.run_sync(update_member, actor=admin, member_id=pk(manager), role=Role.SALES)
    with db.session() as session:
        assert session.get_one(Member, pk(sales)).manager_id is None
        assert session.get_one(Member, pk(other)).manager_id is None
        entries = list_audit(session, entity_type="member", entity_id=pk(sales))
        assert [e.changes for e in entries] == [{"manager_id": [pk(manager), None]}]


@pytest.mark.parametrize(
    ("stored", "in_config", "renamed", "current"),
    [
        (None, False, False, True),  # a stranger: nothing to write, they stay a stranger
        (None, True, False, False),  # an admin from the config writing first: registered
        ({"role": Role.SALES}, False, False, True),
        ({"role": Role.SALES}, False, True, False),  # a new Telegram name is picked up
        ({"role": Role.SALES, "active": False}, False, True, True),  # deactivated: untouched
        ({"role": Role.SALES}, True, False, False),  # named admin in the config: promoted
        ({"role": Role.ADMIN, "active": False}, True, False, False),  # re-activated
        ({"role": Role.ADMIN}, True, False, True),
    ],
)
def test_is_current_is_true_exactly_when_get_active_member_writes_nothing(
    db: Database,
    stored: dict[str, object] | None,
    in_config: bool,
    renamed: bool,
    current: bool,
) -> None:
    """The gate reads instead of writing when `is_current`: the two must agree."""
    with db.session() as session:
        member = make_member(session, **stored) if stored is not None else None  # type: ignore[arg-type]
        telegram_id = member.telegram_id if member is not None else 424242
        profile = make_profile(
            telegram_id=telegram_id,
            display_name=member.display_name if member and not renamed else "New Name",
            username=member.username if member else None,
        )
        admin_ids = frozenset({telegram_id}) if in_config else frozenset()
        assert is_current(member, profile=profile, admin_ids=admin_ids) is current
        get_active_member(session, profile=profile, admin_ids=admin_ids)
        wrote = bool(session.new or session.dirty)
        session.rollback()
    assert wrote is not current
