"""`/notes`: calls, visits, meetings, emails and messages (interactions): list, get, create
(with an optional follow-up reminder, as the note flow), partial update, soft delete.

A note is part of its customer's history: whoever may see the customer sees its notes
(`require_interaction`). Creating one moves the customer's last contact, as in the chat.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from bot.api import fields
from bot.api.auth import Reader, Writer
from bot.api.params import (
    Cursor,
    IdempotencyKey,
    IfMatch,
    Int,
    Limit,
    Moment,
    OptionalId,
    Paged,
    RecordId,
    Search,
    Since,
)
from bot.api.problems import FieldRefused, problem_responses
from bot.api.writes import Resource, each
from storage.interactions import INTERACTION_KINDS, InteractionCreate
from storage.models import Interaction, Member, utcnow
from storage.notes import FollowUp, create_note
from storage.parsing import MAX_RECORD_ID
from storage.record_changes import archive_interaction, get_interaction, update_interaction
from storage.record_lists import Filters, list_interactions_page

router = APIRouter(prefix="/notes", tags=["notes"])
KIND = Field(json_schema_extra={"enum": list(INTERACTION_KINDS)})


class NoteOut(BaseModel):
    id: int
    customer_id: int
    owner_id: int
    kind: str
    happened_at: datetime
    summary: str | None
    outcome: str | None
    latitude: float | None
    longitude: float | None
    created_at: datetime
    updated_at: datetime


class NotePage(Paged):
    items: list[NoteOut]


class NoteIn(BaseModel):
    """A note on a customer the token's member may see; `happened_at` defaults to now;
    `follow_up_at` sets a follow-up reminder for the member, as the note flow's last step
    (it is then among the member's `/reminders`)."""

    model_config = ConfigDict(extra="forbid")

    customer_id: Int = Field(ge=1, le=MAX_RECORD_ID)
    kind: str = KIND
    summary: str
    outcome: str | None = None
    happened_at: Moment | None = None
    follow_up_at: Moment | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


class NotePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str | None = Field(default=None, json_schema_extra={"enum": list(INTERACTION_KINDS)})
    summary: str | None = None
    outcome: str | None = None
    happened_at: Moment | None = None


def represent(note: Interaction) -> NoteOut:
    assert note.id is not None
    return NoteOut(
        id=note.id,
        customer_id=note.customer_id,
        owner_id=note.owner_id,
        kind=note.kind,
        happened_at=note.happened_at,
        summary=note.summary,
        outcome=note.outcome,
        latitude=note.latitude,
        longitude=note.longitude,
        created_at=note.created_at,
        updated_at=note.updated_at,
    )


def show(session: Session, actor: Member, note_id: int) -> NoteOut:
    note, _customer_name = get_interaction(session, actor=actor, interaction_id=note_id)
    return represent(note)


def _kind(value: str | None) -> str:
    if value is None or value not in INTERACTION_KINDS:
        raise FieldRefused("kind", f"one of {', '.join(INTERACTION_KINDS)}")
    return value


def to_create(data: NoteIn) -> InteractionCreate:
    if (data.latitude is None) != (data.longitude is None):
        raise FieldRefused("longitude" if data.longitude is None else "latitude", "give both")
    return InteractionCreate(
        customer_id=data.customer_id,
        kind=_kind(data.kind),
        happened_at=data.happened_at or utcnow(),
        summary=fields.required_text("summary", data.summary),
        outcome=fields.text("outcome", data.outcome, limit="notes"),
        latitude=data.latitude,
        longitude=data.longitude,
    )


def to_changes(data: NotePatch) -> dict[str, Any]:
    """The edit in `update_interaction`'s shape (what the note edit flow hands it)."""
    given = data.model_fields_set
    changes: dict[str, Any] = {}
    if "kind" in given:
        changes["kind"] = _kind(data.kind)
    if "summary" in given:
        if data.summary is None:
            raise FieldRefused("summary", "a note needs a summary")
        changes["summary"] = fields.required_text("summary", data.summary)
    if "outcome" in given:
        changes["outcome"] = fields.text("outcome", data.outcome, limit="notes")
    if "happened_at" in given:
        if data.happened_at is None:
            raise FieldRefused("happened_at", "a note needs a time")
        changes["happened_at"] = data.happened_at
    return changes


RESOURCE = Resource(
    Interaction,
    show,
    list_interactions_page,
    each(represent),
    "note_id",
    archive_interaction,
    "interaction_id",
)


@router.get("", response_model=NotePage, responses=problem_responses(401, 422, 429))
def list_notes(
    request: Request,
    caller: Reader,
    updated_since: Since = None,
    owner_id: OptionalId = None,
    customer_id: OptionalId = None,
    q: Search = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> NotePage:
    """Notes of the customers the token's member may see, by last change; `q` is part of the
    summary or the outcome."""
    filters = Filters(
        updated_since=updated_since, owner_id=owner_id, customer_id=customer_id, text=q
    )
    items, next_cursor = RESOURCE.page(request, caller, filters, cursor, limit)
    return NotePage(items=items, next_cursor=next_cursor)


@router.post(
    "",
    status_code=201,
    response_model=NoteOut,
    responses=problem_responses(401, 403, 404, 422, 429),
)
def create_one(
    request: Request, caller: Writer, data: NoteIn, idempotency_key: IdempotencyKey = None
) -> Response:
    """404 when the customer is not one the token's member may see."""
    values = to_create(data)
    follow_up = FollowUp(data.follow_up_at, exact_time=True) if data.follow_up_at else None

    def make(session: Session) -> Interaction:
        return create_note(
            session, actor=caller.member, data=values, follow_up=follow_up
        ).interaction

    return RESOURCE.create(request, caller, idempotency_key, data, make)


@router.patch(
    "/{note_id}",
    response_model=NoteOut,
    responses=problem_responses(401, 403, 404, 412, 422, 429),
)
def update_one(
    request: Request, caller: Writer, note_id: RecordId, data: NotePatch, if_match: IfMatch = None
) -> Response:
    changes = to_changes(data)

    def apply(session: Session) -> None:
        update_interaction(session, actor=caller.member, interaction_id=note_id, changes=changes)

    return RESOURCE.change(request, caller, note_id, if_match, apply)


RESOURCE.add_routes(
    router,
    NoteOut,
    deleted="Soft delete; the customer's last contact stays (the contact did happen).",
)
