"""Unfinished entries: the flow, the step and the answers so far, saved on every answer.

A member has at most one draft. Because it lives in the database, a `kill -9`, a restart or
another bot instance picks the conversation up where it was. `last_update_id` lets a flow
ignore an update Telegram delivers twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlmodel import Session, col, delete, select

from storage.models import Draft, utcnow

T = TypeVar("T")


def get_draft(session: Session, *, member_id: int) -> Draft | None:
    return session.exec(select(Draft).where(col(Draft.member_id) == member_id)).first()


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
) -> Draft:
    """Create or replace the member's draft with the new step and answers."""
    draft = get_draft(session, member_id=member_id)
    if draft is None:
        draft = Draft(member_id=member_id, chat_id=chat_id, flow=flow, step=step)
        session.add(draft)
    draft.chat_id, draft.flow, draft.step = chat_id, flow, step
    draft.data, draft.history = dict(data), list(history)
    draft.last_update_id = update_id
    draft.updated_at = utcnow()
    return draft


def delete_draft(session: Session, *, member_id: int) -> bool:
    result = session.execute(delete(Draft).where(col(Draft.member_id) == member_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def commit_draft(
    session: Session, *, member_id: int, revision: int, save: Callable[[Session], T]
) -> T | None:
    """Run `save` and delete the draft in one transaction; None if it was saved already.

    This is what makes Save exactly-once: a double tap, a re-delivered update or a second
    instance finds the draft gone (or at another revision) and creates nothing.
    """
    draft = get_draft(session, member_id=member_id)
    if draft is None or draft.data.get("rev") != revision:
        return None
    result = save(session)
    session.delete(draft)
    return result
