"""Team members: registration, roles, teams, language, deactivation."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from storage.access import NotAllowed, may_administer_members, member_scope, require_member
from storage.audit import diff, record_audit
from storage.models import Member, Role, utcnow


@dataclass(frozen=True)
class TelegramProfile:
    """What Telegram tells us about a user, used to create or refresh a member."""

    telegram_id: int
    display_name: str
    username: str | None = None
    language_code: str | None = None


# Built once: the gate reads a member for most updates, and building the query cost more
# than running it.
_BY_TELEGRAM_ID = select(Member).where(col(Member.telegram_id) == bindparam("telegram_id"))


def get_member_by_telegram_id(session: Session, *, telegram_id: int) -> Member | None:
    return session.scalars(_BY_TELEGRAM_ID, {"telegram_id": telegram_id}).first()


def get_active_member(
    session: Session, *, profile: TelegramProfile, admin_ids: frozenset[int]
) -> Member | None:
    """The active member behind a Telegram user, or None for a stranger.

    Admins named in the config are registered (or re-promoted and re-activated) on first
    contact, so a fresh install needs no manual database step. Name changes are picked up.
    """
    member = get_member_by_telegram_id(session, telegram_id=profile.telegram_id)
    if profile.telegram_id in admin_ids:
        if member is None:
            member = Member(
                telegram_id=profile.telegram_id,
                display_name=profile.display_name,
                username=profile.username,
                role=Role.ADMIN,
            )
            session.add(member)
            session.flush()
            record_audit(
                session,
                actor_id=None,
                action="create",
                entity_type="member",
                entity_id=_id(member),
                changes={"role": [None, Role.ADMIN], "via": "config"},
            )
        elif member.role != Role.ADMIN or not member.active or member.manager_id is not None:
            before = {
                "role": member.role,
                "active": member.active,
                "manager_id": member.manager_id,
            }
            member.role, member.active, member.manager_id = Role.ADMIN, True, None
            record_audit(
                session,
                actor_id=None,
                action="update",
                entity_type="member",
                entity_id=_id(member),
                changes={
                    **diff(before, {"role": Role.ADMIN, "active": True, "manager_id": None}),
                    "via": "config",
                },
            )
    if member is None or not member.active:
        return None
    if (member.display_name, member.username) != (profile.display_name, profile.username):
        member.display_name, member.username = profile.display_name, profile.username
        member.updated_at = utcnow()
    if _telegram_language_to_keep(member, profile):
        member.language = profile.language_code
        member.updated_at = utcnow()
    return member


def _telegram_language_to_keep(member: Member, profile: TelegramProfile) -> bool:
    """A member who never picked a language keeps their Telegram app's (when the bot speaks
    it): messages sent with no update at hand, reminders and digests, then use it too."""
    return member.language is None and profile.language_code is not None


def is_current(
    member: Member | None, *, profile: TelegramProfile, admin_ids: frozenset[int]
) -> bool:
    """True when `get_active_member` would write nothing for this profile: the common case,
    which the gate then serves with a read (a write transaction on every update was a large
    part of each update's latency, and on SQLite every writer waits its turn)."""
    if profile.telegram_id in admin_ids and (
        member is None
        or member.role != Role.ADMIN
        or not member.active
        or member.manager_id is not None
    ):
        return False
    if member is None or not member.active:
        return True
    return (member.display_name, member.username) == (
        profile.display_name,
        profile.username,
    ) and not _telegram_language_to_keep(member, profile)


def list_members(session: Session, *, actor: Member) -> list[Member]:
    """The members actor may see, managers and admins first, then by name."""
    members = session.exec(select(Member).where(member_scope(actor)))
    order = {Role.ADMIN: 0, Role.MANAGER: 1, Role.SALES: 2}
    return sorted(
        members,
        key=lambda m: (not m.active, order.get(Role(m.role), 3), m.display_name, m.id or 0),
    )


def overseers(session: Session, owner: Member) -> list[Member]:
    """Who answers for `owner`'s records: their active manager; without one (a manager's or an
    admin's own records, or a salesperson whose manager left), the active admins, so an alert
    about them (an urgent ticket, a falling score) is not lost."""
    manager = session.get(Member, owner.manager_id) if owner.manager_id is not None else None
    if manager is not None and manager.active:
        return [manager]
    admins = select(Member).where(col(Member.role) == Role.ADMIN, col(Member.active))
    return list(session.exec(admins.order_by(col(Member.id))).all())


def list_managers(session: Session) -> list[Member]:
    return list(
        session.exec(
            select(Member)
            .where(col(Member.role) == Role.MANAGER, col(Member.active).is_(True))
            .order_by(col(Member.display_name))
        )
    )


def update_member(
    session: Session,
    *,
    actor: Member,
    member_id: int,
    role: Role | None = None,
    active: bool | None = None,
    manager_id: int | None = None,
    clear_manager: bool = False,
) -> Member:
    """Admin-only changes to a member: role, active flag, team. Audited."""
    if not may_administer_members(actor):
        raise NotAllowed
    member = require_member(session, actor=actor, member_id=member_id)
    if member.id == actor.id and (role not in (None, Role.ADMIN) or active is False):
        raise NotAllowed  # an admin cannot lock themselves out
    before = {"role": member.role, "active": member.active, "manager_id": member.manager_id}
    if role is not None:
        if member.role == Role.MANAGER and role != Role.MANAGER:
            _release_team(session, manager=member, actor=actor)
        member.role = role
        if role != Role.SALES:
            member.manager_id = None
    if active is not None:
        member.active = active
    if manager_id is not None:
        manager = require_member(session, actor=actor, member_id=manager_id)
        if manager.role != Role.MANAGER:
            raise NotAllowed
        member.manager_id = manager.id
    if clear_manager:
        member.manager_id = None
    after = {"role": member.role, "active": member.active, "manager_id": member.manager_id}
    if changes := diff(before, after):
        member.updated_at = utcnow()
        record_audit(
            session,
            actor_id=actor.id,
            action="update",
            entity_type="member",
            entity_id=_id(member),
            changes=changes,
        )
    return member


def _release_team(session: Session, *, manager: Member, actor: Member) -> None:
    """A manager who stops being one leaves their salespeople without a team (admins regroup
    them), rather than pointing at someone who no longer manages."""
    for member in session.exec(select(Member).where(col(Member.manager_id) == manager.id)):
        member.manager_id = None
        record_audit(
            session,
            actor_id=actor.id,
            action="update",
            entity_type="member",
            entity_id=_id(member),
            changes={"manager_id": [manager.id, None]},
        )


def set_member_language(session: Session, *, member_id: int, language: str) -> Member:
    member = session.get_one(Member, member_id)
    member.language = language
    member.updated_at = utcnow()
    return member


def set_reachable(session: Session, *, member_id: int, reachable: bool) -> None:
    """Blocking the bot makes a member unreachable (no sends) until they write again."""
    member = session.get_one(Member, member_id)
    if reachable:
        member.unreachable_at = None
    elif member.unreachable_at is None:
        member.unreachable_at = utcnow()


def _id(member: Member) -> int:
    assert member.id is not None
    return member.id
