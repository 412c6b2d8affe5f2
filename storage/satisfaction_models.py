"""The customer's satisfaction scores, one row per rated ticket, delivered order or visit.

A ticket keeps its own score on its row (its card shows it); its rating is copied here too,
so the customer's history of scores, their average and a falling score are one query over
one table whatever was rated. Registered on the shared metadata like
`storage.review_models`; migration 0018 creates it and copies the tickets' scores in.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models import UTCDateTime, utcnow


class SatisfactionScore(SQLModel, table=True):
    """A 1-5 score the member heard from the customer about one source (`ticket`, `order`,
    `visit` with that record's id); rating the same source again replaces it."""

    __tablename__ = "satisfaction_score"
    __table_args__ = (
        UniqueConstraint("source_kind", "source_id"),
        Index("ix_satisfaction_score_customer_id_created_at", "customer_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id")
    source_kind: str = Field(max_length=16)
    source_id: int
    score: int
    comment: str | None = Field(default=None, sa_type=Text)
    member_id: int = Field(foreign_key="member.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
