"""Unfinished entries: the flow, the step and the answers so far, saved on every answer.

A member has at most one draft. Because it lives in the database, a `kill -9`, a restart or
another bot instance picks the conversation up where it was. `last_update_id` lets a flow
ignore an update Telegram delivers twice.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, delete, select

from storage.members import get_member_by_telegram_id
from storage.models import Draft, Member, utcnow

T = TypeVar("T")
_TABLE = Draft.__table__  # type: ignore[attr-defined]


CANCELLED = "-cancelled"  # the flow of a cancelled entry's marker (no flow has this name)
_BY_MEMBER = select(Draft).where(col(Draft.member_id) == bindparam("member_id"))  # built once
# Save takes the draft's row lock first: a second Save of the same draft (a double tap that
# reached two instances) waits there, then finds the draft gone and saves nothing. SQLite
# has no row locks; its BEGIN IMMEDIATE already lets one writer in at a time.
_BY_MEMBER_FOR_SAVE = _BY_MEMBER.with_for_update()


def get_draft(session: Session, *, member_id: int) -> Draft | None:
    return session.scalars(_BY_MEMBER, {"member_id": member_id}).first()


def member_and_draft(session: Session, *, telegram_id: int) -> tuple[Member | None, Draft | None]:
    """The member behind a Telegram user and their draft, in one transaction: what the gate
    reads for an answer to an open entry (one database round trip less per step)."""
    member = get_member_by_telegram_id(session, telegram_id=telegram_id)
    if member is None or member.id is None:
        return member, None
    return member, get_draft(session, member_id=member.id)


def save_draft(
    session: Session,
    *,
    member_id: int,
    chat_id: int,
    flow: str,
    step: str,
    data: dict[str, Any],
    history: list[str],
    update_id: int | None,
) -> None:
    """Create or replace the member's draft with the new step and answers.

    One Core upsert, built once per dialect: this runs on every answered step, and loading
    the draft to change it cost twice as much."""
    now = utcnow()
    session.execute(
        _upsert(session.get_bind().dialect.name),
        {
            "member_id": member_id,
            "created_at": now,
            "chat_id": chat_id,
            "flow": flow,
            "step": step,
            "data": dict(data),
            "history": list(history),
            "last_update_id": update_id,
            "updated_at": now,
        },
    )


_REPLACED_ON_SAVE = ("chat_id", "flow", "step", "data", "history", "last_update_id", "updated_at")


@cache
def _upsert(dialect: str) -> Any:
    statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(_TABLE)
    return statement.on_conflict_do_update(
        index_elements=["member_id"],
        set_={name: statement.excluded[name] for name in _REPLACED_ON_SAVE},
    )


def delete_draft(session: Session, *, member_id: int) -> bool:
    result = session.execute(delete(Draft).where(col(Draft.member_id) == member_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def cancel_draft(session: Session, *, member_id: int) -> bool:
    """Replace the open draft with a `CANCELLED` marker, so that a button on one of its cards
    can say the entry was cancelled (`was_cancelled`); False if no entry was open. The marker
    names no flow and holds no revision: the engine never loads it and Save finds nothing."""
    draft = get_draft(session, member_id=member_id)
    if draft is None or draft.flow == CANCELLED:
        return False
    draft.flow, draft.step, draft.data, draft.history = CANCELLED, "", {}, []
    draft.updated_at = utcnow()
    session.add(draft)
    return True


def was_cancelled(session: Session, *, member_id: int) -> bool:
    draft = get_draft(session, member_id=member_id)
    return draft is not None and draft.flow == CANCELLED


def commit_draft(
    session: Session, *, member_id: int, revision: int, save: Callable[[Session], T]
) -> T | None:
    """Run `save` (a flow's `storage.calls.StorageCall`) and delete the draft in one
    transaction; None if it was saved already.

    This is what makes Save exactly-once: a double tap, a re-delivered update or a second
    instance finds the draft gone (or at another revision) and creates nothing.
    """
    draft = session.scalars(_BY_MEMBER_FOR_SAVE, {"member_id": member_id}).first()
    if draft is None or draft.data.get("rev") != revision:
        return None
    result = save(session)
    session.delete(draft)
    return result
