"""Contract statuses over time: what the calendar moves without anyone pressing a button.

A background pass (`handlers.contract_reminders` declares it, `bot.contract_jobs` runs it)
reads the contracts in force and moves each to the status its dates call for on `today`, a
date in the team's timezone:

    signed   --starts_on reached-->                    active
    active   --within its renewal notice of ends_on--> expiring
    expiring --ends_on moved out of the notice-->      active
    active / expiring --after ends_on-->               expired

Drafts, and renewed, terminated or deleted contracts (or those of a deleted customer), are
left alone. Each move is one conditional UPDATE (`WHERE status = <the status read>`) with its
audit entry written only when the row changed, with no actor (a system change): a second
instance or a repeated pass finds the row moved already and writes nothing, so the pass is
idempotent, restart-safe and safe on several instances at once.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import and_, func, or_, update
from sqlmodel import Session, col, select

from storage.audit import record_audit
from storage.models import Contract, ContractStatus, Customer, utcnow

ENTITY = "contract"
MOVING = (ContractStatus.SIGNED, ContractStatus.ACTIVE, ContractStatus.EXPIRING)


def status_on(contract: Contract, *, today: date, default_notice_days: int) -> ContractStatus:
    """The status `contract`'s dates call for on `today` (its own status if they call for no
    move); the notice is the contract's `renewal_notice_days`, else `default_notice_days`."""
    status = ContractStatus(contract.status)
    if status not in MOVING:
        return status
    if status == ContractStatus.SIGNED:
        if contract.starts_on is None or contract.starts_on > today:
            return status
        status = ContractStatus.ACTIVE
    if contract.ends_on is None:
        return status
    if today > contract.ends_on:
        return ContractStatus.EXPIRED
    if today >= contract.ends_on - timedelta(days=notice_days(contract, default_notice_days)):
        return ContractStatus.EXPIRING
    return ContractStatus.ACTIVE


def notice_days(contract: Contract, default_notice_days: int) -> int:
    """How many days before its end a contract's renewal is due."""
    if contract.renewal_notice_days is not None:
        return contract.renewal_notice_days
    return default_notice_days


def advance_contract_statuses(
    session: Session, *, today: date, default_notice_days: int
) -> dict[int, tuple[str, str]]:
    """Move every contract whose dates call for it; {contract id: (old, new)} of the moves
    this call made (another instance's moves are not in it)."""
    moved: dict[int, tuple[str, str]] = {}
    for contract in _candidates(session, today=today, default_notice_days=default_notice_days):
        new = status_on(contract, today=today, default_notice_days=default_notice_days)
        if new == contract.status:
            continue
        assert contract.id is not None
        old = contract.status
        if _move(session, contract_id=contract.id, old=old, new=new):
            moved[contract.id] = (old, str(new))
    return moved


def _candidates(session: Session, *, today: date, default_notice_days: int) -> list[Contract]:
    """Contracts that may have to move today: signed ones that have started, and those in
    force ending within the longest notice any contract has (refined per contract above);
    expiring ones always, since an end date moved later takes them back to active."""
    longest = session.exec(select(func.max(col(Contract.renewal_notice_days)))).one()
    horizon = today + timedelta(days=max(longest or 0, default_notice_days))
    return list(
        session.exec(
            select(Contract)
            .join(Customer, col(Customer.id) == col(Contract.customer_id))
            .where(
                col(Contract.status).in_(MOVING),
                col(Contract.deleted_at).is_(None),
                col(Customer.deleted_at).is_(None),
                or_(
                    and_(
                        col(Contract.status) == ContractStatus.SIGNED,
                        col(Contract.starts_on) <= today,
                    ),
                    col(Contract.status) == ContractStatus.EXPIRING,
                    col(Contract.ends_on) <= horizon,
                ),
            )
            .order_by(col(Contract.id))
        )
    )


def _move(session: Session, *, contract_id: int, old: str, new: str) -> bool:
    """One conditional UPDATE and, only if it changed the row, its audit entry."""
    result = session.execute(
        update(Contract)
        .where(col(Contract.id) == contract_id, col(Contract.status) == old)
        .values(status=new, updated_at=utcnow())
    )
    if int(result.rowcount) != 1:  # type: ignore[attr-defined]
        return False
    record_audit(
        session,
        actor_id=None,
        action="update",
        entity_type=ENTITY,
        entity_id=contract_id,
        changes={"status": [old, new]},
    )
    return True
