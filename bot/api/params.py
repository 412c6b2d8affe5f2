"""The parameters every resource takes, declared once: ids within a database key, page
size, and the headers of idempotent creates and versioned changes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Path, Query
from pydantic import BaseModel, Field

from storage.parsing import MAX_RECORD_ID

RecordId = Annotated[int, Path(ge=1, le=MAX_RECORD_ID)]
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_RECORD_ID)]
Limit = Annotated[int, Query(ge=1, le=200, description="Page size")]
Cursor = Annotated[str | None, Query(max_length=200, description="`next_cursor` of the last page")]
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", description="Makes a create safe to repeat"),
]
IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description="The ETag the change is based on; 412 if stale"),
]


class Paged(BaseModel):
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last"
    )
