"""Unfinished entries: the flow, the step and the answers so far, saved on every answer.

A member has at most one draft. Because it lives in the database, a `kill -9`, a restart or
another bot instance picks the conversation up where it was. `last_update_id` lets a flow
ignore an update Telegram delivers twice.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, delete, select

from storage.models import Draft, utcnow


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
