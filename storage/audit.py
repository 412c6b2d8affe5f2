"""The audit log: every create, edit, delete, merge and reassignment, with old and new values."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from storage.models import AuditEntry
from storage.webhooks import record_change


def jsonable(value: Any) -> Any:
    """An audit value the JSON column can store: decimals, dates and times become strings."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def snapshot(**values: Any) -> dict[str, Any]:
    """Field values ready for `audit.diff` and the JSON `changes` column."""
    return {key: jsonable(value) for key, value in values.items()}


def record_audit(
    session: Session,
    *,
    actor_id: int | None,
    action: str,
    entity_type: str,
    entity_id: int,
    changes: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append an entry in the caller's transaction: the change and its trace commit together.

    Every change passes here, so here it also becomes its webhook events (the outbox,
    `storage.webhooks.record_change`), committed or rolled back with the change."""
    entry = AuditEntry(
        actor_id=actor_id,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        changes={key: _jsonable_change(value) for key, value in (changes or {}).items()},
    )
    session.add(entry)
    record_change(
        session,
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        changes=entry.changes,
    )
    return entry


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """{field: [old, new]} for the fields whose value changed."""
    return {
        key: [before.get(key), value] for key, value in after.items() if before.get(key) != value
    }


def list_audit(
    session: Session, *, entity_type: str, entity_id: int, limit: int = 50
) -> list[AuditEntry]:
    return list(
        session.exec(
            select(AuditEntry)
            .where(
                col(AuditEntry.entity_type) == entity_type, col(AuditEntry.entity_id) == entity_id
            )
            .order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
            .limit(limit)
        )
    )


def _jsonable_change(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    return jsonable(value)
