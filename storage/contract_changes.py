"""Changing a contract after entry: edit a field, soft delete and restore, and its history.

The rules of deals (storage/record_changes.py): every change loads the contract through the
access rule first, so a forged id is `NotFound` like a missing one, and writes its audit
entry in the same transaction. The number stays unique (`DuplicateNumber`); a new customer or
deal is loaded through the access rule too, the deal must be the customer's, and a contract
moved to another customer goes to that customer's owner (`owner_for`), lets go of the old
customer's deal and takes its files along. An edited end date or renewal notice withdraws the
contract's unsent renewal reminders at once, so the next pass plans them for the new days. Only
admins restore; a role refusal is `NotFound` too. The status is not edited here: it moves
through sign, activate, renew and terminate (storage/contracts.py), which check the moves it
allows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, update
from sqlmodel import Session, col, select

from storage.access import (
    NotFound,
    actor_id,
    owner_for,
    owner_scope,
    require_contract,
    require_customer,
    require_deal,
)
from storage.audit import diff, record_audit, snapshot
from storage.contract_reminders import replan_renewals, withdraw_renewals
from storage.contracts import DuplicateNumber, number_taken
from storage.customer_changes import HistoryEntry, audit_history
from storage.interactions import AttachmentRef, add_attachments
from storage.models import Attachment, AuditEntry, Contract, Customer, Member, Role, utcnow

ENTITY = "contract"
CENTS = Decimal("0.01")


class EditRefused(ValueError):
    """The edit would leave the contract inconsistent: ending before it starts, or a signed
    contract without its signing date. Nothing is written."""


EDITABLE = (
    "title",
    "amount",
    "currency",
    "signed_on",
    "starts_on",
    "ends_on",
    "terms",
    "renewal_notice_days",
    "number",
    "customer_id",
    "deal_id",
)


def update_contract(
    session: Session, *, actor: Member, contract_id: int, changes: dict[str, Any]
) -> Contract:
    """Apply edit-flow answers and audit what really changed. The dates must still make a
    term (the end not before the start), and a contract past its draft keeps a signing date."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    if changes.get("amount") is not None:
        if not changes.get("currency"):
            raise ValueError("an amount needs a currency")
        changes = {**changes, "amount": Decimal(changes["amount"]).quantize(CENTS)}
    contract = require_contract(session, actor=actor, contract_id=contract_id)
    changes = _placed(session, actor, contract, changes)
    starts: date | None = changes.get("starts_on", contract.starts_on)
    ends: date | None = changes.get("ends_on", contract.ends_on)
    if starts and ends and ends < starts:
        raise EditRefused("a contract cannot end before it starts")
    if "signed_on" in changes and changes["signed_on"] is None and contract.status != "draft":
        raise EditRefused("a signed contract needs its signing date")
    before = snapshot(**{name: getattr(contract, name) for name in changes})
    changed = diff(before, snapshot(**changes))
    if changed:
        for name in changed:
            setattr(contract, name, changes[name])
        _touch(session, actor, contract, "update", changed)
    if "customer_id" in changed:
        session.execute(
            update(Attachment)
            .where(col(Attachment.contract_id) == contract.id)
            .values(customer_id=contract.customer_id)
        )
        # Reminders of members who no longer see it go now; the pass reminds the new owner.
        withdraw_renewals(session, contract_id=contract_id, now=utcnow())
    if {"ends_on", "renewal_notice_days"} & set(changed):
        replan_renewals(session, contract_id=contract_id, now=utcnow())
    return contract


def add_contract_files(
    session: Session, *, actor: Member, contract_id: int, files: Sequence[AttachmentRef]
) -> Contract:
    """More signed files for a visible contract (an annex, a page forgotten at entry): kept
    with it and its customer, sent with the others from the card, the count audited."""
    contract = require_contract(session, actor=actor, contract_id=contract_id)
    if not files:
        return contract
    held = len(
        session.exec(select(Attachment.id).where(col(Attachment.contract_id) == contract_id)).all()
    )
    add_attachments(
        session, actor=actor, refs=files, customer_id=contract.customer_id, contract_id=contract_id
    )
    _touch(session, actor, contract, "update", {"files": [held, held + len(files)]})
    return contract


def _placed(
    session: Session, actor: Member, contract: Contract, changes: dict[str, Any]
) -> dict[str, Any]:
    """`changes` with the number, customer and deal checked (see the module's docstring)."""
    changes = dict(changes)
    if "number" in changes:
        number = str(changes["number"] or "").strip()
        if not number:
            raise EditRefused("a contract needs a number")
        if number_taken(session, number, other_than=contract.id):
            raise DuplicateNumber(number)
        changes["number"] = number
    customer_id = changes.get("customer_id", contract.customer_id)
    if customer_id != contract.customer_id:
        customer = require_customer(session, actor=actor, customer_id=customer_id)
        changes["owner_id"] = owner_for(actor, customer)
        changes.setdefault("deal_id", None)
    if changes.get("deal_id") is not None:
        deal = require_deal(session, actor=actor, deal_id=changes["deal_id"])
        if deal.customer_id != customer_id:
            raise NotFound
    return changes


def archive_contract(session: Session, *, actor: Member, contract_id: int) -> Contract:
    """Soft delete: off the customer card and out of reach, its renewal reminders withdrawn
    at once; an admin can restore it (and the next pass reminds of it again)."""
    contract = require_contract(session, actor=actor, contract_id=contract_id)
    now = utcnow()
    _set_deleted(session, actor, contract, now, "delete")
    assert contract.id is not None
    withdraw_renewals(session, contract_id=contract.id, now=now)
    return contract


def list_deleted_contracts(session: Session, *, actor: Member, limit: int = 20) -> list[Contract]:
    """Deleted contracts of live customers, latest first; only admins restore and list."""
    if actor.role != Role.ADMIN:
        raise NotFound
    newest = (col(Contract.deleted_at).desc(), col(Contract.id).desc())
    return list(session.exec(_deleted(actor).order_by(*newest).limit(limit)))


def restore_contract(session: Session, *, actor: Member, contract_id: int) -> Contract:
    """Admins only: a deleted contract of a live customer, in the actor's scope."""
    if actor.role != Role.ADMIN:
        raise NotFound
    contract = session.exec(_deleted(actor).where(col(Contract.id) == contract_id)).first()
    if contract is None:
        raise NotFound
    _set_deleted(session, actor, contract, None, "restore")
    return contract


def _deleted(actor: Member) -> Any:
    return (
        select(Contract)
        .join(Customer, col(Customer.id) == col(Contract.customer_id))
        .where(
            col(Contract.deleted_at).is_not(None),
            col(Customer.deleted_at).is_(None),
            owner_scope(actor, Contract.owner_id),
            owner_scope(actor, Customer.owner_id),
        )
    )


def list_contract_history(
    session: Session, *, actor: Member, contract_id: int, limit: int, offset: int = 0
) -> list[HistoryEntry]:
    """A visible contract's audit entries, newest first, with the actor's name."""
    require_contract(session, actor=actor, contract_id=contract_id)
    where = and_(col(AuditEntry.entity_type) == ENTITY, col(AuditEntry.entity_id) == contract_id)
    return audit_history(session, actor=actor, where=where, limit=limit, offset=offset)


def _set_deleted(
    session: Session, actor: Member, contract: Contract, at: Any, action: str
) -> None:
    old = contract.deleted_at
    contract.deleted_at = at
    _touch(
        session,
        actor,
        contract,
        action,
        {"deleted_at": list(snapshot(old=old, new=at).values())},
    )


def _touch(
    session: Session, actor: Member, contract: Contract, action: str, changes: dict[str, Any]
) -> None:
    contract.updated_at, contract.updated_by_id = utcnow(), actor_id(actor)
    session.add(contract)
    session.flush()
    assert contract.id is not None
    record_audit(
        session,
        actor_id=actor_id(actor),
        action=action,
        entity_type=ENTITY,
        entity_id=contract.id,
        changes=changes,
    )
