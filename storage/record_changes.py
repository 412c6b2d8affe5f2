"""Changing a deal or a note after entry: edit, soft delete and restore.

The same rules as for customers (storage/customer_changes.py): every change loads the record
through the access rule first, so a forged id is `NotFound` like a missing one, and writes its
audit entry (who, which fields, old and new) in the same transaction. Only admins restore, and
a role refusal is `NotFound` too, because the chat answers it exactly like an unknown record.

Deleting a note leaves its customer's `last_contact_at` as it is: the contact did happen (the
note may be deleted because it was a duplicate or mistyped), and recomputing it from the
remaining notes would make a customer look neglected, and nudge a salesperson, for nothing.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from storage.access import (
    NotFound,
    actor_id,
    owner_scope,
    require_deal,
    require_interaction,
)
from storage.audit import diff, record_audit, snapshot
from storage.interactions import INTERACTION_KINDS
from storage.models import Customer, Deal, Interaction, Member, Role, utcnow

DEAL = "deal"
NOTE = "interaction"
CENTS = Decimal("0.01")
# The columns an edit may change. The stage is not here: it moves on the deal card's stage
# buttons, which keep the pipeline history and ask why a deal was won or lost.
DEAL_EDITABLE = (
    "title",
    "amount",
    "currency",
    "expected_close_date",
    "probability",
    "budget",
    "budget_currency",
    "decision_date",
    "budget_notes",
    "decision_maker_notes",
)
NOTE_EDITABLE = ("kind", "happened_at", "summary", "outcome")


def update_deal(session: Session, *, actor: Member, deal_id: int, changes: dict[str, Any]) -> Deal:
    """Apply edit-flow answers (already parsed and validated) and audit what really changed."""
    _check(changes, DEAL_EDITABLE)
    if changes.get("amount") is not None and not changes.get("currency"):
        raise ValueError("an amount needs a currency")
    if changes.get("budget") is not None and not changes.get("budget_currency"):
        raise ValueError("a budget needs a currency")
    for money in ("amount", "budget"):
        if changes.get(money) is not None:
            # As the column stores it, so "100" over 100.00 is no change in the audit.
            changes = {**changes, money: Decimal(changes[money]).quantize(CENTS)}
    deal = require_deal(session, actor=actor, deal_id=deal_id)
    _apply(session, actor, deal, changes, entity_type=DEAL)
    return deal


def archive_deal(session: Session, *, actor: Member, deal_id: int) -> Deal:
    """Soft delete: out of /deals, the pipeline and the customer card; an admin can restore."""
    deal = require_deal(session, actor=actor, deal_id=deal_id)
    _set_deleted(session, actor, deal, utcnow(), entity_type=DEAL, action="delete")
    return deal


def list_deleted_deals(session: Session, *, actor: Member, limit: int = 20) -> list[Deal]:
    """Deleted deals of live customers, latest first; only admins restore, so only they list."""
    if actor.role != Role.ADMIN:
        raise NotFound
    return list(
        session.exec(
            select(Deal)
            .join(Customer, col(Customer.id) == col(Deal.customer_id))
            .where(
                col(Deal.deleted_at).is_not(None),
                col(Customer.deleted_at).is_(None),
                owner_scope(actor, Deal.owner_id),
            )
            .order_by(col(Deal.deleted_at).desc(), col(Deal.id).desc())
            .limit(limit)
        )
    )


def restore_deal(session: Session, *, actor: Member, deal_id: int) -> Deal:
    """Admins only. The `require_deal` loader hides deleted deals, so this one looks for a
    deleted deal itself, still in the actor's scope and of a customer that is not deleted."""
    if actor.role != Role.ADMIN:
        raise NotFound
    deal = session.exec(
        select(Deal)
        .join(Customer, col(Customer.id) == col(Deal.customer_id))
        .where(
            col(Deal.id) == deal_id,
            col(Deal.deleted_at).is_not(None),
            col(Customer.deleted_at).is_(None),
            owner_scope(actor, Deal.owner_id),
        )
    ).first()
    if deal is None:
        raise NotFound
    _set_deleted(session, actor, deal, None, entity_type=DEAL, action="restore")
    return deal


def update_interaction(
    session: Session, *, actor: Member, interaction_id: int, changes: dict[str, Any]
) -> Interaction:
    """Apply edit-flow answers to a note the actor may see, and audit what really changed."""
    _check(changes, NOTE_EDITABLE)
    if "kind" in changes and changes["kind"] not in INTERACTION_KINDS:
        raise ValueError(f"unknown interaction kind {changes['kind']!r}")
    happened = changes.get("happened_at")
    if "happened_at" in changes and (happened is None or happened.tzinfo is None):
        raise ValueError("happened_at must be timezone-aware")
    note = require_interaction(session, actor=actor, interaction_id=interaction_id)
    _apply(session, actor, note, changes, entity_type=NOTE)
    return note


def get_interaction(
    session: Session, *, actor: Member, interaction_id: int
) -> tuple[Interaction, str]:
    """A note the actor may see, with its customer's name for the note's card."""
    note = require_interaction(session, actor=actor, interaction_id=interaction_id)
    customer = session.get_one(Customer, note.customer_id)
    return note, customer.name


def archive_interaction(session: Session, *, actor: Member, interaction_id: int) -> Interaction:
    """Soft delete a note; the customer's `last_contact_at` stays (see the module docstring)."""
    note = require_interaction(session, actor=actor, interaction_id=interaction_id)
    _set_deleted(session, actor, note, utcnow(), entity_type=NOTE, action="delete")
    return note


def list_deleted_interactions(
    session: Session, *, actor: Member, limit: int = 20
) -> list[tuple[Interaction, str]]:
    """Deleted notes of live customers with the customer's name, latest first; admins only."""
    if actor.role != Role.ADMIN:
        raise NotFound
    rows = session.exec(
        select(Interaction, Customer.name)
        .join(Customer, col(Customer.id) == col(Interaction.customer_id))
        .where(
            col(Interaction.deleted_at).is_not(None),
            col(Customer.deleted_at).is_(None),
            owner_scope(actor, Customer.owner_id),
        )
        .order_by(col(Interaction.deleted_at).desc(), col(Interaction.id).desc())
        .limit(limit)
    )
    return [(note, name) for note, name in rows]


def restore_interaction(session: Session, *, actor: Member, interaction_id: int) -> Interaction:
    """Admins only; like `restore_deal`, scoped as its customer is and the customer live."""
    if actor.role != Role.ADMIN:
        raise NotFound
    note = session.exec(
        select(Interaction)
        .join(Customer, col(Customer.id) == col(Interaction.customer_id))
        .where(
            col(Interaction.id) == interaction_id,
            col(Interaction.deleted_at).is_not(None),
            col(Customer.deleted_at).is_(None),
            owner_scope(actor, Customer.owner_id),
        )
    ).first()
    if note is None:
        raise NotFound
    _set_deleted(session, actor, note, None, entity_type=NOTE, action="restore")
    return note


def _check(changes: dict[str, Any], editable: tuple[str, ...]) -> None:
    unknown = set(changes) - set(editable)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")


def _apply(
    session: Session,
    actor: Member,
    record: Deal | Interaction,
    changes: dict[str, Any],
    *,
    entity_type: str,
) -> None:
    """Set the changed columns and write one audit entry; nothing changed writes nothing."""
    before = snapshot(**{name: getattr(record, name) for name in changes})
    changed = diff(before, snapshot(**changes))
    if not changed:
        return
    for name in changed:
        setattr(record, name, changes[name])
    _touch(session, actor, record)
    assert record.id is not None
    record_audit(
        session,
        actor_id=actor_id(actor),
        action="update",
        entity_type=entity_type,
        entity_id=record.id,
        changes=changed,
    )


def _touch(session: Session, actor: Member, record: Deal | Interaction) -> None:
    record.updated_at = utcnow()
    record.updated_by_id = actor_id(actor)
    session.add(record)
    session.flush()


def _set_deleted(
    session: Session,
    actor: Member,
    record: Deal | Interaction,
    deleted_at: datetime | None,
    *,
    entity_type: str,
    action: str,
) -> None:
    old = record.deleted_at
    record.deleted_at = deleted_at
    _touch(session, actor, record)
    assert record.id is not None
    record_audit(
        session,
        actor_id=actor_id(actor),
        action=action,
        entity_type=entity_type,
        entity_id=record.id,
        changes={"deleted_at": list(snapshot(old=old, new=deleted_at).values())},
    )
