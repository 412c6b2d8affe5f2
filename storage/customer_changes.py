"""Changing a customer after entry: edit, soft delete and restore, merge, reassign, history.

Every change loads the customer through the access rule first (so a forged id is `NotFound`,
like a missing one) and writes its audit entry in the same transaction: who, when, which
fields, old and new values. Role refusals are `NotFound` too, because the chat answers them
exactly like an unknown record and nothing about the target leaks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, or_, true, update
from sqlmodel import Session, col, select

from storage.access import (
    NotFound,
    actor_id,
    member_scope,
    owner_scope,
    require_customer,
    ticket_reach,
    visible_customers,
)
from storage.audit import diff, record_audit, snapshot
from storage.customers import record_contact
from storage.models import (
    Attachment,
    AuditEntry,
    Contract,
    Customer,
    CustomerPhone,
    Deal,
    Interaction,
    Member,
    Order,
    Reminder,
    Role,
    Ticket,
    utcnow,
)
from storage.reminders import OPEN_STATUSES
from storage.search.index import index_customer

ENTITY = "customer"
# The fields `update_customer` may change: what the entry flow asks, under the same names.
EDITABLE = (
    "name",
    "phones",
    "email",
    "company",
    "position",
    "industry",
    "region",
    "gender",
    "birthday",
    "source",
    "category",
    "tags",
    "needs",
)


@dataclass(frozen=True)
class Reassigned:
    """What the chat needs to tell both salespeople."""

    customer: Customer
    old_owner: Member
    new_owner: Member
    reminders_moved: int


@dataclass(frozen=True)
class Merged:
    """What the chat needs to tell the duplicate's owner and the survivor's, when they differ."""

    survivor: Customer
    duplicate: Customer
    old_owner: Member
    new_owner: Member
    reminders_moved: int


@dataclass(frozen=True)
class HistoryEntry:
    action: str
    actor_name: str
    at: datetime
    changes: dict[str, Any]
    entity_type: str = ENTITY  # "customer", or one of its deals, notes or purchases
    entity_id: int = 0
    # What the ids in `changes` name, as "member:3" / "customer:5" / "deal:7" -> name or
    # title. A customer or deal the reader may not see is left out, so only its id is shown.
    names: dict[str, str] = field(default_factory=dict)


# The audited fields whose values are ids, and what they are the id of.
REFERENCES = {
    "owner_id": "member",
    "customer_id": "customer",
    "merged_from": "customer",
    "merged_into": "customer",
    "deal_id": "deal",
    "assignee_id": "member",
}


def _values(session: Session, customer: Customer) -> dict[str, Any]:
    """The customer in the shape the entry flow answers in (phones list, birthday dict)."""
    values = {name: getattr(customer, name) for name in EDITABLE if hasattr(customer, name)}
    values["phones"] = list(
        session.exec(
            select(CustomerPhone.e164)
            .where(col(CustomerPhone.customer_id) == customer.id)
            .order_by(col(CustomerPhone.id))
        )
    )
    month, day = customer.birthday_month, customer.birthday_day
    values["birthday"] = (
        {"month": month, "day": day, "year": customer.birthday_year} if month and day else None
    )
    values["tags"] = list(customer.tags or [])
    return values


def current_values(session: Session, *, actor: Member, customer_id: int) -> dict[str, Any]:
    """A visible customer's editable fields, for showing "now: ..." before an edit."""
    return _values(session, require_customer(session, actor=actor, customer_id=customer_id))


def update_customer(
    session: Session, *, actor: Member, customer_id: int, changes: dict[str, Any]
) -> Customer:
    """Apply entry-flow answers (already parsed and validated) and audit what really changed."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    customer = require_customer(session, actor=actor, customer_id=customer_id)
    before = snapshot(**_values(session, customer))
    after = {**before, **snapshot(**changes)}
    changed = diff(before, after)
    if not changed:
        return customer
    for name in changed:
        value = changes[name]
        if name == "phones":
            session.execute(
                delete(CustomerPhone).where(col(CustomerPhone.customer_id) == customer_id)
            )
            for e164 in dict.fromkeys(value or []):
                session.add(CustomerPhone(customer_id=customer_id, e164=e164))
        elif name == "birthday":
            birthday = value or {}
            customer.birthday_month = birthday.get("month")
            customer.birthday_day = birthday.get("day")
            customer.birthday_year = birthday.get("year")
        elif name == "tags":
            customer.tags = list(value or [])
        else:
            setattr(customer, name, value)
    _touch(session, actor, customer)
    index_customer(session, customer_id=customer_id)
    record_audit(
        session,
        actor_id=actor_id(actor),
        action="update",
        entity_type=ENTITY,
        entity_id=customer_id,
        changes=changed,
    )
    return customer


def archive_customer(session: Session, *, actor: Member, customer_id: int) -> Customer:
    """Soft delete: hidden from search, cards and pickers; an admin can restore it."""
    customer = require_customer(session, actor=actor, customer_id=customer_id)
    _set_deleted(session, actor, customer, utcnow(), action="delete")
    return customer


def list_deleted_customers(session: Session, *, actor: Member, limit: int = 20) -> list[Customer]:
    """Deleted customers, latest first; only admins restore, so only admins list them."""
    if actor.role != Role.ADMIN:
        raise NotFound
    return list(
        session.exec(
            select(Customer)
            .where(col(Customer.deleted_at).is_not(None))
            .order_by(col(Customer.deleted_at).desc(), col(Customer.id).desc())
            .limit(limit)
        )
    )


def restore_customer(session: Session, *, actor: Member, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if actor.role != Role.ADMIN or customer is None or customer.deleted_at is None:
        raise NotFound
    _set_deleted(session, actor, customer, None, action="restore")
    return customer


def merge_customers(
    session: Session, *, actor: Member, survivor_id: int, duplicate_id: int
) -> Merged:
    """Move the duplicate's phones, notes, deals, orders, contracts, reminders and
    attachments to the survivor, then soft-delete the duplicate. Managers and admins only;
    both must be visible.

    What moved belongs to the survivor's owner from now on (`_hand_over`): the duplicate's
    owner may not see the survivor, and must not keep reading it through a reminder or deal.
    The survivor's last contact becomes the later of the two: the duplicate's notes came
    along, and a customer contacted yesterday under the other record is not stale.
    """
    if actor.role == Role.SALES or survivor_id == duplicate_id:
        raise NotFound
    survivor = require_customer(session, actor=actor, customer_id=survivor_id)
    duplicate = require_customer(session, actor=actor, customer_id=duplicate_id)
    known = set(_values(session, survivor)["phones"])
    moved: dict[str, int] = {}
    for phone in session.exec(
        select(CustomerPhone).where(col(CustomerPhone.customer_id) == duplicate_id)
    ):
        if phone.e164 in known:
            session.delete(phone)
        else:
            phone.customer_id = survivor_id
            moved["phones"] = moved.get("phones", 0) + 1
    children: tuple[tuple[str, Any], ...] = (
        ("notes", Interaction),
        ("deals", Deal),
        ("orders", Order),
        ("contracts", Contract),
        ("tickets", Ticket),
        ("reminders", Reminder),
        ("attachments", Attachment),
    )
    for label, model in children:
        result = session.execute(
            update(model)
            .where(col(model.customer_id) == duplicate_id)
            .values(customer_id=survivor_id)
        )
        moved[label] = result.rowcount  # type: ignore[attr-defined]
    reminders_moved = _hand_over(session, customer=survivor, from_owner_id=duplicate.owner_id)
    if duplicate.last_contact_at is not None:
        record_contact(session, customer_id=survivor_id, at=duplicate.last_contact_at)
    _set_deleted(session, actor, duplicate, utcnow(), action=None)
    _touch(session, actor, survivor)
    record_audit(
        session,
        actor_id=actor_id(actor),
        action="merge",
        entity_type=ENTITY,
        entity_id=survivor_id,
        changes={"merged_from": [None, duplicate_id], **{k: [0, v] for k, v in moved.items()}},
    )
    record_audit(
        session,
        actor_id=actor_id(actor),
        action="merge",
        entity_type=ENTITY,
        entity_id=duplicate_id,
        changes={"merged_into": [None, survivor_id], "deleted": [False, True]},
    )
    old_owner = session.get_one(Member, duplicate.owner_id)
    new_owner = session.get_one(Member, survivor.owner_id)
    return Merged(survivor, duplicate, old_owner, new_owner, reminders_moved)


def list_reassign_targets(session: Session, *, actor: Member, customer_id: int) -> list[Member]:
    """Active salespeople and managers the actor may hand the customer to (not its owner)."""
    if actor.role == Role.SALES:
        raise NotFound
    customer = require_customer(session, actor=actor, customer_id=customer_id)
    return list(
        session.exec(
            select(Member)
            .where(
                member_scope(actor),
                col(Member.active).is_(True),
                col(Member.id) != customer.owner_id,
            )
            .order_by(col(Member.display_name), col(Member.id))
        )
    )


def reassign_customer(
    session: Session, *, actor: Member, customer_id: int, new_owner_id: int
) -> Reassigned:
    """Hand a customer to another member in the actor's scope, with its deals, orders,
    contracts and open reminders (`_hand_over`), since the new owner now does the
    follow-up."""
    if actor.role == Role.SALES:
        raise NotFound
    customer = require_customer(session, actor=actor, customer_id=customer_id)
    new_owner = session.exec(
        select(Member).where(
            col(Member.id) == new_owner_id, member_scope(actor), col(Member.active).is_(True)
        )
    ).first()
    old_owner = session.get(Member, customer.owner_id)
    if new_owner is None or old_owner is None or new_owner.id == old_owner.id:
        raise NotFound
    customer.owner_id = new_owner_id
    _touch(session, actor, customer)
    moved = _hand_over(session, customer=customer, from_owner_id=old_owner.id)
    record_audit(
        session,
        actor_id=actor_id(actor),
        action="reassign",
        entity_type=ENTITY,
        entity_id=customer_id,
        changes={"owner": [old_owner.display_name, new_owner.display_name]},
    )
    return Reassigned(customer, old_owner, new_owner, moved)


def list_customer_history(
    session: Session, *, actor: Member, customer_id: int, limit: int, offset: int = 0
) -> list[HistoryEntry]:
    """The audit entries of a visible customer and of its deals, notes, orders, contracts
    and tickets, newest first, with the actor's name: the whole story of the account in one
    place, sales and support interleaved by time."""
    require_customer(session, actor=actor, customer_id=customer_id)
    entity = col(AuditEntry.entity_type)
    entity_id = col(AuditEntry.entity_id)
    children = [
        and_(entity == kind, entity_id.in_(select(id_column).where(owner_column == customer_id)))
        for kind, id_column, owner_column in (
            ("deal", col(Deal.id), col(Deal.customer_id)),
            ("interaction", col(Interaction.id), col(Interaction.customer_id)),
            ("contract", col(Contract.id), col(Contract.customer_id)),
            ("order", col(Order.id), col(Order.customer_id)),
        )
    ]
    # its tickets the actor may reach (a deleted one too, as a deleted deal), by the ticket rule
    tickets = (
        select(col(Ticket.id))
        .join(Customer, col(Customer.id) == col(Ticket.customer_id))
        .where(col(Ticket.customer_id) == customer_id, ticket_reach(actor))
    )
    children.append(and_(entity == "ticket", entity_id.in_(tickets)))
    where = or_(and_(entity == ENTITY, entity_id == customer_id), *children)
    return audit_history(session, actor=actor, where=where, limit=limit, offset=offset)


def audit_history(
    session: Session, *, actor: Member, where: Any, limit: int, offset: int
) -> list[HistoryEntry]:
    """The audit entries matching `where` (of records already checked visible), newest first,
    with the actor's name and the names the reader may see of the ids in them."""
    rows = session.exec(
        select(AuditEntry, Member.display_name)
        .outerjoin(Member, col(Member.id) == col(AuditEntry.actor_id))
        .where(where)
        .order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
        .offset(offset)
        .limit(limit)
    )
    found = [(e, name) for e, name in rows]
    names = _reference_names(session, actor, [e.changes for e, _ in found])
    return [
        HistoryEntry(
            e.action, name or "—", e.at, dict(e.changes), e.entity_type, e.entity_id, names
        )
        for e, name in found
    ]


def _reference_names(
    session: Session, actor: Member, changes: list[dict[str, Any]]
) -> dict[str, str]:
    """Names of the members, and of the customers and deals the actor may see, that the ids
    in `changes` refer to. A merged-away customer is deleted but still named to whoever could
    see it; one of another salesperson stays a number."""
    ids: dict[str, set[int]] = {"member": set(), "customer": set(), "deal": set()}
    for change in changes:
        for name, kind in REFERENCES.items():
            for value in change.get(name) or []:
                if isinstance(value, int) and not isinstance(value, bool):
                    ids[kind].add(value)
    queries = (
        (
            "member",
            select(Member.id, Member.display_name).where(col(Member.id).in_(ids["member"])),
        ),
        (
            "customer",
            select(Customer.id, Customer.name).where(
                col(Customer.id).in_(ids["customer"]), owner_scope(actor, Customer.owner_id)
            ),
        ),
        (
            "deal",
            select(Deal.id, Deal.title).where(
                col(Deal.id).in_(ids["deal"]), owner_scope(actor, Deal.owner_id)
            ),
        ),
    )
    return {
        f"{kind}:{row_id}": label
        for kind, query in queries
        if ids[kind]
        for row_id, label in session.exec(query)
    }


def _hand_over(session: Session, *, customer: Customer, from_owner_id: int | None) -> int:
    """After the customer changed hands: its deals and orders go to its owner (they are
    reached through their own owner, so one left behind would still be listed, opened and
    changed by the old owner), and so does every contract not deleted, closed ones too (a
    contract is read through its owner and its customer, `require_contract`, so the new owner
    keeps the account's whole contract history; a deleted one stays with whoever deleted it),
    and its open reminders of the previous owner or of anyone who may no longer see it. The
    number of reminders moved.

    A reminder of someone who still sees the customer (the manager's own) stays theirs."""
    owner_id, now = customer.owner_id, utcnow()
    for model, which in (
        (Deal, true()),
        (Contract, col(Contract.deleted_at).is_(None)),
        (Order, true()),
        (Ticket, col(Ticket.deleted_at).is_(None)),
    ):
        session.execute(
            update(model)
            .where(col(model.customer_id) == customer.id, col(model.owner_id) != owner_id, which)
            .values(owner_id=owner_id, updated_at=now)
        )
    _hand_over_tickets(session, customer=customer, from_owner_id=from_owner_id, now=now)
    reminders = session.exec(
        select(Reminder).where(
            col(Reminder.customer_id) == customer.id,
            col(Reminder.status).in_(OPEN_STATUSES),
            col(Reminder.member_id) != owner_id,
        )
    ).all()
    members = {r.member_id: session.get_one(Member, r.member_id) for r in reminders}
    moved = 0
    for reminder in reminders:
        member = members[reminder.member_id]
        if member.id == from_owner_id or not visible_customers(
            session, actor=member, customer_ids=[customer.id]
        ):
            reminder.member_id, reminder.updated_at = owner_id, now
            moved += 1
    session.flush()
    return moved


def _hand_over_tickets(
    session: Session, *, customer: Customer, from_owner_id: int | None, now: datetime
) -> None:
    """Open tickets the previous owner was handling go to the new owner with their SLA
    reminders; one assigned to someone else (a colleague, a service engineer) stays theirs."""
    if from_owner_id is None or from_owner_id == customer.owner_id:
        return
    ticket_ids = select(Ticket.id).where(
        col(Ticket.customer_id) == customer.id,
        col(Ticket.assignee_id) == from_owner_id,
        col(Ticket.deleted_at).is_(None),
    )
    session.execute(
        update(Reminder)
        .where(
            col(Reminder.ticket_id).in_(ticket_ids),
            col(Reminder.member_id) == from_owner_id,
            col(Reminder.status).in_(OPEN_STATUSES),
        )
        .values(member_id=customer.owner_id, updated_at=now)
    )
    session.execute(
        update(Ticket)
        .where(col(Ticket.id).in_(ticket_ids))
        .values(assignee_id=customer.owner_id, updated_at=now)
    )


def _touch(session: Session, actor: Member, customer: Customer) -> None:
    customer.updated_at = utcnow()
    customer.updated_by_id = actor_id(actor)
    session.add(customer)
    session.flush()


def _set_deleted(
    session: Session,
    actor: Member,
    customer: Customer,
    deleted_at: datetime | None,
    *,
    action: str | None,
) -> None:
    old = customer.deleted_at
    customer.deleted_at = deleted_at
    _touch(session, actor, customer)
    if action is not None:
        assert customer.id is not None
        record_audit(
            session,
            actor_id=actor_id(actor),
            action=action,
            entity_type=ENTITY,
            entity_id=customer.id,
            changes={"deleted_at": list(snapshot(old=old, new=deleted_at).values())},
        )
