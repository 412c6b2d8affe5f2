"""The update inbox: every accepted Telegram update, keyed by update_id, leased to one instance.

Telegram considers an update delivered as soon as the next poll confirms it (or the webhook
answered 200), before we handled it (docs/update-inbox.md). Recording it here first: a crash with a
backlog loses nothing (pending rows are replayed) and a re-delivered update is recognised and
skipped.

With several instances on one database, a pending update is leased to the instance handling
it (`claimed_by`, `claimed_until`); the holder renews its leases while it lives. Another
instance only takes a pending update whose lease ran out (its holder died), atomically: a
conditional UPDATE for one update, `FOR UPDATE SKIP LOCKED` for a batch on PostgreSQL, and the
BEGIN IMMEDIATE transaction of `Database.run` on SQLite.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple

from sqlalchemy import bindparam, false, func, or_, text, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from storage.models import InboxUpdate, utcnow
from storage.prepared import PreparedSelect

_TABLE = InboxUpdate.__table__  # type: ignore[attr-defined]


class InboxStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"


class Received(NamedTuple):
    """An update as the inbox stores it; `chat_id` is its chat, else its user."""

    update_id: int
    payload: str
    chat_id: int | None = None


def record_received(
    session: Session,
    *,
    updates: Iterable[Received | tuple[int, str]],
    worker: str | None = None,
    lease: timedelta | None = None,
    handled: bool = False,
    now: datetime | None = None,
) -> list[int]:
    """Store new updates as pending; return the ids that were new (the others are repeats).

    With `worker` and `lease` the new rows are leased to that worker, so no other instance
    replays them while it handles them. Without, they are free for the next replay. A repeat
    keeps its row as it is; two instances recording the same update at once is no error.
    `handled=True` stores them as done at once: updates this instance has already answered
    (`bot.inbox_writer`), one write instead of a record and a mark.
    """
    batch: dict[int, Received] = {}
    for item in updates:
        received = Received(*item)
        batch.setdefault(received.update_id, received)
    if not batch:
        return []
    now = now or utcnow()
    until = now + lease if worker is not None and lease is not None and not handled else None
    status = InboxStatus.DONE if handled else InboxStatus.PENDING
    values = [
        {
            "update_id": received.update_id,
            "payload": received.payload,
            "chat_id": received.chat_id,
            "status": status.value,
            "received_at": now,
            "handled_at": now if handled else None,
            "claimed_by": worker if until or handled else None,
            "claimed_until": until,
        }
        for received in batch.values()
    ]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (  # Core, not the ORM: this runs for every update and costs half as much
        insert(_TABLE)
        .values(values)
        .on_conflict_do_nothing(index_elements=["update_id"])
        .returning(_TABLE.c.update_id)
    )
    fresh = set(session.execute(statement).scalars())
    return [update_id for update_id in batch if update_id in fresh]


def record_in_chat_order(
    session: Session,
    *,
    updates: Iterable[Received],
    worker: str,
    lease: timedelta,
    now: datetime | None = None,
) -> tuple[list[int], set[int]]:
    """`record_received` for an instance among several: (new ids, ids queued behind).

    An update is queued behind when an earlier update of its chat is pending: the member's
    previous message, still being handled at another instance, or left by one that died (then
    the instance that handles this one takes it over first, `bot.processing`). On PostgreSQL the
    chats are locked for the transaction first, so of two instances recording one chat's
    updates at the same moment the second sees the first's row."""
    batch = list(updates)
    now = now or utcnow()
    if session.get_bind().dialect.name == "postgresql":
        for chat_id in sorted({r.chat_id for r in batch if r.chat_id is not None}):
            session.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                {"key": f"inbox-chat:{chat_id}"},
            )
    fresh = record_received(session, updates=batch, worker=worker, lease=lease, now=now)
    new = set(fresh)
    behind = {
        r.update_id
        for r in batch
        if r.update_id in new
        and r.chat_id is not None
        and earliest_pending(session, chat_id=r.chat_id, update_id=r.update_id) is not None
    }
    return fresh, behind


def earliest_pending(session: Session, *, chat_id: int, update_id: int) -> InboxUpdate | None:
    """The oldest unhandled update of `chat_id` before `update_id`: what must go first."""
    return session.scalars(
        select(InboxUpdate)
        .where(
            col(InboxUpdate.chat_id) == chat_id,
            col(InboxUpdate.status) == InboxStatus.PENDING,
            col(InboxUpdate.update_id) < update_id,
        )
        .order_by(col(InboxUpdate.update_id))
        .limit(1)
    ).first()


def claim_update(
    session: Session,
    *,
    update_id: int,
    payload: str,
    chat_id: int | None = None,
    worker: str,
    lease: timedelta,
    now: datetime | None = None,
) -> bool:
    """True when `worker` should handle this update now: it is new, or pending and not held
    by another live instance. False for a repeat of a handled update, or one another instance
    holds. The lease is taken in the same statement that checks it."""
    now = now or utcnow()
    until = now + lease
    taken = session.execute(
        update(InboxUpdate)
        .where(
            col(InboxUpdate.update_id) == update_id,
            col(InboxUpdate.status) == InboxStatus.PENDING,
            or_(
                col(InboxUpdate.claimed_by) == worker,
                col(InboxUpdate.claimed_until).is_(None),
                col(InboxUpdate.claimed_until) <= now,
            ),
        )
        .values(claimed_by=worker, claimed_until=until)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(taken):
        return True
    if session.get(InboxUpdate, update_id) is not None:
        return False
    try:
        with session.begin_nested():  # another instance may insert the same update right now
            session.add(
                InboxUpdate(
                    update_id=update_id,
                    payload=payload,
                    chat_id=chat_id,
                    claimed_by=worker,
                    claimed_until=until,
                )
            )
            session.flush()
    except IntegrityError:
        return False
    return True


def claim_stale(
    session: Session,
    *,
    worker: str,
    lease: timedelta,
    limit: int = 500,
    now: datetime | None = None,
    include_leased: bool = False,
) -> list[tuple[int, str]]:
    """Lease to `worker` the pending updates nobody holds (their instance died or never
    leased them); (update_id, payload) oldest first. Concurrent callers get disjoint rows.

    `include_leased` takes live leases too: for a process that knows it is the only one (a
    polling bot at start, whose predecessor's leases are all that is left)."""
    now = now or utcnow()
    free = or_(
        col(InboxUpdate.claimed_until).is_(None),
        col(InboxUpdate.claimed_until) <= now,
        true() if include_leased else false(),
    )
    pending = col(InboxUpdate.status) == InboxStatus.PENDING
    # Lock first, then update: as `IN (subquery ... LIMIT n FOR UPDATE SKIP LOCKED)` the
    # planner may run the subquery again and take more than `limit` rows.
    stale = list(
        session.scalars(
            select(InboxUpdate.update_id)
            .where(pending, free)
            .order_by(col(InboxUpdate.update_id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not stale:
        return []
    rows = session.execute(
        update(InboxUpdate)
        .where(col(InboxUpdate.update_id).in_(stale))
        .values(claimed_by=worker, claimed_until=now + lease)
        .returning(col(InboxUpdate.update_id), col(InboxUpdate.payload))
        .execution_options(synchronize_session=False)
    ).all()
    return sorted((int(update_id), str(payload)) for update_id, payload in rows)


def next_update_id_after(session: Session, *, update_id: int) -> int | None:
    """The lowest id the inbox holds above `update_id` (None: none above it)."""
    found = session.scalar(
        select(func.min(InboxUpdate.update_id)).where(col(InboxUpdate.update_id) > update_id)
    )
    return None if found is None else int(found)


_HELD = PreparedSelect(
    select(InboxUpdate.update_id)
    .where(
        col(InboxUpdate.claimed_by) == bindparam("worker"),
        col(InboxUpdate.status) == InboxStatus.PENDING,
    )
    .limit(1)
)
_STALE = PreparedSelect(  # `claim_stale`'s free rows, live leases left alone
    select(InboxUpdate.update_id)
    .where(
        col(InboxUpdate.status) == InboxStatus.PENDING,
        or_(
            col(InboxUpdate.claimed_until).is_(None),
            col(InboxUpdate.claimed_until) <= bindparam("now"),
        ),
    )
    .limit(1)
)


def holds_pending(session: Session, *, worker: str) -> bool:
    """Whether `worker` holds a pending update, which `renew_leases` would extend: the upkeep
    every few seconds reads this instead of writing when the bot is idle."""
    return bool(_HELD.rows(session, {"worker": worker}))


def any_stale(session: Session, *, now: datetime | None = None) -> bool:
    """Whether `claim_stale` (live leases left alone) may find an update: read first, for
    the same reason."""
    return bool(_STALE.rows(session, {"now": now or utcnow()}))


def renew_leases(
    session: Session, *, worker: str, lease: timedelta, now: datetime | None = None
) -> int:
    """Extend every pending update `worker` holds: it is alive and still on them."""
    until = (now or utcnow()) + lease
    result = session.execute(
        update(InboxUpdate)
        .where(
            col(InboxUpdate.claimed_by) == worker, col(InboxUpdate.status) == InboxStatus.PENDING
        )
        .values(claimed_until=until)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


def release_leases(session: Session, *, worker: str) -> int:
    """Give back what `worker` holds unhandled (clean shutdown): the next replay anywhere
    takes it at once instead of after the lease."""
    result = session.execute(
        update(InboxUpdate)
        .where(
            col(InboxUpdate.claimed_by) == worker, col(InboxUpdate.status) == InboxStatus.PENDING
        )
        .values(claimed_by=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


_MARK_HANDLED = (  # built once: this runs after every update
    update(_TABLE)
    .where(_TABLE.c.update_id.in_(bindparam("ids", expanding=True)))
    .values(status=InboxStatus.DONE.value, handled_at=bindparam("now"), claimed_until=None)
)


def mark_handled(session: Session, *, update_ids: Iterable[int]) -> None:
    ids = list(update_ids)
    if not ids:
        return
    session.execute(_MARK_HANDLED, {"ids": ids, "now": utcnow()})


def prune_handled(session: Session, *, older_than: timedelta, now: datetime | None = None) -> int:
    cutoff = (now or utcnow()) - older_than
    result = session.execute(
        delete(InboxUpdate).where(
            col(InboxUpdate.status) == InboxStatus.DONE, col(InboxUpdate.handled_at) < cutoff
        )
    )
    return _rowcount(result)


def _rowcount(result: Any) -> int:
    return int(result.rowcount)
