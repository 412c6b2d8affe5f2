"""Tables of the spreadsheet import: one batch per uploaded file and one row per file row.

Kept out of `storage.models` (another feature's file) but on the same `SQLModel.metadata`, so
migration 0004 and the migrations-vs-models test see them. The batch keeps the file itself
and every choice the member made (`settings`) so an import survives a restart at any step:
while it is being set up, while it runs (rows already applied are known by `import_row`),
and afterwards for the undo.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models import UTCDateTime, utcnow


class BatchStatus(StrEnum):
    DRAFT = "draft"  # columns being mapped in the chat
    QUEUED = "queued"  # confirmed, waiting for a worker
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # rolled back: the database is as it was before
    UNDONE = "undone"
    CANCELLED = "cancelled"


class DuplicateMode(StrEnum):
    """What a row matching an existing customer (by phone or email) does."""

    SKIP = "skip"
    UPDATE = "update"
    CREATE = "create"


class RowOutcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    SKIPPED = "skipped"
    REJECTED = "rejected"


def _at(*, nullable: bool = True) -> Any:
    default = None if nullable else utcnow
    return Field(default_factory=default, sa_type=UTCDateTime, nullable=nullable)


class ImportBatch(SQLModel, table=True):
    """One uploaded file and its import: set up, running, done, failed or undone."""

    __tablename__ = "import_batch"
    __table_args__ = (Index("ix_import_batch_member_id_status", "member_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int | None = Field(default=None, foreign_key="member.id")
    owner_id: int = Field(foreign_key="member.id")
    chat_id: int | None = Field(default=None, sa_type=BigInteger)
    file_name: str = Field(max_length=255)
    file_sha256: str = Field(max_length=64, index=True)
    settings: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: str = Field(default="draft", max_length=16)
    total_rows: int = 0
    processed_rows: int = 0
    created_count: int = 0
    updated_count: int = 0
    skipped_count: int = 0
    rejected_count: int = 0
    progress_message_id: int | None = Field(default=None, sa_type=BigInteger)
    error: str | None = Field(default=None, sa_type=Text)
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = _at()
    created_at: datetime = _at(nullable=False)
    started_at: datetime | None = _at()
    finished_at: datetime | None = _at()
    undone_at: datetime | None = _at()
    undone_by_id: int | None = Field(default=None, foreign_key="member.id")


class ImportRow(SQLModel, table=True):
    """What one file row did: created or updated a customer, was skipped, or was rejected.

    `fingerprint` (the row's normalised content) makes re-importing the same rows a no-op;
    `before` is the undo record of a row that created or updated a customer: the values before
    and what the row wrote (`storage.imports.store.undo_record`).
    """

    __tablename__ = "import_row"
    __table_args__ = (UniqueConstraint("batch_id", "row_number"),)

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="import_batch.id")  # indexed by the unique pair
    row_number: int
    fingerprint: str = Field(max_length=64, index=True)
    outcome: str = Field(max_length=16)
    customer_id: int | None = Field(default=None, index=True)
    before: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    reason: str | None = Field(default=None, sa_type=Text)


class ImportFile(SQLModel, table=True):
    """The uploaded file of a batch, in a row of its own: SQLite rewrites a whole row on every
    update, and the batch row is updated after every chunk (with an 8 MB file inside, each
    of those updates took ~7 ms)."""

    __tablename__ = "import_file"

    batch_id: int = Field(
        foreign_key="import_batch.id",
        primary_key=True,
        sa_column_kwargs={"autoincrement": False},
    )
    content: bytes = Field(sa_type=LargeBinary)
