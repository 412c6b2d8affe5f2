"""The one access rule: sales see their own records, managers their team's, admins all.

Every `list_`/`find_` query applies `owner_scope`, and every load by id goes through a
`require_*` loader that raises the same `NotFound` for "missing" and "not yours", so a forged
id or callback learns nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, and_, bindparam, or_, true
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from storage.models import Contract, Customer, Deal, Interaction, Member, Order, Role, Ticket


class NotFound(Exception):
    """The record does not exist, is deleted, or the actor may not see it (deliberately alike)."""


class NotAllowed(Exception):
    """The actor may see the target but not perform this action (e.g. change roles)."""


# For statements built once and run many times (`role_scope`): the actor's id as a parameter.
ACTOR_ID = "actor_id"

ActorKey = int | None | BindParameter[int]
"""The actor's id, as a value or as a parameter bound when the statement runs."""


def team_member_ids(actor: Member) -> Any:
    """A subquery of the member ids whose records `actor` may see (managers: self and team)."""
    return _team_ids(actor.id)


def _team_ids(actor_key: ActorKey) -> Any:
    return select(Member.id).where(
        or_(col(Member.id) == actor_key, col(Member.manager_id) == actor_key)
    )


def _scope(role: str, owner_column: Any, actor_key: ActorKey) -> ColumnElement[bool]:
    """The rule itself: admins everything, managers their own and their team's, sales own."""
    if role == Role.ADMIN:
        return true()
    if role == Role.MANAGER:
        return col(owner_column).in_(_team_ids(actor_key))
    return col(owner_column) == actor_key


def owner_scope(actor: Member, owner_column: Any) -> ColumnElement[bool]:
    """The WHERE clause restricting records owned through `owner_column` to what actor sees."""
    return _scope(actor.role, owner_column, actor.id)


def role_scope(role: Role, owner_column: Any) -> ColumnElement[bool]:
    """`owner_scope` for any actor of `role`, whose id is the `ACTOR_ID` parameter: for a
    statement built once per role (building one cost more than running it)."""
    return _scope(role, owner_column, bindparam(ACTOR_ID))


def member_scope(actor: Member) -> ColumnElement[bool]:
    """Which members `actor` may list: admins everyone, managers their team, sales themselves."""
    return owner_scope(actor, Member.id)


def may_invite(actor: Member, role: Role) -> bool:
    if actor.role == Role.ADMIN:
        return role in (Role.SALES, Role.MANAGER)
    return actor.role == Role.MANAGER and role == Role.SALES


def may_administer_members(actor: Member) -> bool:
    return actor.role == Role.ADMIN


def require_member(session: Session, *, actor: Member, member_id: int) -> Member:
    member = session.exec(
        select(Member).where(col(Member.id) == member_id, member_scope(actor))
    ).first()
    if member is None:
        raise NotFound
    return member


def require_customer(session: Session, *, actor: Member, customer_id: int) -> Customer:
    params = {"customer_id": customer_id, ACTOR_ID: actor.id}
    customer = session.scalars(_visible_customer(Role(actor.role)), params).first()
    if customer is None:
        raise NotFound
    return customer


@cache
def _visible_customer(role: Role) -> SelectOfScalar[Customer]:
    """`require_customer`'s query for an actor of `role`, built once: it runs for nearly every
    update, and building it cost more than running it."""
    return select(Customer).where(
        col(Customer.id) == bindparam("customer_id"),
        col(Customer.deleted_at).is_(None),
        role_scope(role, Customer.owner_id),
    )


def visible_customers(
    session: Session, *, actor: Member, customer_ids: Iterable[int | None]
) -> dict[int, Customer]:
    """Those of `customer_ids` the actor may see now, by id: for a text built for a member
    about records picked by something other than their scope (their reminders, say), whose
    customer may have been reassigned, merged or deleted since."""
    wanted = {i for i in customer_ids if i is not None}
    if not wanted:
        return {}
    rows = session.exec(
        select(Customer).where(
            col(Customer.id).in_(wanted),
            col(Customer.deleted_at).is_(None),
            owner_scope(actor, Customer.owner_id),
        )
    )
    return {c.id: c for c in rows if c.id is not None}


def contract_scope(actor: Member) -> ColumnElement[bool]:
    """The contracts `actor` may see, by the rule of deals: the contract's owner and its
    customer both in scope (the query joins `Customer` on the contract's customer). Lists,
    searches, exports and reports of contracts all go through it."""
    return _record_scope(Contract, actor.role, actor.id)


def order_scope(actor: Member) -> ColumnElement[bool]:
    """The orders `actor` may see, by the rule of deals, as `require_order` opens them: the
    order's owner and its customer's both in scope (the query joins `Customer` on the order's
    customer), neither deleted. Searches, exports and reports of orders go through it."""
    return _record_scope(Order, actor.role, actor.id)


def role_record_scope(model: type[Contract] | type[Order], role: Role) -> ColumnElement[bool]:
    """`contract_scope` or `order_scope` for any actor of `role` (the `ACTOR_ID` parameter, as
    `role_scope`): for a statement built once per role."""
    return _record_scope(model, role, bindparam(ACTOR_ID))


def _record_scope(
    model: type[Contract] | type[Order], role: str, actor_key: ActorKey
) -> ColumnElement[bool]:
    """The rule of deals: the record's owner and its customer's both in scope, neither
    deleted (the query joins `Customer` on the record's customer)."""
    return and_(
        _scope(role, model.owner_id, actor_key),
        _scope(role, Customer.owner_id, actor_key),
        col(model.deleted_at).is_(None),
        col(Customer.deleted_at).is_(None),
    )


def visible_contracts(
    session: Session, *, actor: Member, contract_ids: Iterable[int | None]
) -> dict[int, tuple[Contract, Customer]]:
    """Those of `contract_ids` the actor may see now, with their customers, by id: for a text
    built for a member about contracts picked by something other than their scope (their
    renewal reminders), which may have changed hands or been deleted since."""
    wanted = {i for i in contract_ids if i is not None}
    if not wanted:
        return {}
    rows = session.exec(
        select(Contract, Customer)
        .join(Customer, col(Customer.id) == col(Contract.customer_id))
        .where(col(Contract.id).in_(wanted), contract_scope(actor))
    )
    return {contract.id: (contract, customer) for contract, customer in rows if contract.id}


def require_deal(session: Session, *, actor: Member, deal_id: int) -> Deal:
    """A deal the actor may see; a deal of a deleted customer is as gone as a deleted deal.

    Its customer must be in scope too, not only the deal's owner: a deal is shown and changed
    with its customer's name, so one left behind by an old owner must stay out of reach."""
    deal = session.exec(
        select(Deal)
        .join(Customer, col(Customer.id) == col(Deal.customer_id))
        .where(
            col(Deal.id) == deal_id,
            col(Deal.deleted_at).is_(None),
            col(Customer.deleted_at).is_(None),
            owner_scope(actor, Deal.owner_id),
            owner_scope(actor, Customer.owner_id),
        )
    ).first()
    if deal is None:
        raise NotFound
    return deal


def require_contract(session: Session, *, actor: Member, contract_id: int) -> Contract:
    """A contract the actor may see, by the rule of deals (`require_deal`): its owner and its
    customer both in scope, neither deleted. A contract is shown and changed with its
    customer's name, so one left with an old owner must stay out of reach; a reassign or a
    merge hands every live contract to the customer's new owner (`_hand_over`)."""
    contract = session.exec(
        select(Contract)
        .join(Customer, col(Customer.id) == col(Contract.customer_id))
        .where(col(Contract.id) == contract_id, contract_scope(actor))
    ).first()
    if contract is None:
        raise NotFound
    return contract


def require_order(
    session: Session, *, actor: Member, order_id: int, deleted: bool = False
) -> Order:
    """An order the actor may see, by exactly the deal's rule: its owner and its customer's
    owner both in scope, neither the order nor its customer deleted. An order is reached
    through its own owner (lists, totals), so one left behind by an old owner stays out of
    reach through its customer, as a deal does. `deleted=True` finds a deleted order by the
    same rule otherwise, for restoring it."""
    order_deleted = col(Order.deleted_at)
    order = session.exec(
        select(Order)
        .join(Customer, col(Customer.id) == col(Order.customer_id))
        .where(
            col(Order.id) == order_id,
            order_deleted.is_not(None) if deleted else order_deleted.is_(None),
            col(Customer.deleted_at).is_(None),
            owner_scope(actor, Order.owner_id),
            owner_scope(actor, Customer.owner_id),
        )
    ).first()
    if order is None:
        raise NotFound
    return order


def ticket_scope(actor: Member) -> ColumnElement[bool]:
    """The tickets `actor` may see (the query joins `Customer` on the ticket's customer): by
    the rule of deals (the ticket's owner and its customer's owner in scope), or as its
    assignee, who may be outside the owner's team and then sees that ticket only, nothing
    else of the customer. Neither the ticket nor its customer deleted."""
    return and_(
        col(Ticket.deleted_at).is_(None),
        col(Customer.deleted_at).is_(None),
        ticket_reach(actor),
    )


def role_ticket_scope(role: Role) -> ColumnElement[bool]:
    """`ticket_scope` for any actor of `role` (the `ACTOR_ID` parameter, as `role_scope`)."""
    return and_(
        col(Ticket.deleted_at).is_(None),
        col(Customer.deleted_at).is_(None),
        _ticket_reach(role, bindparam(ACTOR_ID)),
    )


def ticket_reach(actor: Member) -> ColumnElement[bool]:
    """`ticket_scope` without its deleted checks (the query joins `Customer`)."""
    return _ticket_reach(actor.role, actor.id)


def _ticket_reach(role: str, actor_key: ActorKey) -> ColumnElement[bool]:
    return or_(
        and_(_scope(role, Ticket.owner_id, actor_key), _scope(role, Customer.owner_id, actor_key)),
        col(Ticket.assignee_id) == actor_key,
    )


def require_ticket(
    session: Session, *, actor: Member, ticket_id: int, deleted: bool = False
) -> Ticket:
    """A ticket the actor may see (`ticket_scope`); `deleted=True` finds a deleted one by the
    same rule otherwise, for restoring it."""
    ticket_deleted = col(Ticket.deleted_at)
    ticket = session.exec(
        select(Ticket)
        .join(Customer, col(Customer.id) == col(Ticket.customer_id))
        .where(
            col(Ticket.id) == ticket_id,
            ticket_deleted.is_not(None) if deleted else ticket_deleted.is_(None),
            col(Customer.deleted_at).is_(None),
            ticket_reach(actor),
        )
    ).first()
    if ticket is None:
        raise NotFound
    return ticket


def require_interaction(session: Session, *, actor: Member, interaction_id: int) -> Interaction:
    """A note the actor may see: scoped like its customer, since the notes are its history."""
    interaction = session.exec(
        select(Interaction)
        .join(Customer, col(Customer.id) == col(Interaction.customer_id))
        .where(
            col(Interaction.id) == interaction_id,
            col(Interaction.deleted_at).is_(None),
            col(Customer.deleted_at).is_(None),
            owner_scope(actor, Customer.owner_id),
        )
    ).first()
    if interaction is None:
        raise NotFound
    return interaction


def actor_id(actor: Member) -> int:
    """The acting member's id; members reach storage functions only once saved."""
    assert actor.id is not None
    return actor.id


def owner_for(actor: Member, customer: Customer) -> int:
    """Who owns a record created for `customer`: sales themselves, others the customer's owner.

    A manager logging work for a team customer does it on the salesperson's behalf; the
    record belongs in that salesperson's pipeline and totals.
    """
    if actor.role == Role.SALES:
        return actor_id(actor)
    return customer.owner_id
