"""Delivering the outbox: claiming due deliveries under a lease, recording each attempt.

    pending --claim_due (lease)--> claimed --mark_delivered--> delivered
                                     |--mark_failed--> failed, retried at next_attempt_at
                                     |        ... until give_up_at (a day) --> dead
                                     `--release / lease expiry--> claimable again

A claim is a lease, as for reminders (storage/reminders.py): a worker killed mid-post leaves
rows another worker claims once `claimed_until` passes, so an event is delivered at least
once across crashes. PostgreSQL claims with `FOR UPDATE SKIP LOCKED` (several instances
take disjoint rows); SQLite's BEGIN IMMEDIATE serialises claimers. Every `mark_*` acts only
while the row is still our claim, so a worker whose lease ran out records nothing over the
worker that took the row over.

In order per record: a delivery is not claimed while an earlier event of the same record is
still on its way (pending or failed) to the same endpoint; a dead one no longer holds the
later ones back.

An endpoint whose failures have lasted a day (`failing_since`, cleared by any success) is
disabled by the worker that records the failure past that mark, and in that same transaction
each active admin gets a `webhook_off` reminder due at once, which the reminder delivery
sends like any other (retried, leased): a bot killed right after the commit still tells them,
and they hear it once.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, exists, literal, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from storage.models import Member, Reminder, Role
from storage.prepared import PreparedSelect
from storage.reminders import ReminderKind
from storage.webhook_models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from storage.webhooks import RETRY_WINDOW, UnknownEndpoint, get_endpoint, require_admin

# The wait after the n-th failed attempt: 5 s, 30 s, 2 min, 10 min, 1 h, then hourly.
BACKOFF = (
    timedelta(seconds=5),
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(hours=1),
)
ERROR_LIMIT = 500  # characters of a receiver's answer or an exception kept in `last_error`


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # an attempt failed; tried again at next_attempt_at
    DEAD = "dead"  # given up after RETRY_WINDOW; an admin may re-send it


IN_FLIGHT = (DeliveryStatus.PENDING, DeliveryStatus.FAILED)


def backoff(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failure (1-based)."""
    return BACKOFF[min(attempts, len(BACKOFF)) - 1]


@dataclass(frozen=True)
class Outgoing:
    """What one POST needs, read in the claiming transaction."""

    delivery_id: int
    endpoint_id: int
    url: str
    secret: str
    event_id: str  # the `webhook-id` header: the same for every attempt and endpoint
    body: bytes
    attempts: int


@dataclass(frozen=True)
class Failure:
    """What `mark_failed` decided: retried at `retry_at`, or given up (None). `disabled`: the
    endpoint's URL, when this failure turned it off (tell the admins)."""

    retry_at: datetime | None
    disabled: str | None = None


def event_id(event: WebhookEvent) -> str:
    return f"evt_{event.id}"


def event_body(event: WebhookEvent) -> bytes:
    """The JSON that is posted and signed: id, type, timestamp (UTC) and the record's data."""
    document = {
        "id": event_id(event),
        "type": event.type,
        "timestamp": event.created_at.isoformat(),
        "data": event.payload,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


_ANY_DUE = PreparedSelect(  # `claim_due`'s conditions on the delivery alone
    select(WebhookDelivery.id)
    .where(
        col(WebhookDelivery.status).in_([literal(status) for status in IN_FLIGHT]),
        col(WebhookDelivery.next_attempt_at) <= bindparam("now"),
        or_(
            col(WebhookDelivery.claimed_until).is_(None),
            col(WebhookDelivery.claimed_until) <= bindparam("now"),
        ),
    )
    .limit(1)
)


def any_due(session: Session, *, now: datetime) -> bool:
    """Whether `claim_due` may find a delivery at `now` (never "no" when it would): a pass
    runs every two seconds and most find none; this read stops them without the write lock."""
    return bool(_ANY_DUE.rows(session, {"now": now}))


def claim_due(
    session: Session,
    *,
    now: datetime,
    worker: str,
    limit: int,
    lease: timedelta,
    per_lease: int | None = None,
) -> list[Outgoing]:
    """Claim up to `limit` due deliveries of enabled endpoints for `worker` until
    `now + lease`, oldest first, none behind an earlier event of its record. With
    `per_lease`, the claim lasts a `lease` for each `per_lease` rows claimed (a batch posted
    in rounds), so a small batch is not held longer than its one round needs."""
    earlier = aliased(WebhookDelivery)
    held_back = exists().where(
        col(earlier.endpoint_id) == col(WebhookDelivery.endpoint_id),
        col(earlier.record_type) == col(WebhookDelivery.record_type),
        col(earlier.record_id) == col(WebhookDelivery.record_id),
        col(earlier.event_id) < col(WebhookDelivery.event_id),
        col(earlier.status).in_(IN_FLIGHT),
    )
    rows = list(
        session.exec(
            select(WebhookDelivery)
            .join(WebhookEndpoint, col(WebhookEndpoint.id) == col(WebhookDelivery.endpoint_id))
            .where(
                col(WebhookDelivery.status).in_(IN_FLIGHT),
                col(WebhookDelivery.next_attempt_at) <= now,
                or_(
                    col(WebhookDelivery.claimed_until).is_(None),
                    col(WebhookDelivery.claimed_until) <= now,
                ),
                col(WebhookEndpoint.enabled).is_(True),
                ~held_back,
            )
            .order_by(col(WebhookDelivery.next_attempt_at), col(WebhookDelivery.id))
            .limit(limit)
            .with_for_update(skip_locked=True, of=WebhookDelivery)
        )
    )
    if not rows:
        return []
    rounds = math.ceil(len(rows) / (per_lease or limit))
    session.connection().execute(
        update(WebhookDelivery)
        .where(col(WebhookDelivery.id).in_([d.id for d in rows]))
        .values(claimed_by=worker, claimed_until=now + lease * rounds)
    )
    endpoints = _by_id(session, WebhookEndpoint, {d.endpoint_id for d in rows})
    events = _by_id(session, WebhookEvent, {d.event_id for d in rows})
    return [
        Outgoing(
            delivery_id=_id(d),
            endpoint_id=d.endpoint_id,
            url=endpoints[d.endpoint_id].url,
            secret=endpoints[d.endpoint_id].secret,
            event_id=event_id(events[d.event_id]),
            body=event_body(events[d.event_id]),
            attempts=d.attempts,
        )
        for d in rows
    ]


def _by_id(session: Session, model: Any, ids: set[int]) -> dict[int, Any]:
    return {row.id: row for row in session.exec(select(model).where(col(model.id).in_(ids)))}


def mark_delivered(
    session: Session, *, delivery_id: int, worker: str, status_code: int, at: datetime
) -> bool:
    """The receiver answered 2xx: delivered, and the endpoint's failing streak is over.
    False if the row is no longer our claim (another worker took it over)."""
    return _mark_delivered(session, {delivery_id: status_code}, worker, at) == 1


def _mark_delivered(session: Session, answered: dict[int, int], worker: str, at: datetime) -> int:
    """Deliveries answered 2xx (id: status code), in one UPDATE per status code and one for
    their endpoints' streaks: per row, the statements cost more than the POSTs. Only rows
    still our claim change; how many did."""
    done = 0
    for code in set(answered.values()):
        ids = [i for i, c in answered.items() if c == code]
        done += _if_claimed(
            session,
            ids,
            worker,
            status=DeliveryStatus.DELIVERED,
            attempts=WebhookDelivery.attempts + 1,
            last_status_code=code,
            last_error=None,
            last_attempt_at=at,
            delivered_at=at,
        )
    if done:
        of_deliveries = select(WebhookDelivery.endpoint_id).where(
            col(WebhookDelivery.id).in_(list(answered)),
            col(WebhookDelivery.status) == DeliveryStatus.DELIVERED,
        )
        session.connection().execute(
            update(WebhookEndpoint)
            .where(
                col(WebhookEndpoint.id).in_(of_deliveries),
                col(WebhookEndpoint.failing_since).is_not(None),
            )
            .values(failing_since=None)
        )
    return done


def mark_failed(
    session: Session,
    *,
    delivery_id: int,
    worker: str,
    status_code: int | None,
    error: str,
    at: datetime,
) -> Failure | None:
    """A non-2xx answer, a timeout or a refused connection: retried after `backoff`, or dead
    once `give_up_at` has passed. None if the row is no longer our claim."""
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.claimed_by != worker or delivery.status not in IN_FLIGHT:
        return None
    endpoint_id, attempts = delivery.endpoint_id, delivery.attempts + 1
    retry_at = at + backoff(attempts)
    dead = retry_at > delivery.give_up_at
    _if_claimed(
        session,
        [delivery_id],
        worker,
        status=DeliveryStatus.DEAD if dead else DeliveryStatus.FAILED,
        attempts=attempts,
        next_attempt_at=delivery.next_attempt_at if dead else retry_at,
        last_status_code=status_code,
        last_error=error[:ERROR_LIMIT],
        last_attempt_at=at,
    )
    return Failure(None if dead else retry_at, _failing(session, endpoint_id, at))


def _failing(session: Session, endpoint_id: int, at: datetime) -> str | None:
    """Start the endpoint's failing streak, or disable it when the streak is a day old: the
    URL if this call disabled it (one UPDATE decides, so one worker only)."""
    endpoint_column = col(WebhookEndpoint.id) == endpoint_id
    session.execute(
        update(WebhookEndpoint)
        .where(endpoint_column, col(WebhookEndpoint.failing_since).is_(None))
        .values(failing_since=at)
    )
    disabled = session.execute(
        update(WebhookEndpoint)
        .where(
            endpoint_column,
            col(WebhookEndpoint.enabled).is_(True),
            col(WebhookEndpoint.failing_since) <= at - RETRY_WINDOW,
        )
        .values(enabled=False, disabled_at=at)
    )
    if int(disabled.rowcount) != 1:  # type: ignore[attr-defined]
        return None
    url = session.get_one(WebhookEndpoint, endpoint_id).url
    for admin in admins_to_tell(session):
        session.add(
            Reminder(
                member_id=_id(admin),
                kind=ReminderKind.WEBHOOK_OFF,
                text=url,
                due_at=at,
                created_at=at,
                updated_at=at,
            )
        )
    return url


@dataclass(frozen=True)
class Outcome:
    """How one POST ended: `error` None is a 2xx answer (`status_code`)."""

    delivery_id: int
    status_code: int | None
    error: str | None = None


def record_outcomes(
    session: Session, *, worker: str, outcomes: Sequence[Outcome], at: datetime
) -> list[str]:
    """A batch's answers in one transaction (one per POST made deliveries 8x slower): the
    delivered ones together, the failed ones each as `mark_failed` decides; the URLs of the
    endpoints this turned off."""
    answered = {o.delivery_id: o.status_code or 0 for o in outcomes if o.error is None}
    if answered:
        _mark_delivered(session, answered, worker, at)
    disabled = []
    for outcome in outcomes:
        if outcome.error is None:
            continue
        failure = mark_failed(
            session,
            delivery_id=outcome.delivery_id,
            worker=worker,
            status_code=outcome.status_code,
            error=outcome.error,
            at=at,
        )
        if failure is not None and failure.disabled is not None:
            disabled.append(failure.disabled)
    return disabled


def release(session: Session, *, delivery_ids: Sequence[int], worker: str) -> int:
    """Give claimed rows back unsent (shutting down): due again at once, attempts unchanged."""
    result = session.execute(
        update(WebhookDelivery)
        .where(
            col(WebhookDelivery.id).in_(delivery_ids), col(WebhookDelivery.claimed_by) == worker
        )
        .values(claimed_by=None, claimed_until=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _if_claimed(
    session: Session, delivery_ids: Sequence[int], worker: str, **values: object
) -> int:
    """Apply `values` and drop the claim of the rows `worker` still holds (one UPDATE,
    through the connection: the ORM's bulk update took 4x as long, a third of a delivery);
    how many rows changed."""
    result = session.connection().execute(
        update(WebhookDelivery)
        .where(
            col(WebhookDelivery.id).in_(delivery_ids),
            col(WebhookDelivery.claimed_by) == worker,
            col(WebhookDelivery.status).in_(IN_FLIGHT),
        )
        .values(claimed_by=None, claimed_until=None, **values)
    )
    session.expire_all()
    return int(result.rowcount)


@dataclass(frozen=True)
class DeliveryView:
    """A line of an endpoint's history in the chat."""

    id: int
    event_type: str
    record: str  # "customer 12"
    status: str
    attempts: int
    last_status_code: int | None
    at: datetime  # the last attempt, else when it was queued


def list_deliveries(
    session: Session, *, actor: Member, endpoint_id: int, limit: int = 10
) -> list[DeliveryView]:
    """An endpoint's latest deliveries, newest first (admins only)."""
    get_endpoint(session, actor=actor, endpoint_id=endpoint_id)
    rows = session.exec(
        select(WebhookDelivery, WebhookEvent.type)
        .join(WebhookEvent, col(WebhookEvent.id) == col(WebhookDelivery.event_id))
        .where(col(WebhookDelivery.endpoint_id) == endpoint_id)
        .order_by(col(WebhookDelivery.id).desc())
        .limit(limit)
    )
    return [
        DeliveryView(
            id=_id(d),
            event_type=event_type,
            record=f"{d.record_type} {d.record_id}",
            status=d.status,
            attempts=d.attempts,
            last_status_code=d.last_status_code,
            at=d.last_attempt_at or d.created_at,
        )
        for d, event_type in rows
    ]


def resend_delivery(
    session: Session, *, actor: Member, delivery_id: int, now: datetime
) -> WebhookDelivery:
    """A dead or failed delivery is tried again now, for another day (admins only). One that
    is delivered or waiting for its first attempt is left as it is."""
    require_admin(actor)
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        raise UnknownEndpoint(delivery_id)
    if delivery.status in (DeliveryStatus.DEAD, DeliveryStatus.FAILED):
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = now
        delivery.give_up_at = now + RETRY_WINDOW
        session.add(delivery)
        session.flush()
    return delivery


def admins_to_tell(session: Session) -> list[Member]:
    """The active admins, who hear that an endpoint was disabled."""
    return list(
        session.exec(
            select(Member)
            .where(col(Member.role) == Role.ADMIN, col(Member.active).is_(True))
            .order_by(col(Member.id))
        )
    )


def count_in_flight(session: Session) -> int:
    """Deliveries still to be made (pending or failed), for tests and the CLI's list."""
    query = select(WebhookDelivery.id).where(col(WebhookDelivery.status).in_(IN_FLIGHT))
    return len(session.exec(query).all())


def _id(row: Any) -> int:
    assert row.id is not None
    return int(row.id)
