"""The review queue's table, what a manager decided about an item and on which version, and
`/dedupe`'s saved searches.

Review items themselves are not stored: they are computed from the records each time
(`storage.review_items`), so a fixed record drops out of the queue by itself. A decision
keeps an item out of the queue while the record's `version` (its last change) is the one it
was made on; a change to the record brings the item back. Registered on the shared metadata
like `storage.webhook_models`; migration 0016 creates it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Text
from sqlmodel import Field, SQLModel

from storage.models import UTCDateTime, utcnow


class ReviewDecision(SQLModel, table=True):
    """Approved, dismissed (with a reason) or sent back to the owner (with a comment)."""

    __tablename__ = "review_decision"
    __table_args__ = (Index("ix_review_decision_item", "record_type", "record_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    record_type: str = Field(max_length=16)
    record_id: int
    other_id: int | None = None
    version: str = Field(max_length=64)
    decision: str = Field(max_length=16)
    comment: str | None = Field(default=None, sa_type=Text)
    decided_by_id: int = Field(foreign_key="member.id")
    decided_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class DedupeRun(SQLModel, table=True):
    """A manager's `/dedupe`: the clusters found, and where they are in them (the cluster
    shown, the survivor and the picks so far), so a restart or another instance goes on
    from there. One per member; a new search replaces it. Migration 0019 creates it."""

    __tablename__ = "dedupe_run"

    member_id: int = Field(foreign_key="member.id", primary_key=True)
    clusters: list[list[int]] = Field(default_factory=list, sa_type=JSON)
    state: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
