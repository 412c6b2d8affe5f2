"""Contract numbers for `/report` and the digest: what was signed in a period (amounts per
currency, never converted, as everywhere) and what runs out soon, for the contracts the actor
may see (`storage.access.contract_scope`, the rule of deals)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.access import contract_scope
from storage.models import Contract, ContractStatus, Customer, Member
from storage.parsing import Money

EXPIRING_DAYS = 30  # /report's "expiring in the next 30 days"
IN_FORCE = (ContractStatus.SIGNED, ContractStatus.ACTIVE, ContractStatus.EXPIRING)
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class ContractFigures:
    """Contracts signed from `first` to `last` (their count and amounts per currency), and
    those in force ending within `EXPIRING_DAYS` days from `last`."""

    signed: int = 0
    contracted: list[Money] = field(default_factory=list)
    expiring: int = 0

    @property
    def empty(self) -> bool:
        return not (self.signed or self.expiring)


def contract_figures(
    session: Session, *, actor: Member, first: date, last: date, currency: str
) -> ContractFigures:
    """The figures of the local dates `first`..`last`; the team's `currency` listed first."""
    signed = (
        col(Contract.signed_on) >= first,
        col(Contract.signed_on) <= last,
        col(Contract.status) != ContractStatus.DRAFT,
    )
    rows = session.exec(
        select(Contract.currency, func.count(), func.sum(Contract.amount))
        .join(Customer, col(Customer.id) == col(Contract.customer_id))
        .where(contract_scope(actor), *signed)
        .group_by(col(Contract.currency))
    ).all()
    contracted = sorted(
        (
            Money(Decimal(total).quantize(_CENT), code)
            for code, _, total in rows
            if code is not None and total is not None
        ),
        key=lambda m: (m.currency != currency, m.currency),
    )
    return ContractFigures(
        signed=sum(int(n) for _, n, _ in rows),
        contracted=contracted,
        expiring=count_expiring(session, actor=actor, today=last, days=EXPIRING_DAYS),
    )


def count_expiring(session: Session, *, actor: Member, today: date, days: int) -> int:
    """Contracts in force, the actor may see, ending from `today` to `days` days after it."""
    return int(
        session.exec(
            select(func.count())
            .select_from(Contract)
            .join(Customer, col(Customer.id) == col(Contract.customer_id))
            .where(
                contract_scope(actor),
                col(Contract.status).in_(IN_FORCE),
                col(Contract.ends_on) >= today,
                col(Contract.ends_on) <= today + timedelta(days=days),
            )
        ).one()
    )


def expiring_by_owner(session: Session, *, owner_ids: list[int]) -> dict[int, int]:
    """How many expiring contracts (status `expiring`: within their renewal notice) each of
    `owner_ids` holds, on live customers of theirs or of the same members (the digest's
    team), by owner."""
    rows = session.exec(
        select(Contract.owner_id, func.count())
        .join(Customer, col(Customer.id) == col(Contract.customer_id))
        .where(
            col(Contract.owner_id).in_(owner_ids),
            col(Customer.owner_id).in_(owner_ids),
            col(Contract.status) == ContractStatus.EXPIRING,
            col(Contract.deleted_at).is_(None),
            col(Customer.deleted_at).is_(None),
        )
        .group_by(col(Contract.owner_id))
    )
    return {int(owner_id): int(n) for owner_id, n in rows}
