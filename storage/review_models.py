"""The review queue's one table: what a manager decided about an item, and on which version.

Review items themselves are not stored: they are computed from the records each time
(`storage.review_items`), so a fixed record drops out of the queue by itself. A decision
keeps an item out of the queue while the record's `version` (its last change) is the one it
was made on; a change to the record brings the item back. Registered on the shared metadata
like `storage.webhook_models`; migration 0016 creates it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text
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
