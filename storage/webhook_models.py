"""Tables of the outgoing webhooks: endpoints, the event outbox, and one delivery per pair.

Kept out of `storage.models` (another feature's file) but on the same `SQLModel.metadata`,
with its naming convention, so migration 0014 and the migrations-vs-models test see them.
`storage.webhooks` and the Alembic environment import this module to register the tables.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Text
from sqlmodel import Field, SQLModel

from storage.models import UTCDateTime, utcnow


def _at(*, nullable: bool = True) -> Any:
    return Field(
        default_factory=None if nullable else utcnow, sa_type=UTCDateTime, nullable=nullable
    )


class WebhookEndpoint(SQLModel, table=True):
    """A URL an admin subscribed to some event types; `secret` (`whsec_...`) signs its posts.

    `failing_since` is the first failure since the last success: an endpoint failing for a
    day is disabled (`disabled_at`) and the admins are told."""

    __tablename__ = "webhook_endpoint"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2000)
    secret: str = Field(max_length=100)
    events: list[str] = Field(default_factory=list, sa_type=JSON)
    enabled: bool = True
    created_by_id: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = _at(nullable=False)
    disabled_at: datetime | None = _at()
    failing_since: datetime | None = _at()


class WebhookEvent(SQLModel, table=True):
    """The outbox: one row per change worth telling, written in the change's transaction.

    `payload` is the record's public fields at that moment (the body's `data`)."""

    __tablename__ = "webhook_event"
    __table_args__ = (Index("ix_webhook_event_record", "record_type", "record_id"),)

    id: int | None = Field(default=None, primary_key=True)
    type: str = Field(max_length=64)
    record_type: str = Field(max_length=32)
    record_id: int
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = _at(nullable=False)


class WebhookDelivery(SQLModel, table=True):
    """One event to one endpoint. pending -> delivered, or failed (retry at
    `next_attempt_at`) -> ... -> delivered or dead (given up after `give_up_at`).

    The record's type and id are copied from the event so "an earlier event of this record is
    still on its way to this endpoint" is one indexed lookup."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("ix_webhook_delivery_status_next_attempt_at", "status", "next_attempt_at"),
        Index(
            "ix_webhook_delivery_endpoint_record",
            "endpoint_id",
            "record_type",
            "record_id",
            "status",
        ),
        Index("ix_webhook_delivery_endpoint_id_created_at", "endpoint_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    endpoint_id: int = Field(foreign_key="webhook_endpoint.id")
    event_id: int = Field(foreign_key="webhook_event.id", index=True)
    record_type: str = Field(max_length=32)
    record_id: int
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = _at(nullable=False)
    give_up_at: datetime = _at(nullable=False)
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = _at()
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, sa_type=Text)
    last_attempt_at: datetime | None = _at()
    delivered_at: datetime | None = _at()
    created_at: datetime = _at(nullable=False)
