"""`/reminders`: the token's member's own reminders (they are personal: not even a manager
sees a teammate's, storage/reminders.py): list, get, create a follow-up, PATCH `due_at`
(Snooze) or `status: "done"` (Done), and DELETE, which is Done: a reminder is finished, not
deleted, and stays in the history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

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
    Since,
)
from bot.api.problems import FieldRefused, problem_responses
from bot.api.writes import Resource, each
from storage.models import Member, Reminder
from storage.parsing import MAX_RECORD_ID
from storage.record_lists import Filters, list_reminders_page
from storage.reminders import create_follow_up, get_reminder, mark_done, snooze

router = APIRouter(prefix="/reminders", tags=["reminders"])
StatusFilter = Literal["open", "all", "pending", "sent", "done", "failed"]


class ReminderOut(BaseModel):
    id: int
    customer_id: int | None
    kind: str
    text: str | None
    due_at: datetime
    exact_time: bool
    status: str
    done_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ReminderPage(Paged):
    items: list[ReminderOut]


class ReminderIn(BaseModel):
    """A follow-up for the token's member, about a customer they may see or none."""

    model_config = ConfigDict(extra="forbid")

    text: str
    due_at: Moment
    customer_id: Int | None = Field(default=None, ge=1, le=MAX_RECORD_ID)


class ReminderPatch(BaseModel):
    """`due_at` snoozes it (pending again); `status: "done"` finishes it."""

    model_config = ConfigDict(extra="forbid")

    due_at: Moment | None = None
    status: Literal["done"] | None = None


def represent(reminder: Reminder) -> ReminderOut:
    assert reminder.id is not None
    return ReminderOut(
        id=reminder.id,
        customer_id=reminder.customer_id,
        kind=reminder.kind,
        text=reminder.text,
        due_at=reminder.due_at,
        exact_time=reminder.exact_time,
        status=reminder.status,
        done_at=reminder.done_at,
        created_at=reminder.created_at,
        updated_at=reminder.updated_at,
    )


def show(session: Session, actor: Member, reminder_id: int) -> ReminderOut:
    return represent(get_reminder(session, actor=actor, reminder_id=reminder_id))


RESOURCE = Resource(Reminder, show, list_reminders_page, each(represent), "reminder_id", mark_done)


@router.get("", response_model=ReminderPage, responses=problem_responses(401, 422, 429))
def list_reminders(
    request: Request,
    caller: Reader,
    updated_since: Since = None,
    customer_id: OptionalId = None,
    status: StatusFilter = "open",
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ReminderPage:
    """The member's reminders, open ones (pending or sent, not yet done) unless `status`
    says otherwise, by last change."""
    filters = Filters(updated_since=updated_since, customer_id=customer_id, status=status)
    items, next_cursor = RESOURCE.page(request, caller, filters, cursor, limit)
    return ReminderPage(items=items, next_cursor=next_cursor)


@router.post(
    "",
    status_code=201,
    response_model=ReminderOut,
    responses=problem_responses(401, 403, 404, 422, 429),
)
def create_one(
    request: Request, caller: Writer, data: ReminderIn, idempotency_key: IdempotencyKey = None
) -> Response:
    """An open follow-up identical to one the member has (customer, time, text) is that one,
    as in the chat."""
    text = fields.required_text("text", data.text, limit="notes")

    def make(session: Session) -> Reminder:
        return create_follow_up(
            session,
            actor=caller.member,
            due_at=data.due_at,
            text=text,
            customer_id=data.customer_id,
            exact_time=True,
        )

    return RESOURCE.create(request, caller, idempotency_key, data, make)


@router.patch(
    "/{reminder_id}",
    response_model=ReminderOut,
    responses=problem_responses(401, 403, 404, 412, 422, 429),
)
def update_one(
    request: Request,
    caller: Writer,
    reminder_id: RecordId,
    data: ReminderPatch,
    if_match: IfMatch = None,
) -> Response:
    actor = caller.member
    if "due_at" in data.model_fields_set and data.due_at is None:
        raise FieldRefused("due_at", "a reminder needs a time")
    if "status" in data.model_fields_set and data.status is None:
        raise FieldRefused("status", 'only "done"')

    def apply(session: Session) -> None:
        if data.due_at is not None:
            snooze(session, actor=actor, reminder_id=reminder_id, until=data.due_at)
        if data.status == "done":
            mark_done(session, actor=actor, reminder_id=reminder_id)

    return RESOURCE.change(request, caller, reminder_id, if_match, apply)


RESOURCE.add_routes(router, ReminderOut, deleted="Done, as the reminder's Done button.")
