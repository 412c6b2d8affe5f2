"""Reading contracts for the chat: the card (with its customer, deal and renewal links),
its files, the deals a new contract may be for, and a customer's contracts in force.

Every read goes through the access rule of contracts (`require_contract`, and the same
scope on both owners in lists), so a forged id gets the `NotFound` of a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import Session, col, select

from storage.access import owner_scope, require_contract, require_customer
from storage.contracts import IN_FORCE, contracts_of_visible
from storage.deals import WON
from storage.models import Attachment, Contract, ContractStatus, Customer, Deal, Member


def list_contract_files(session: Session, *, actor: Member, contract_id: int) -> list[Attachment]:
    """A visible contract's files, in the order they were sent."""
    require_contract(session, actor=actor, contract_id=contract_id)
    return list(
        session.exec(
            select(Attachment)
            .where(col(Attachment.contract_id) == contract_id)
            .order_by(col(Attachment.id))
        )
    )


def deals_to_contract(
    session: Session, *, actor: Member, customer_id: int, limit: int = 8
) -> list[Deal]:
    """A visible customer's deals a contract may be for (`require_deal`'s rule), won ones
    first, then the latest."""
    require_customer(session, actor=actor, customer_id=customer_id)
    return list(
        session.exec(
            select(Deal)
            .where(
                col(Deal.customer_id) == customer_id,
                col(Deal.deleted_at).is_(None),
                owner_scope(actor, Deal.owner_id),
            )
            .order_by((col(Deal.stage) == WON).desc(), col(Deal.id).desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class Link:
    """Another contract named on the card: what it is called and where it is."""

    id: int
    number: str


@dataclass(frozen=True)
class ContractView:
    """What the contract's card shows beside its own columns."""

    contract: Contract
    customer: Customer
    deal_title: str | None
    renewed_from: Link | None
    renewed_by: Link | None
    files: int


def get_contract_view(session: Session, *, actor: Member, contract_id: int) -> ContractView:
    """A visible contract with its customer, its deal's title (when the actor may see the
    deal), the contracts it renews and that renewed it (when visible), and its file count."""
    contract = require_contract(session, actor=actor, contract_id=contract_id)
    customer = session.get_one(Customer, contract.customer_id)
    deal_title = None
    if contract.deal_id is not None:
        deal_title = session.exec(
            select(Deal.title).where(
                col(Deal.id) == contract.deal_id,
                col(Deal.deleted_at).is_(None),
                owner_scope(actor, Deal.owner_id),
            )
        ).first()
    linked = session.exec(
        select(Contract.id, Contract.number, Contract.renewed_from_id)
        .join(Customer, col(Customer.id) == col(Contract.customer_id))
        .where(
            (col(Contract.id) == contract.renewed_from_id)
            | (col(Contract.renewed_from_id) == contract_id),
            col(Contract.deleted_at).is_(None),
            col(Customer.deleted_at).is_(None),
            owner_scope(actor, Contract.owner_id),
            owner_scope(actor, Customer.owner_id),
        )
    ).all()
    before = next((Link(i, n) for i, n, _ in linked if i and i == contract.renewed_from_id), None)
    after = next((Link(i, n) for i, n, f in linked if i and f == contract_id), None)
    files = len(
        session.exec(select(Attachment.id).where(col(Attachment.contract_id) == contract_id)).all()
    )
    return ContractView(contract, customer, deal_title, before, after, files)


ALL = 10_000  # a customer's contracts are read whole for its card's total


@dataclass(frozen=True)
class CustomerContracts:
    """The contracts part of a customer's card: those in force (latest first, at most
    `limit`), how many there are, and the total contracted per currency (every contract
    signed, in force or not: drafts were never contracted)."""

    in_force: list[Contract]
    in_force_count: int
    totals: dict[str, Decimal]
    count: int


def customer_contracts(
    session: Session, *, actor: Member, customer: Customer, limit: int = 5
) -> CustomerContracts:
    """For the card of `customer`, which the card's own read found visible to the actor."""
    visible = contracts_of_visible(session, actor=actor, customer_id=customer.id or 0, limit=ALL)
    in_force = [c for c in visible if c.status in IN_FORCE]
    totals: dict[str, Decimal] = {}
    for contract in visible:
        if contract.status != ContractStatus.DRAFT and contract.amount is not None:
            currency = contract.currency or ""
            totals[currency] = totals.get(currency, Decimal(0)) + contract.amount
    return CustomerContracts(in_force[:limit], len(in_force), totals, len(visible))
