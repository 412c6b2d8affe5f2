"""Invite codes: who may create them, and redeeming them exactly once before they expire."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from storage.access import NotAllowed
from storage.audit import list_audit
from storage.db import Database
from storage.invites import InviteProblem, create_invite, redeem_invite
from storage.members import TelegramProfile
from storage.models import Invite, Member, Role
from tests.factories import make_member, make_profile

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
TTL = timedelta(hours=72)


def invite_from(db: Database, role: Role, *, inviter_role: Role = Role.ADMIN) -> Invite:
    with db.session() as session:
        inviter = make_member(session, role=inviter_role)
        return create_invite(session, actor=inviter, role=role, ttl=TTL, now=NOW)


def redeem(
    db: Database, code: str, profile: TelegramProfile, now: datetime = NOW + timedelta(hours=1)
) -> Member | InviteProblem:
    return db.run_sync(redeem_invite, code=code, profile=profile, now=now)


def stored_invite(db: Database, code: str) -> Invite:
    return db.read_sync(
        lambda session: session.exec(select(Invite).where(col(Invite.code) == code)).one()
    )


def members_with(db: Database, *telegram_ids: int) -> list[Member]:
    return db.read_sync(
        lambda session: list(
            session.exec(select(Member).where(col(Member.telegram_id).in_(telegram_ids)))
        )
    )


# create_invite


def test_create_invite_by_manager_carries_manager_id(db: Database) -> None:
    with db.session() as session:
        manager = make_member(session, role=Role.MANAGER)
        invite = create_invite(session, actor=manager, role=Role.SALES, ttl=TTL, now=NOW)
    stored = stored_invite(db, invite.code)
    assert (stored.role, stored.manager_id, stored.created_by_id) == (
        Role.SALES,
        manager.id,
        manager.id,
    )
    assert stored.expires_at == NOW + TTL


def test_create_invite_by_admin_has_no_manager(db: Database) -> None:
    invite = invite_from(db, Role.MANAGER)
    assert stored_invite(db, invite.code).manager_id is None


def test_create_invite_raises_not_allowed_for_sales(db: Database) -> None:
    with db.session() as session:
        sales = make_member(session)
        with pytest.raises(NotAllowed):
            create_invite(session, actor=sales, role=Role.SALES, ttl=TTL)


def test_create_invite_raises_not_allowed_for_manager_inviting_manager(db: Database) -> None:
    with db.session() as session:
        manager = make_member(session, role=Role.MANAGER)
        with pytest.raises(NotAllowed):
            create_invite(session, actor=manager, role=Role.MANAGER, ttl=TTL)


def test_create_invite_makes_unique_codes_within_deep_link_limit(db: Database) -> None:
    with db.session() as session:
        admin = make_member(session, role=Role.ADMIN)
        codes = [
            create_invite(session, actor=admin, role=Role.SALES, ttl=TTL).code for _ in range(50)
        ]
    assert len(set(codes)) == len(codes)
    # A deep-link payload allows 64 characters of A-Z, a-z, 0-9, _ and -.
    assert all(0 < len(code) <= 64 for code in codes)
    assert all(code.replace("_", "").replace("-", "").isalnum() for code in codes)
    assert all(code.isascii() for code in codes)


# redeem_invite


def test_redeem_invite_registers_member_in_managers_team(db: Database) -> None:
    with db.session() as session:
        manager = make_member(session, role=Role.MANAGER)
        invite = create_invite(session, actor=manager, role=Role.SALES, ttl=TTL, now=NOW)
    profile = make_profile()
    redeemed_at = NOW + timedelta(hours=1)
    member = redeem(db, invite.code, profile, now=redeemed_at)
    assert isinstance(member, Member)
    [stored] = members_with(db, profile.telegram_id)
    assert (stored.id, stored.role, stored.manager_id, stored.active) == (
        member.id,
        Role.SALES,
        manager.id,
        True,
    )
    assert (stored.display_name, stored.username) == (profile.display_name, profile.username)
    used = stored_invite(db, invite.code)
    assert (used.used_at, used.used_by_id) == (redeemed_at, member.id)


def test_redeem_invite_records_audit_entry(db: Database) -> None:
    with db.session() as session:
        manager = make_member(session, role=Role.MANAGER)
        invite = create_invite(session, actor=manager, role=Role.SALES, ttl=TTL, now=NOW)
    member = redeem(db, invite.code, make_profile())
    assert isinstance(member, Member)
    assert member.id is not None
    [entry] = db.read_sync(list_audit, entity_type="member", entity_id=member.id)
    assert (entry.action, entry.actor_id) == ("invite", manager.id)
    assert entry.changes == {"role": [None, Role.SALES], "manager_id": [None, manager.id]}


def test_redeem_invite_returns_used_the_second_time(db: Database) -> None:
    invite = invite_from(db, Role.SALES)
    assert isinstance(redeem(db, invite.code, make_profile()), Member)
    late = make_profile()
    assert redeem(db, invite.code, late) == InviteProblem.USED
    assert members_with(db, late.telegram_id) == []


def test_redeem_invite_returns_expired_after_ttl(db: Database) -> None:
    invite = invite_from(db, Role.SALES)
    profile = make_profile()
    assert redeem(db, invite.code, profile, now=NOW + TTL + timedelta(seconds=1)) == (
        InviteProblem.EXPIRED
    )
    assert members_with(db, profile.telegram_id) == []
    assert stored_invite(db, invite.code).used_at is None


def test_redeem_invite_accepts_code_just_before_expiry(db: Database) -> None:
    invite = invite_from(db, Role.SALES)
    member = redeem(db, invite.code, make_profile(), now=NOW + TTL - timedelta(seconds=1))
    assert isinstance(member, Member)


def test_redeem_invite_returns_unknown_for_unknown_code(db: Database) -> None:
    invite_from(db, Role.SALES)
    assert redeem(db, "no-such-code", make_profile()) == InviteProblem.UNKNOWN


def test_redeem_invite_returns_already_member_and_keeps_invite_unused(db: Database) -> None:
    invite = invite_from(db, Role.MANAGER)
    with db.session() as session:
        member = make_member(session, role=Role.SALES)
    result = redeem(db, invite.code, make_profile(telegram_id=member.telegram_id))
    assert result == InviteProblem.ALREADY_MEMBER
    assert stored_invite(db, invite.code).used_at is None
    [stored] = members_with(db, member.telegram_id)
    assert stored.role == Role.SALES


def test_redeem_invite_reactivates_deactivated_member_with_new_role(db: Database) -> None:
    with db.session() as session:
        old_manager = make_member(session, role=Role.MANAGER)
        member = make_member(session, role=Role.SALES, manager=old_manager, active=False)
    invite = invite_from(db, Role.MANAGER)
    result = redeem(db, invite.code, make_profile(telegram_id=member.telegram_id))
    assert isinstance(result, Member)
    [stored] = members_with(db, member.telegram_id)
    assert (stored.id, stored.active, stored.role, stored.manager_id) == (
        member.id,
        True,
        Role.MANAGER,
        None,
    )


def _change_inviter(db: Database, invite: Invite, **values: object) -> None:
    def change(session: Session) -> None:
        inviter = session.get_one(Member, invite.created_by_id)
        for name, value in values.items():
            setattr(inviter, name, value)

    db.run_sync(change)


@pytest.mark.parametrize(
    ("inviter_role", "role", "change"),
    [
        (Role.MANAGER, Role.SALES, {"active": False}),
        (Role.MANAGER, Role.SALES, {"role": Role.SALES}),
        (Role.ADMIN, Role.MANAGER, {"role": Role.MANAGER}),
        (Role.ADMIN, Role.SALES, {"active": False}),
    ],
)
def test_redeem_invite_refuses_when_inviter_may_no_longer_invite(
    db: Database, inviter_role: Role, role: Role, change: dict[str, object]
) -> None:
    invite = invite_from(db, role, inviter_role=inviter_role)
    _change_inviter(db, invite, **change)
    profile = make_profile()
    assert redeem(db, invite.code, profile) == InviteProblem.WITHDRAWN
    assert members_with(db, profile.telegram_id) == []
    assert stored_invite(db, invite.code).used_at is None


def test_redeem_invite_of_manager_since_made_admin_joins_no_team(db: Database) -> None:
    invite = invite_from(db, Role.SALES, inviter_role=Role.MANAGER)
    _change_inviter(db, invite, role=Role.ADMIN)
    member = redeem(db, invite.code, make_profile())
    assert isinstance(member, Member)
    assert (member.role, member.manager_id) == (Role.SALES, None)


def test_redeem_invite_concurrently_registers_exactly_one_member(db: Database) -> None:
    invite = invite_from(db, Role.SALES)
    profiles = [make_profile(), make_profile()]
    barrier = threading.Barrier(len(profiles))

    def attempt(profile: TelegramProfile) -> Member | InviteProblem:
        barrier.wait(timeout=10)
        return redeem(db, invite.code, profile)

    with ThreadPoolExecutor(max_workers=len(profiles)) as pool:
        results = list(pool.map(attempt, profiles))

    assert sorted(isinstance(r, Member) for r in results) == [False, True]
    assert [r for r in results if not isinstance(r, Member)] == [InviteProblem.USED]
    [winner] = members_with(db, *(p.telegram_id for p in profiles))
    assert stored_invite(db, invite.code).used_by_id == winner.id
