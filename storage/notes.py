"""Saving a note with what comes with it: its follow-up reminder, and for a quick log the new
customer and deal, all in the caller's one transaction (the draft's commit)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlmodel import Session

from storage.customers import CustomerCreate, create_customer
from storage.deals import DealCreate, create_deal
from storage.interactions import InteractionCreate, create_interaction
from storage.models import Customer, Deal, Interaction, Member, Reminder
from storage.reminders import create_follow_up


@dataclass(frozen=True)
class FollowUp:
    """When to follow a note up; `exact_time` False means "that day", at working hours."""

    due_at: datetime
    exact_time: bool


class NoteSaved(NamedTuple):
    interaction: Interaction
    follow_up: Reminder | None


class LogSaved(NamedTuple):
    note: NoteSaved
    new_customer: Customer | None
    deal: Deal | None


def create_note(
    session: Session, *, actor: Member, data: InteractionCreate, follow_up: FollowUp | None
) -> NoteSaved:
    """The note, then its follow-up (if any). The follow-up's key is the note's, so a retried
    save never schedules it twice."""
    interaction = create_interaction(session, actor=actor, data=data)
    if follow_up is None:
        return NoteSaved(interaction, None)
    reminder = create_follow_up(
        session,
        actor=actor,
        due_at=follow_up.due_at,
        text=data.summary,
        customer_id=data.customer_id,
        exact_time=follow_up.exact_time,
        dedupe_key=f"note:{actor.id}:{interaction.id}",
    )
    return NoteSaved(interaction, reminder)


def create_logged_note(
    session: Session,
    *,
    actor: Member,
    customer: int | CustomerCreate,
    note: InteractionCreate,
    follow_up: FollowUp | None,
    deal: DealCreate | None,
) -> LogSaved:
    """A quick log: the customer (an existing id, or created here), the note and its
    follow-up, and a deal when an amount was given. The note's and the deal's `customer_id`
    are set here to the customer's."""
    new_customer = None
    if isinstance(customer, CustomerCreate):
        new_customer = create_customer(session, actor=actor, data=customer)
        assert new_customer.id is not None
        customer = new_customer.id
    saved = create_note(
        session,
        actor=actor,
        data=dataclasses.replace(note, customer_id=customer),
        follow_up=follow_up,
    )
    created = None
    if deal is not None:
        created = create_deal(
            session, actor=actor, data=dataclasses.replace(deal, customer_id=customer)
        )
    return LogSaved(saved, new_customer, created)
