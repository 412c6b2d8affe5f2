"""Contracts: what was signed with a customer, how its status moves, and the next number.

A contract belongs to the salesperson who works the customer (`owner_for`), so a manager
recording one for a team customer records it on that salesperson's behalf. It is read as a deal
is (`require_contract`): its owner and its customer must both be in the actor's scope, and a
reassign or merge hands every live contract to the customer's new owner. Numbers are
unique in the database, which serves one team; when the member skips the number, the next one
is suggested from a pattern such as "HT-{year}-{seq:04d}", counting on from the highest
sequence already used that year.

Status moves: draft -> signed -> active -> (expiring) -> expired / renewed / terminated. Each
move is audited like a deal's; a move the status does not allow is `TransitionRefused`, and
one to the status the contract already has changes nothing (a repeated press is harmless).
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from storage.access import (
    ACTOR_ID,
    NotFound,
    actor_id,
    owner_for,
    require_contract,
    require_customer,
    require_deal,
    role_scope,
)
from storage.audit import diff, record_audit, snapshot
from storage.contract_reminders import withdraw_renewals
from storage.interactions import AttachmentRef, add_attachments
from storage.models import Contract, ContractStatus, Customer, Member, Role, utcnow
from storage.numbering import check_pattern, number_is, suggest_number
from storage.prepared import PreparedSelect, as_records

ENTITY = "contract"
DEFAULT_NUMBER_PATTERN = "HT-{year}-{seq:04d}"
# A contract may be entered as it stands today: not yet signed, signed, or already running.
INITIAL_STATUSES = (ContractStatus.DRAFT, ContractStatus.SIGNED, ContractStatus.ACTIVE)
# Not over yet: still to be signed, run or renewed.
OPEN_CONTRACTS = (
    ContractStatus.DRAFT,
    ContractStatus.SIGNED,
    ContractStatus.ACTIVE,
    ContractStatus.EXPIRING,
)
IN_FORCE = (ContractStatus.SIGNED, ContractStatus.ACTIVE, ContractStatus.EXPIRING)
# What may be renewed: one running or run out; a signed one not yet in force is changed instead.
RENEWABLE = (ContractStatus.ACTIVE, ContractStatus.EXPIRING, ContractStatus.EXPIRED)


class TransitionRefused(ValueError):
    """The contract's status does not allow this move (a draft cannot be terminated, ...)."""


class DuplicateNumber(ValueError):
    """Another contract of the team (a deleted one too) already has this number."""


@dataclass(frozen=True)
class ContractCreate:
    """What the contract flow collects; amounts come from `parsing.parse_amount`."""

    customer_id: int
    number: str
    title: str
    deal_id: int | None = None
    amount: Decimal | None = None
    currency: str | None = None
    signed_on: date | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    renewal_notice_days: int | None = None
    terms: str | None = None
    status: ContractStatus = ContractStatus.DRAFT

    def __post_init__(self) -> None:
        if not self.number.strip():
            raise ValueError("a contract needs a number")
        if self.amount is not None and self.currency is None:
            raise ValueError("an amount needs a currency")
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValueError("a contract cannot end before it starts")
        if self.renewal_notice_days is not None and self.renewal_notice_days < 0:
            raise ValueError("the renewal notice is a number of days ahead")
        if self.status not in INITIAL_STATUSES:
            raise ValueError(f"a new contract cannot be {self.status}")
        if self.status != ContractStatus.DRAFT and self.signed_on is None:
            raise ValueError("a signed contract needs its signing date")


def initial_status(signed_on: date | None, starts_on: date | None, today: date) -> ContractStatus:
    """How a contract entered as it stands is recorded: signed with a signing date, already
    active when it has started, a draft without one (the chat's entry and the API alike)."""
    if signed_on is None:
        return ContractStatus.DRAFT
    running = starts_on is not None and starts_on <= today
    return ContractStatus.ACTIVE if running else ContractStatus.SIGNED


def create_contract(
    session: Session,
    *,
    actor: Member,
    data: ContractCreate,
    files: Sequence[AttachmentRef] = (),
) -> Contract:
    """Record a contract for a customer the actor may see, with its signed files.

    A deal given must be one of this customer's (another's, or an invisible one, is the same
    NotFound). The number check and the insert run in the caller's one write transaction
    (`BEGIN IMMEDIATE` on SQLite), with the unique index behind it.
    """
    customer = require_customer(session, actor=actor, customer_id=data.customer_id)
    if data.deal_id is not None:
        deal = require_deal(session, actor=actor, deal_id=data.deal_id)
        if deal.customer_id != customer.id:
            raise NotFound
    contract = _insert(session, actor, customer, data)
    _attach(session, actor, contract, files)
    return contract


def _attach(
    session: Session, actor: Member, contract: Contract, files: Sequence[AttachmentRef]
) -> None:
    """The signed files, kept by their Telegram file ids (sent again from the card)."""
    add_attachments(
        session, actor=actor, refs=files, customer_id=contract.customer_id, contract_id=contract.id
    )
    session.flush()


def _insert(
    session: Session,
    actor: Member,
    customer: Customer,
    data: ContractCreate,
    renewed_from_id: int | None = None,
) -> Contract:
    number = data.number.strip()
    if number_taken(session, number):
        raise DuplicateNumber(number)
    values = {**asdict(data), "number": number, "status": str(data.status)}
    if renewed_from_id is not None:
        values["renewed_from_id"] = renewed_from_id
    contract = Contract(
        **values, owner_id=owner_for(actor, customer), created_by_id=actor_id(actor)
    )
    _save(
        session,
        actor,
        contract,
        "create",
        diff({}, snapshot(**values, owner_id=contract.owner_id)),
    )
    return contract


def sign_contract(
    session: Session, *, actor: Member, contract_id: int, signed_on: date
) -> Contract:
    """A draft is signed on `signed_on`. Signing a signed one again changes nothing, so a
    repeated button press is harmless; any other status is refused."""
    contract = require_contract(session, actor=actor, contract_id=contract_id)
    if contract.status == ContractStatus.SIGNED:
        return contract
    _expect(contract, ContractStatus.DRAFT)
    return _move(session, actor, contract, ContractStatus.SIGNED, signed_on=signed_on)


def activate_contract(session: Session, *, actor: Member, contract_id: int) -> Contract:
    """A signed contract comes into force; an active one is left as it is."""
    contract = require_contract(session, actor=actor, contract_id=contract_id)
    if contract.status == ContractStatus.ACTIVE:
        return contract
    _expect(contract, ContractStatus.SIGNED)
    return _move(session, actor, contract, ContractStatus.ACTIVE)


def terminate_contract(
    session: Session, *, actor: Member, contract_id: int, terminated_on: date, reason: str
) -> Contract:
    """End a signed or running contract early, on `terminated_on`, for `reason`.

    A draft was never in force (it is deleted, not terminated), and an expired, renewed or
    terminated one is over already: each is refused, but terminating a terminated one again
    changes nothing."""
    contract = require_contract(session, actor=actor, contract_id=contract_id)
    if contract.status == ContractStatus.TERMINATED:
        return contract
    _expect(contract, *IN_FORCE)
    if contract.signed_on is not None and terminated_on < contract.signed_on:
        raise ValueError("a contract cannot end before it was signed")
    _move(
        session,
        actor,
        contract,
        ContractStatus.TERMINATED,
        terminated_on=terminated_on,
        termination_reason=reason.strip() or None,
    )
    withdraw_renewals(session, contract_id=_id(contract), now=utcnow())
    return contract


def renew_contract(
    session: Session,
    *,
    actor: Member,
    contract_id: int,
    number: str = "",
    data: ContractCreate | None = None,
    files: Sequence[AttachmentRef] = (),
) -> Contract:
    """The next contract: `data` as the member confirmed it (the contract flow, prefilled
    with `renewal_of`), or without it a draft numbered `number` prefilled from this one. This
    one becomes renewed and the new one points back at it (`renewed_from_id`); the new one
    stays with this one's customer.

    Renewing a renewed contract again hands back its renewal rather than a second one, so a
    repeated press is harmless. A draft, a signed one not yet running, or a terminated one
    is refused."""
    contract = require_contract(session, actor=actor, contract_id=contract_id)
    if contract.status == ContractStatus.RENEWED:
        renewal = find_renewal(session, contract_id=_id(contract))
        if renewal is not None:
            return renewal
    _expect(contract, *RENEWABLE)
    if data is None:
        data = renewal_of(contract, number)
    if data.deal_id is not None and data.deal_id != contract.deal_id:
        deal = require_deal(session, actor=actor, deal_id=data.deal_id)
        if deal.customer_id != contract.customer_id:
            raise NotFound
    customer = session.get_one(Customer, contract.customer_id)
    data = replace(data, customer_id=contract.customer_id)
    _move(session, actor, contract, ContractStatus.RENEWED)
    withdraw_renewals(session, contract_id=_id(contract), now=utcnow())
    renewal = _insert(session, actor, customer, data, renewed_from_id=_id(contract))
    _attach(session, actor, renewal, files)
    return renewal


def renewal_of(contract: Contract, number: str) -> ContractCreate:
    """A draft of the contract after `contract`: same customer, deal, title, amount, terms and
    notice, starting the day after it ends and running as long."""
    starts_on, ends_on = _next_term(contract.starts_on, contract.ends_on)
    return ContractCreate(
        customer_id=contract.customer_id,
        number=number,
        title=contract.title,
        deal_id=contract.deal_id,
        amount=contract.amount,
        currency=contract.currency,
        starts_on=starts_on,
        ends_on=ends_on,
        renewal_notice_days=contract.renewal_notice_days,
        terms=contract.terms,
    )


def find_renewal(session: Session, *, contract_id: int) -> Contract | None:
    """The contract that renewed `contract_id` (the id comes from a loaded, visible one)."""
    return session.exec(
        select(Contract).where(
            col(Contract.renewed_from_id) == contract_id, col(Contract.deleted_at).is_(None)
        )
    ).first()


def _expect(contract: Contract, *statuses: ContractStatus) -> None:
    if contract.status not in statuses:
        raise TransitionRefused(contract.status)


def _move(
    session: Session, actor: Member, contract: Contract, status: ContractStatus, **values: Any
) -> Contract:
    """Set the status (and the fields that go with it) and audit the old and new values."""
    fields = ("status", *values)
    before = snapshot(**{name: getattr(contract, name) for name in fields})
    contract.status = str(status)
    for name, value in values.items():
        setattr(contract, name, value)
    contract.updated_by_id, contract.updated_at = actor_id(actor), utcnow()
    after = snapshot(**{name: getattr(contract, name) for name in fields})
    _save(session, actor, contract, "update", diff(before, after))
    return contract


def _save(
    session: Session, actor: Member, contract: Contract, action: str, changes: dict[str, Any]
) -> None:
    """Write the contract and its audit entry in the caller's transaction."""
    session.add(contract)
    session.flush()
    record_audit(
        session,
        actor_id=actor.id,
        action=action,
        entity_type=ENTITY,
        entity_id=_id(contract),
        changes=changes,
    )


def _next_term(starts_on: date | None, ends_on: date | None) -> tuple[date | None, date | None]:
    """The renewal's dates: from the day after the old end, as long as the old term (in whole
    months when it ran whole months, so a year stays a year across a leap day)."""
    if ends_on is None:
        return None, None
    start = ends_on + timedelta(days=1)
    if starts_on is None:
        return start, None
    months = (start.year - starts_on.year) * 12 + start.month - starts_on.month
    if months > 0 and _add_months(starts_on, months) == start:
        return start, _add_months(start, months) - timedelta(days=1)
    return start, start + (ends_on - starts_on)


def _add_months(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def get_contract(session: Session, *, actor: Member, contract_id: int) -> Contract:
    return require_contract(session, actor=actor, contract_id=contract_id)


def list_contracts(
    session: Session, *, actor: Member, customer_id: int, limit: int = 20, offset: int = 0
) -> list[Contract]:
    """A visible customer's contracts the actor may see (`require_contract`'s rule), latest
    first, a page at a time (for its card)."""
    require_customer(session, actor=actor, customer_id=customer_id)
    return contracts_of_visible(
        session, actor=actor, customer_id=customer_id, limit=limit, offset=offset
    )


def contracts_of_visible(
    session: Session, *, actor: Member, customer_id: int, limit: int, offset: int = 0
) -> list[Contract]:
    """`list_contracts` for a customer this transaction already found visible to the actor
    (the card, after `get_customer_card`): one access check per card, not one per part."""
    params = {"customer_id": customer_id, ACTOR_ID: actor_id(actor), "offset": offset}
    statement = _customers_contracts(Role(actor.role))
    return as_records(Contract, statement.rows(session, {**params, "limit": limit}))


@cache
def _customers_contracts(role: Role) -> PreparedSelect:
    """`list_contracts`' query for an actor of `role`, built once and prepared (the card reads
    it)."""
    return PreparedSelect(
        select(Contract)
        .where(
            col(Contract.customer_id) == bindparam("customer_id"),
            col(Contract.deleted_at).is_(None),
            role_scope(role, Contract.owner_id),
        )
        .order_by(col(Contract.created_at).desc(), col(Contract.id).desc())
        .offset(bindparam("offset"))
        .limit(bindparam("limit"))
    )


def suggest_contract_number(
    session: Session, *, today: date, pattern: str = DEFAULT_NUMBER_PATTERN
) -> str:
    """The next free contract number of `pattern` for `today`'s year (storage/numbering.py)."""
    return suggest_number(session, column=Contract.number, today=today, pattern=pattern)


def check_number_pattern(pattern: str) -> str:
    """`pattern` if it makes numbers `suggest_contract_number` can count on (a `{seq}` once,
    `{year}` at most), else ValueError saying what is wrong: for the config, at load."""
    check_pattern(pattern)
    pattern.format(year=2000, seq=1)
    return pattern


def next_free_number(
    session: Session, *, number: str, today: date, pattern: str = DEFAULT_NUMBER_PATTERN
) -> str | None:
    """None when `number` is free; when it is taken (a deleted contract's too), the next free
    number of `pattern` to offer instead."""
    if not number_taken(session, number.strip()):
        return None
    return suggest_contract_number(session, today=today, pattern=pattern)


def number_taken(session: Session, number: str, *, other_than: int | None = None) -> bool:
    """Whether a contract (a deleted one too), other than `other_than`, has `number` in any
    case."""
    query = select(Contract.id).where(number_is(Contract.number, number))
    if other_than is not None:
        query = query.where(col(Contract.id) != other_than)
    return session.exec(query).first() is not None


def _id(contract: Contract) -> int:
    assert contract.id is not None
    return contract.id
