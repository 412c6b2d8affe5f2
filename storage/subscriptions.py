"""What members asked to get on a schedule (`/subscribe report weekly`), one row per kind."""

from __future__ import annotations

from sqlalchemy import delete
from sqlmodel import Session, col, select

from storage.access import actor_id
from storage.models import Member
from storage.notification_models import Subscription

REPORT = "report"
WEEKLY = "weekly"


def get_subscription(session: Session, *, actor: Member, kind: str) -> Subscription | None:
    return session.exec(
        select(Subscription).where(
            col(Subscription.member_id) == actor_id(actor), col(Subscription.kind) == kind
        )
    ).first()


def create_subscription(session: Session, *, actor: Member, kind: str, cadence: str) -> bool:
    """Subscribe; False if it already was (asking twice changes nothing).

    Runs in `Database.run`'s BEGIN IMMEDIATE on SQLite; on PostgreSQL two racing inserts hit
    the unique (member, kind) constraint and the second one fails loudly rather than twice.
    """
    existing = get_subscription(session, actor=actor, kind=kind)
    if existing is not None:
        existing.cadence = cadence
        return False
    session.add(Subscription(member_id=actor_id(actor), kind=kind, cadence=cadence))
    return True


def delete_subscription(session: Session, *, actor: Member, kind: str) -> bool:
    """Unsubscribe; False if there was nothing to stop."""
    result = session.execute(
        delete(Subscription).where(
            col(Subscription.member_id) == actor_id(actor), col(Subscription.kind) == kind
        )
    )
    return bool(getattr(result, "rowcount", 0))


def list_subscribers(session: Session, *, kind: str, cadence: str) -> list[Member]:
    """Active members subscribed to `kind` at `cadence` who have not blocked the bot."""
    return list(
        session.exec(
            select(Member)
            .join(Subscription, col(Subscription.member_id) == col(Member.id))
            .where(
                col(Subscription.kind) == kind,
                col(Subscription.cadence) == cadence,
                col(Member.active).is_(True),
                col(Member.unreachable_at).is_(None),
            )
            .order_by(col(Member.id))
        )
    )
