"""Tables of the HTTP API: its tokens and the remembered answers of idempotent creates.

Kept out of `storage.models` (the chat's records) but on the same `SQLModel.metadata`, with
its naming convention, so migration 0013 and the migrations-vs-models test see them.
`storage.api_tokens` and the Alembic environment import this module to register the tables.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from storage.models import UTCDateTime, utcnow


class ApiToken(SQLModel, table=True):
    """A token another system calls the API with, acting as `member_id`.

    Only the SHA-256 of the secret is kept (the secret is 256 random bits, so a plain hash is
    enough: nothing to brute-force), and it is shown once, when made. A name is unique among
    the tokens not revoked, so "erp" can be revoked and made again.
    """

    __tablename__ = "api_token"
    __table_args__ = (
        Index(
            "uq_api_token_name_live",
            "name",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    member_id: int = Field(foreign_key="member.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    read_only: bool = False
    created_by_id: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class IdempotentRequest(SQLModel, table=True):
    """The first answer to a create sent with an `Idempotency-Key`, per token: a repeat gets it
    back instead of making a second record. Written in the create's own transaction, so the
    record and its remembered answer exist together or not at all."""

    __tablename__ = "api_idempotent_request"
    __table_args__ = (UniqueConstraint("token_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    token_id: int = Field(foreign_key="api_token.id")
    key: str = Field(max_length=255)
    fingerprint: str = Field(max_length=64)  # SHA-256 of method, path and body
    status: int
    body: str = Field(sa_type=Text)
    created_at: datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True
    )  # `prune_idempotent` deletes by age
