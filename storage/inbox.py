"""The update inbox: every accepted Telegram update, keyed by update_id.

Telegram considers an update delivered as soon as the next poll confirms it (or the webhook
answered 200), before we handled it (PITFALLS). Recording it here first means a crash with a
backlog loses nothing (pending rows are replayed at start) and a re-delivered update is
recognised and skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import update
from sqlmodel import Session, col, delete, select

from storage.models import InboxUpdate, utcnow


class InboxStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"


def record_received(session: Session, *, updates: Iterable[tuple[int, str]]) -> list[int]:
    """Store new updates as pending; return the ids that were new (the others are repeats)."""
    batch = list(updates)
    if not batch:
        return []
    ids = [update_id for update_id, _ in batch]
    known = set(
        session.exec(select(InboxUpdate.update_id).where(col(InboxUpdate.update_id).in_(ids)))
    )
    fresh = []
    for update_id, payload in batch:
        if update_id not in known:
            session.add(InboxUpdate(update_id=update_id, payload=payload))
            known.add(update_id)
            fresh.append(update_id)
    return fresh


def claim_update(session: Session, *, update_id: int, payload: str) -> bool:
    """True when this update should be handled now: it is new, or recorded but not yet done."""
    row = session.get(InboxUpdate, update_id)
    if row is None:
        session.add(InboxUpdate(update_id=update_id, payload=payload))
        return True
    return row.status == InboxStatus.PENDING


def mark_handled(session: Session, *, update_id: int) -> None:
    session.execute(
        update(InboxUpdate)
        .where(col(InboxUpdate.update_id) == update_id)
        .values(status=InboxStatus.DONE, handled_at=utcnow())
    )


def list_pending(session: Session, *, limit: int = 1000) -> list[InboxUpdate]:
    """Updates accepted but never finished: the backlog of a process that died."""
    return list(
        session.exec(
            select(InboxUpdate)
            .where(col(InboxUpdate.status) == InboxStatus.PENDING)
            .order_by(col(InboxUpdate.update_id))
            .limit(limit)
        )
    )


def prune_handled(session: Session, *, older_than: timedelta, now: datetime | None = None) -> int:
    cutoff = (now or utcnow()) - older_than
    result = session.execute(
        delete(InboxUpdate).where(
            col(InboxUpdate.status) == InboxStatus.DONE, col(InboxUpdate.handled_at) < cutoff
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
