"""Single-use, expiring invite codes carried by a `t.me/<bot>?start=<code>` deep link."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage.access import NotAllowed, may_invite
from storage.audit import record_audit
from storage.members import TelegramProfile, get_member_by_telegram_id
from storage.models import Invite, Member, Role, utcnow

CODE_BYTES = 12  # 16 url-safe characters: unguessable, far below the 64-character payload limit


class InviteProblem(StrEnum):
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    ALREADY_MEMBER = "already_member"
    WITHDRAWN = "withdrawn"  # the inviter is deactivated or may no longer invite this role


def create_invite(
    session: Session, *, actor: Member, role: Role, ttl: timedelta, now: datetime | None = None
) -> Invite:
    """A new code; a manager's invitees join that manager's team."""
    if not may_invite(actor, role):
        raise NotAllowed
    now = now or utcnow()
    invite = Invite(
        code=secrets.token_urlsafe(CODE_BYTES),
        role=role,
        manager_id=actor.id if actor.role == Role.MANAGER else None,
        created_by_id=actor.id,  # type: ignore[arg-type]
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(invite)
    return invite


def redeem_invite(
    session: Session, *, code: str, profile: TelegramProfile, now: datetime | None = None
) -> Member | InviteProblem:
    """Register the Telegram user with the invite's role, using the code up atomically.

    The conditional UPDATE makes two simultaneous redemptions of one code impossible on
    SQLite and PostgreSQL alike. A link is only as good as its inviter now: one sent by a
    member since deactivated, or whose current role may not invite this role (a manager made
    a salesperson), is refused and stays unused, since it would place a newcomer in a team
    nobody leads any more.
    """
    now = now or utcnow()
    invite = session.exec(select(Invite).where(col(Invite.code) == code)).first()
    if invite is None:
        return InviteProblem.UNKNOWN
    if invite.used_at is not None:
        return InviteProblem.USED
    if invite.expires_at <= now:
        return InviteProblem.EXPIRED
    inviter = session.get(Member, invite.created_by_id)
    if inviter is None or not inviter.active or not may_invite(inviter, Role(invite.role)):
        return InviteProblem.WITHDRAWN
    member = get_member_by_telegram_id(session, telegram_id=profile.telegram_id)
    if member is not None and member.active:
        return InviteProblem.ALREADY_MEMBER
    claimed = session.execute(
        update(Invite)
        .where(col(Invite.id) == invite.id, col(Invite.used_at).is_(None))
        .values(used_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return InviteProblem.USED
    if member is None:
        member = Member(telegram_id=profile.telegram_id, display_name=profile.display_name)
        session.add(member)
    member.username = profile.username
    member.display_name = profile.display_name
    member.language = member.language or profile.language_code
    # A manager since made admin leads no team: the newcomer joins without one.
    manager_id = invite.manager_id if inviter.role == Role.MANAGER else None
    member.role = invite.role
    member.manager_id = manager_id
    member.active = True
    member.updated_at = now
    session.flush()
    session.execute(update(Invite).where(col(Invite.id) == invite.id).values(used_by_id=member.id))
    record_audit(
        session,
        actor_id=invite.created_by_id,
        action="invite",
        entity_type="member",
        entity_id=member.id,  # type: ignore[arg-type]
        changes={"role": [None, invite.role], "manager_id": [None, manager_id]},
    )
    return member
