"""The parameters every resource takes, declared once: ids within a database key, page
size, and the headers of idempotent creates and versioned changes."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Header, Path, Query
from pydantic import AwareDatetime, BaseModel, BeforeValidator, Field, Strict

from storage.parsing import MAX_RECORD_ID


def _iso_only(value: object) -> object:
    """A time or date as ISO 8601 text only: pydantic would also read a number as a Unix
    time ("0.5" as 1970), which the document does not promise and no client means."""
    if isinstance(value, str) and not (len(value) >= 10 and value[:4].isdigit()):
        raise ValueError("an ISO 8601 date or time, e.g. 2026-12-07T10:00:00+08:00")
    if isinstance(value, int | float):
        raise ValueError("an ISO 8601 date or time, e.g. 2026-12-07T10:00:00+08:00")
    return value


Moment = Annotated[AwareDatetime, BeforeValidator(_iso_only)]
Day = Annotated[date, BeforeValidator(_iso_only)]
Int = Annotated[int, Strict()]
Since = Annotated[Moment | None, Query(description="Only records changed at or after this time")]

RecordId = Annotated[int, Path(ge=1, le=MAX_RECORD_ID)]
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_RECORD_ID)]
Limit = Annotated[int, Query(ge=1, le=200, description="Page size")]
Cursor = Annotated[str | None, Query(max_length=200, description="`next_cursor` of the last page")]
Search = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=100,
        description="Part of the record's text, any case (which fields: the list's description)",
    ),
]
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
