"""Outgoing webhooks: the endpoints admins subscribe, and the event outbox.

Every change a storage function makes writes its audit entry through `audit.record_audit`,
in the change's own transaction; that writer hands each entry to `record_change` here, which
turns it into events (`customer.created`, `deal.won`, `contract.signed`, ...) in the outbox
(`webhook_event`) with one `webhook_delivery` per enabled endpoint subscribed to the type.
So an event exists exactly when its change committed: a rolled-back change leaves none, and
a crash after the commit leaves it for the delivery pass (`storage.webhook_deliveries`).
`reminder.due` is written by `reminders.mark_sent`, when the reminder reached its member.

With no endpoint subscribed to a type, nothing is written: the outbox costs a change one
small read while webhooks are not used.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete
from sqlmodel import Session, SQLModel, col, select

from storage.access import NotFound
from storage.models import (
    Contract,
    Customer,
    CustomerPhone,
    Deal,
    Interaction,
    Member,
    Order,
    Reminder,
    Role,
    Ticket,
    utcnow,
)
from storage.webhook_models import WebhookDelivery, WebhookEndpoint, WebhookEvent

SECRET_PREFIX = "whsec_"
# How long a delivery is tried before it is given up (dead), and an endpoint failing this long
# is disabled.
RETRY_WINDOW = timedelta(days=1)
CONTRACT_STATUSES = ("signed", "active", "expiring", "expired", "renewed", "terminated")
ORDER_STATUSES = ("confirmed", "shipped", "delivered", "paid", "cancelled")
EVENT_TYPES: tuple[str, ...] = (
    "customer.created",
    "customer.updated",
    "customer.deleted",
    "customer.merged",
    "deal.created",
    "deal.updated",
    "deal.stage_changed",
    "deal.won",
    "deal.lost",
    "deal.deleted",
    "note.created",
    "note.updated",
    "note.deleted",
    "order.created",
    "order.updated",
    "order.deleted",
    *(f"order.{status}" for status in ORDER_STATUSES),
    "contract.created",
    "contract.updated",
    "contract.deleted",
    *(f"contract.{status}" for status in CONTRACT_STATUSES),
    "ticket.created",
    "ticket.updated",
    "ticket.status_changed",
    "ticket.assigned",
    "ticket.resolved",
    "ticket.deleted",
    "reminder.due",
)
# The audit log's entity types, as the events name them, with the table each is read from.
RECORDS: dict[str, tuple[str, type[SQLModel]]] = {
    "customer": ("customer", Customer),
    "deal": ("deal", Deal),
    "interaction": ("note", Interaction),
    "order": ("order", Order),
    "contract": ("contract", Contract),
    "ticket": ("ticket", Ticket),
    "reminder": ("reminder", Reminder),
}
# Columns that are bookkeeping, not the record: left out of the payload.
PRIVATE = frozenset(
    {
        "import_batch_id",
        "claimed_by",
        "claimed_until",
        "attempts",
        "next_attempt_at",
        "dedupe_key",
        "exact_time",
    }
)


class UnknownEndpoint(NotFound):
    """No endpoint (or delivery) with this id, or an actor who is no admin: alike, as for
    every record (`storage.access`)."""


# --- events from changes ---------------------------------------------------------------


def event_types(entity_type: str, action: str, changes: dict[str, Any]) -> tuple[str, ...]:
    """The events an audit entry stands for (none for members, invites, reminders' own edits).

    A merge writes two entries; the duplicate's (`merged_into`) is the `customer.merged` event,
    the survivor's is none (its fields did not change). A deal's stage move is `deal.won`,
    `deal.lost` or `deal.stage_changed`; a contract's or an order's status move is
    `contract.<status>` or `order.<status>`; a ticket's is `ticket.resolved` or
    `ticket.status_changed` (a reopen too), its new assignee `ticket.assigned`, and a
    comment on it `ticket.updated`.
    """
    record = RECORDS.get(entity_type)
    if record is None or entity_type == "reminder":
        return ()
    name = record[0]
    if action == "create":
        stage = _new_value(changes, "stage")
        closed = (f"deal.{stage}",) if name == "deal" and stage in ("won", "lost") else ()
        return (f"{name}.created", *closed)
    if action == "delete":
        return (f"{name}.deleted",)
    if action == "merge":
        return ("customer.merged",) if "merged_into" in changes else ()
    if name == "deal" and "stage" in changes:
        stage = _new_value(changes, "stage")
        return (f"deal.{stage}",) if stage in ("won", "lost") else ("deal.stage_changed",)
    if name in ("contract", "order") and "status" in changes:
        return (f"{name}.{_new_value(changes, 'status')}",)
    if name == "ticket":
        return _ticket_events(action, changes)
    if action in ("update", "restore", "reassign"):
        return (f"{name}.updated",)
    return ()


def _ticket_events(action: str, changes: dict[str, Any]) -> tuple[str, ...]:
    """A ticket's update: its status move and its new assignee are their own events (one
    change may make both); any other change, a comment too, is `ticket.updated`."""
    found: tuple[str, ...] = ()
    if "status" in changes:
        resolved = _new_value(changes, "status") == "resolved"
        found += ("ticket.resolved" if resolved else "ticket.status_changed",)
    if "assignee_id" in changes:
        found += ("ticket.assigned",)
    if found or action in ("update", "restore", "comment"):
        return found or ("ticket.updated",)
    return ()


def _new_value(changes: dict[str, Any], name: str) -> Any:
    value = changes.get(name)
    return value[-1] if isinstance(value, list | tuple) and value else None


def record_change(
    session: Session, *, entity_type: str, entity_id: int, action: str, changes: dict[str, Any]
) -> None:
    """The audit writer's hook: the events of this change, in the caller's transaction."""
    types = event_types(entity_type, action, changes)
    endpoints = _subscribed(session, types) if types else []
    if endpoints:
        _record(session, endpoints, types, entity_type, entity_id, changes)


def record_bulk_changes(session: Session, entries: Sequence[dict[str, Any]]) -> None:
    """The hook of the audit entries an import (or its undo) writes in bulk: one read while
    nothing is subscribed; else each entry's events, its record read back from the database
    (the bulk writes went around the session's objects)."""
    typed = [(e, event_types(e["entity_type"], e["action"], e["changes"])) for e in entries]
    wanted = {t for _entry, types in typed for t in types}
    endpoints = _subscribed(session, tuple(wanted)) if wanted else []
    if not endpoints:
        return
    for entry, types in typed:
        if set(types) & {t for e in endpoints for t in e.events}:
            _record(
                session,
                endpoints,
                types,
                entry["entity_type"],
                entry["entity_id"],
                entry["changes"],
                reload=True,
            )


def record_removed(session: Session, *, record_type: str, record_ids: Sequence[int]) -> None:
    """`<type>.deleted` for records about to be erased for good (a failed import's customers,
    whose `created` events may have gone out already), with only their id."""
    event_type = f"{record_type}.deleted"
    endpoints = _subscribed(session, (event_type,)) if record_ids else []
    deleted_at = utcnow().isoformat()
    for record_id in record_ids if endpoints else ():
        data = {"id": record_id, "deleted_at": deleted_at}
        _write(session, endpoints, event_type, record_type, record_id, data)


def _record(
    session: Session,
    endpoints: list[WebhookEndpoint],
    types: Sequence[str],
    entity_type: str,
    entity_id: int,
    changes: dict[str, Any],
    *,
    reload: bool = False,
) -> None:
    record_type, model = RECORDS[entity_type]
    record = session.get(model, entity_id, populate_existing=reload)
    if record is None:
        return
    data = public_fields(session, record)
    if "merged_into" in changes:
        data["merged_into_id"] = _new_value(changes, "merged_into")
    for event_type in types:
        _write(session, endpoints, event_type, record_type, entity_id, data)


def emit(session: Session, *, event_type: str, record: SQLModel) -> WebhookEvent | None:
    """An event about `record` outside the audit log (`reminder.due`), same rules."""
    endpoints = _subscribed(session, (event_type,))
    table = record.__tablename__
    record_type = next(name for kind, (name, _) in RECORDS.items() if kind == table)
    record_id = record.id  # type: ignore[attr-defined]
    if not endpoints or record_id is None:
        return None
    return _write(
        session, endpoints, event_type, record_type, record_id, public_fields(session, record)
    )


def _subscribed(session: Session, types: Sequence[str]) -> list[WebhookEndpoint]:
    enabled = session.exec(select(WebhookEndpoint).where(col(WebhookEndpoint.enabled).is_(True)))
    return [endpoint for endpoint in enabled if set(types) & set(endpoint.events)]


def _write(
    session: Session,
    endpoints: Iterable[WebhookEndpoint],
    event_type: str,
    record_type: str,
    record_id: int,
    data: dict[str, Any],
) -> WebhookEvent | None:
    chosen = [e for e in endpoints if event_type in e.events]
    if not chosen:
        return None
    now = utcnow()
    event = WebhookEvent(
        type=event_type, record_type=record_type, record_id=record_id, payload=data, created_at=now
    )
    session.add(event)
    session.flush()
    for endpoint in chosen:
        assert endpoint.id is not None
        assert event.id is not None
        session.add(
            WebhookDelivery(
                endpoint_id=endpoint.id,
                event_id=event.id,
                record_type=record_type,
                record_id=record_id,
                next_attempt_at=now,
                give_up_at=now + RETRY_WINDOW,
                created_at=now,
            )
        )
    session.flush()
    return event


def public_fields(session: Session, record: SQLModel) -> dict[str, Any]:
    """The record's columns as JSON: amounts as strings, dates ISO, times ISO in UTC; a
    customer's phones (E.164) come along."""
    columns = type(record).__table__.columns  # type: ignore[attr-defined]
    values = {
        name: _json(getattr(record, name), getattr(columns[name].type, "scale", None))
        for name in type(record).model_fields
        if name not in PRIVATE
    }
    if isinstance(record, Customer):
        values["phones"] = list(
            session.exec(
                select(CustomerPhone.e164)
                .where(col(CustomerPhone.customer_id) == record.id)
                .order_by(col(CustomerPhone.id))
            )
        )
    return values


def _json(value: Any, scale: int | None = None) -> Any:
    """As stored: an amount with its column's decimals ("50000.50" whether or not it was
    read back yet), a time in UTC."""
    if isinstance(value, Decimal):
        return str(value.quantize(Decimal(1).scaleb(-scale)) if scale is not None else value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [_json(item) for item in value]
    return value


# --- endpoints -----------------------------------------------------------------------------


def new_secret() -> str:
    """A Standard Webhooks signing secret: `whsec_` and 24 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def parse_event_types(text: str) -> list[str]:
    """ "customer.created,deal.won" (or "*" for every type, "ticket.*" for a record's) -> the
    types; ValueError naming what is not a type."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    found = {name: _expand(name) for name in names}
    unknown = [name for name, types in found.items() if not types]
    if unknown or not names:
        raise ValueError(f"unknown event types: {', '.join(unknown) or '(none given)'}")
    return list(dict.fromkeys(t for types in found.values() for t in types))


def _expand(name: str) -> list[str]:
    if name == "*":
        return list(EVENT_TYPES)
    if name.endswith(".*"):
        return [t for t in EVENT_TYPES if t.startswith(name[:-1])]
    return [name] if name in EVENT_TYPES else []


def check_url(url: str) -> str:
    """An http(s) URL with a host, else ValueError."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    return url.strip()


def create_endpoint(
    session: Session, *, url: str, events: Sequence[str], created_by_id: int | None = None
) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(
        url=check_url(url),
        secret=new_secret(),
        events=parse_event_types(",".join(events)),
        created_by_id=created_by_id,
    )
    session.add(endpoint)
    session.flush()
    return endpoint


def list_endpoints(session: Session) -> list[WebhookEndpoint]:
    return list(session.exec(select(WebhookEndpoint).order_by(col(WebhookEndpoint.id))))


def remove_endpoint(session: Session, *, endpoint_id: int) -> None:
    """Delete an endpoint and its deliveries (the events stay: other endpoints may share)."""
    if session.get(WebhookEndpoint, endpoint_id) is None:
        raise UnknownEndpoint(endpoint_id)
    session.execute(delete(WebhookDelivery).where(col(WebhookDelivery.endpoint_id) == endpoint_id))
    session.execute(delete(WebhookEndpoint).where(col(WebhookEndpoint.id) == endpoint_id))


def require_admin(actor: Member) -> None:
    """Webhooks are the admins' business: anyone else is told exactly as for a missing one."""
    if actor.role != Role.ADMIN or not actor.active:
        raise UnknownEndpoint


def add_endpoint(
    session: Session, *, actor: Member, url: str, events: Sequence[str]
) -> WebhookEndpoint:
    """`create_endpoint` for an admin in the chat (anyone else: as for a missing one)."""
    require_admin(actor)
    return create_endpoint(session, url=url, events=events, created_by_id=actor.id)


def get_endpoint(session: Session, *, actor: Member, endpoint_id: int) -> WebhookEndpoint:
    require_admin(actor)
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise UnknownEndpoint(endpoint_id)
    return endpoint


def list_endpoints_for(session: Session, *, actor: Member) -> list[WebhookEndpoint]:
    require_admin(actor)
    return list_endpoints(session)


def set_endpoint_enabled(
    session: Session, *, actor: Member, endpoint_id: int, enabled: bool
) -> WebhookEndpoint:
    """Turn an endpoint on or off; turning it on forgets its failing streak."""
    endpoint = get_endpoint(session, actor=actor, endpoint_id=endpoint_id)
    if endpoint.enabled == enabled:
        return endpoint
    endpoint.enabled = enabled
    endpoint.disabled_at = None if enabled else utcnow()
    endpoint.failing_since = None
    session.add(endpoint)
    session.flush()
    return endpoint
