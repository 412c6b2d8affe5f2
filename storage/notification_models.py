"""Tables of the notification feature: linked team groups and the sent-once log.

Kept out of `storage.models` (another feature's file) but on the same `SQLModel.metadata`,
with its naming convention, so migration 0003 and the migrations-vs-models test see them.
`storage.digest` and the Alembic environment import this module to register the tables.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models import UTCDateTime, utcnow


class TeamFeed(SQLModel, table=True):
    """A Telegram group that receives a team's activity; `active` turns off when removed."""

    __tablename__ = "team_feed"

    id: int | None = Field(default=None, primary_key=True)
    manager_id: int = Field(foreign_key="member.id", index=True)
    chat_id: int = Field(sa_type=BigInteger, unique=True)
    title: str | None = Field(default=None, max_length=255)
    language: str | None = Field(default=None, max_length=8)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    deactivated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class NotificationLog(SQLModel, table=True):
    """One row per message that must go out at most once (a digest, a feed event, a notice).

    The unique `key` is claimed before sending: a second instance, or this one after a
    restart, finds the row and does not send again. The claim is a lease (`claimed_until`):
    a process that died before Telegram answered leaves a row another pass takes over once
    the lease ends. `sent_at` is set only after Telegram accepted the message; `outcome`
    says why an unsent row is final ("blocked", "failed", "dropped").
    """

    __tablename__ = "notification_log"
    __table_args__ = (Index("ix_notification_log_member_id_kind", "member_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    key: str = Field(max_length=128, unique=True)
    member_id: int | None = Field(default=None, foreign_key="member.id")
    period_end: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = 0
    outcome: str | None = Field(default=None, max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Subscription(SQLModel, table=True):
    """A member asked for something on a schedule: `/subscribe report weekly`."""

    __tablename__ = "subscription"
    __table_args__ = (UniqueConstraint("member_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    kind: str = Field(max_length=32)
    cadence: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
