"""Notes on calls, visits, meetings, emails and messages, and the lookups built on them.

A note belongs to whoever wrote it, but it is part of the customer's history: anyone who may
see the customer sees all its notes (a manager's note on a salesperson's customer included).
Visits logged with a location let a salesperson standing at a site find who they met there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import ColumnElement, or_
from sqlmodel import Session, col, select

from storage.access import actor_id, owner_scope, require_customer
from storage.audit import diff, record_audit, snapshot
from storage.customers import record_contact
from storage.models import Attachment, Customer, Interaction, Member

INTERACTION_KINDS = ("call", "visit", "meeting", "email", "message")
# Written by an import with another CRM's extra columns (`storage.imports.notes`): history,
# not a contact, so no member logs it and no report counts it as activity.
IMPORTED_KIND = "import"
EARTH_RADIUS_M = 6_371_000.0
# The SQL prefilter for "customers near me": about 55 km north-south, enough for a city.
BOX_DEGREES = 0.5


class AttachmentRef(NamedTuple):
    """A Telegram file sent with a note: kind ("voice", "photo"), file_id, file_unique_id."""

    kind: str
    file_id: str
    file_unique_id: str


@dataclass(frozen=True)
class InteractionCreate:
    """What the note flow collects. `happened_at` is aware: the member's local time, resolved."""

    customer_id: int
    kind: str
    happened_at: datetime
    summary: str | None = None
    outcome: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    attachments: Sequence[AttachmentRef] = ()

    def __post_init__(self) -> None:
        if self.kind not in INTERACTION_KINDS:
            raise ValueError(f"unknown interaction kind {self.kind!r}")
        if self.happened_at.tzinfo is None:
            raise ValueError("happened_at must be timezone-aware")
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("a location needs both latitude and longitude")
        if self.latitude is not None and self.longitude is not None:
            _check_coordinates(self.latitude, self.longitude)


def add_attachments(
    session: Session,
    *,
    actor: Member,
    refs: Sequence[AttachmentRef],
    customer_id: int,
    interaction_id: int | None = None,
    contract_id: int | None = None,
) -> None:
    """Keep Telegram files (by file id) with the record they came with: a note or a contract,
    and its customer (they move with it in a merge)."""
    for ref in refs:
        session.add(
            Attachment(
                customer_id=customer_id,
                interaction_id=interaction_id,
                contract_id=contract_id,
                kind=ref.kind,
                telegram_file_id=ref.file_id,
                telegram_file_unique_id=ref.file_unique_id,
                created_by_id=actor_id(actor),
            )
        )


def create_interaction(session: Session, *, actor: Member, data: InteractionCreate) -> Interaction:
    """Record a note with its files and move the customer's last contact forward to when it
    happened (`record_contact`)."""
    require_customer(session, actor=actor, customer_id=data.customer_id)
    interaction = Interaction(
        customer_id=data.customer_id,
        owner_id=actor_id(actor),
        created_by_id=actor_id(actor),
        kind=data.kind,
        happened_at=data.happened_at,
        summary=data.summary,
        outcome=data.outcome,
        latitude=data.latitude,
        longitude=data.longitude,
    )
    session.add(interaction)
    session.flush()
    assert interaction.id is not None
    add_attachments(
        session,
        actor=actor,
        refs=data.attachments,
        customer_id=data.customer_id,
        interaction_id=interaction.id,
    )
    record_contact(session, customer_id=data.customer_id, at=data.happened_at)
    after = snapshot(
        customer_id=data.customer_id,
        kind=data.kind,
        happened_at=data.happened_at,
        summary=data.summary,
        outcome=data.outcome,
        latitude=data.latitude,
        longitude=data.longitude,
        attachments=len(data.attachments) or None,
    )
    record_audit(
        session,
        actor_id=actor.id,
        action="create",
        entity_type="interaction",
        entity_id=interaction.id,
        changes=diff({}, after),
    )
    return interaction


def list_recent_interactions(
    session: Session, *, actor: Member, customer_id: int, limit: int = 5
) -> list[Interaction]:
    """A customer's latest notes, newest first (what the customer card shows)."""
    require_customer(session, actor=actor, customer_id=customer_id)
    return list(
        session.exec(
            select(Interaction)
            .where(
                col(Interaction.customer_id) == customer_id,
                col(Interaction.deleted_at).is_(None),
            )
            .order_by(col(Interaction.happened_at).desc(), col(Interaction.id).desc())
            .limit(limit)
        )
    )


def last_interaction(session: Session, *, actor: Member, customer_id: int) -> Interaction | None:
    recent = list_recent_interactions(session, actor=actor, customer_id=customer_id, limit=1)
    return recent[0] if recent else None


def customers_near(
    session: Session, *, actor: Member, latitude: float, longitude: float, limit: int = 5
) -> list[tuple[Customer, float]]:
    """Customers whose logged visits are nearest this spot, with the distance in metres.

    SQL narrows the visits to a box of ±BOX_DEGREES around the spot (both engines, no
    spatial extension); the exact great-circle distance is computed here. A customer visited
    at several places counts at the nearest one.
    """
    _check_coordinates(latitude, longitude)
    rows = session.exec(
        select(Customer, Interaction.latitude, Interaction.longitude)
        .join(Customer, col(Customer.id) == col(Interaction.customer_id))
        .where(
            col(Interaction.kind) == "visit",
            col(Interaction.deleted_at).is_(None),
            col(Interaction.latitude).between(latitude - BOX_DEGREES, latitude + BOX_DEGREES),
            _longitude_window(longitude),
            col(Customer.deleted_at).is_(None),
            owner_scope(actor, Customer.owner_id),
        )
    )
    nearest: dict[int, tuple[Customer, float]] = {}
    for customer, lat, lon in rows:
        assert customer.id is not None
        assert lat is not None
        assert lon is not None
        distance = haversine_m(latitude, longitude, lat, lon)
        if customer.id not in nearest or distance < nearest[customer.id][1]:
            nearest[customer.id] = (customer, distance)
    return sorted(nearest.values(), key=lambda pair: (pair[1], pair[0].id or 0))[:limit]


def recently_touched_customers(
    session: Session, *, actor: Member, limit: int = 5
) -> list[Customer]:
    """The customers a member most likely means next: last contacted, then last edited."""
    return list(
        session.exec(
            select(Customer)
            .where(col(Customer.deleted_at).is_(None), owner_scope(actor, Customer.owner_id))
            .order_by(
                col(Customer.last_contact_at).desc().nulls_last(),
                col(Customer.updated_at).desc(),
                col(Customer.id).desc(),
            )
            .limit(limit)
        )
    )


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres; within 0.5% of the ellipsoid, plenty for "nearby"."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi, d_lambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def _longitude_window(longitude: float) -> ColumnElement[bool]:
    """The box's longitude range, split in two where it crosses the antimeridian."""
    low, high = longitude - BOX_DEGREES, longitude + BOX_DEGREES
    column = col(Interaction.longitude)
    if low < -180:
        return or_(column >= low + 360, column <= high)
    if high > 180:
        return or_(column >= low, column <= high - 360)
    return column.between(low, high)


def _check_coordinates(latitude: float, longitude: float) -> None:
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise ValueError("coordinates out of range")
