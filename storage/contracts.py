"""Contracts: what was signed with a customer, and the number the next one is suggested.

A contract belongs to the salesperson who works the customer (`owner_for`), so a manager
recording one for a team customer records it on that salesperson's behalf. It is read through
its customer (`require_contract`): whoever may see the customer sees its contracts. Numbers are
unique in the database, which serves one team; when the member skips the number, the next one
is suggested from a pattern such as "HT-{year}-{seq:04d}", counting on from the highest
sequence already used that year.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from string import Formatter

from sqlmodel import Session, col, select

from storage.access import (
    NotFound,
    actor_id,
    owner_for,
    require_contract,
    require_customer,
    require_deal,
)
from storage.audit import diff, record_audit, snapshot
from storage.models import Contract, ContractStatus, Member

ENTITY = "contract"
DEFAULT_NUMBER_PATTERN = "HT-{year}-{seq:04d}"
# A contract may be entered as it stands today: not yet signed, signed, or already running.
INITIAL_STATUSES = (ContractStatus.DRAFT, ContractStatus.SIGNED, ContractStatus.ACTIVE)


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


def create_contract(session: Session, *, actor: Member, data: ContractCreate) -> Contract:
    """Record a contract for a customer the actor may see.

    A deal given must be one of this customer's (another's, or an invisible one, is the same
    NotFound). The number check and the insert run in the caller's one write transaction
    (`BEGIN IMMEDIATE` on SQLite), with the unique index behind it.
    """
    customer = require_customer(session, actor=actor, customer_id=data.customer_id)
    if data.deal_id is not None:
        deal = require_deal(session, actor=actor, deal_id=data.deal_id)
        if deal.customer_id != customer.id:
            raise NotFound
    number = data.number.strip()
    if _number_taken(session, number):
        raise DuplicateNumber(number)
    values = {**asdict(data), "number": number, "status": str(data.status)}
    contract = Contract(
        **values, owner_id=owner_for(actor, customer), created_by_id=actor_id(actor)
    )
    session.add(contract)
    session.flush()
    record_audit(
        session,
        actor_id=actor.id,
        action="create",
        entity_type=ENTITY,
        entity_id=_id(contract),
        changes=diff({}, snapshot(**values, owner_id=contract.owner_id)),
    )
    return contract


def get_contract(session: Session, *, actor: Member, contract_id: int) -> Contract:
    return require_contract(session, actor=actor, contract_id=contract_id)


def list_contracts(
    session: Session, *, actor: Member, customer_id: int, limit: int = 20, offset: int = 0
) -> list[Contract]:
    """A visible customer's contracts, latest first, a page at a time (for its card)."""
    require_customer(session, actor=actor, customer_id=customer_id)
    return list(
        session.exec(
            select(Contract)
            .where(col(Contract.customer_id) == customer_id, col(Contract.deleted_at).is_(None))
            .order_by(col(Contract.created_at).desc(), col(Contract.id).desc())
            .offset(offset)
            .limit(limit)
        )
    )


def suggest_contract_number(
    session: Session, *, today: date, pattern: str = DEFAULT_NUMBER_PATTERN
) -> str:
    """The next free number of `pattern` for `today`'s year: one past the highest sequence
    used so far (deleted contracts count, since their numbers stay taken).

    The pattern names `{year}` (optional) and `{seq}` (once, with any integer format); a
    pattern naming anything else is a configuration error (ValueError)."""
    prefix, regex = _parse_pattern(pattern, today.year)
    used = session.exec(
        select(Contract.number).where(col(Contract.number).startswith(prefix, autoescape=True))
    )
    matches = (regex.fullmatch(number) for number in used)
    seq = max((int(m.group("seq")) for m in matches if m), default=0) + 1
    while _number_taken(session, pattern.format(year=today.year, seq=seq)):
        seq += 1  # a number typed by hand that the regex could not read back
    return pattern.format(year=today.year, seq=seq)


def _parse_pattern(pattern: str, year: int) -> tuple[str, re.Pattern[str]]:
    """The literal text before `{seq}` (for an indexed prefix match) and a regex that reads
    the sequence back out of a number made with the pattern."""
    parts: list[str] = []
    has_seq = False
    for literal, name, spec, _conversion in Formatter().parse(pattern):
        parts.append(re.escape(literal))
        if name is None:
            continue
        if name == "year":
            parts.append(re.escape(format(year, spec or "")))
        elif name == "seq" and not has_seq:
            has_seq = True
            parts.append(r"(?P<seq>\d+)")
        else:
            raise ValueError(f"contract number pattern {pattern!r}: unexpected {{{name}}}")
    if not has_seq:
        raise ValueError(f"contract number pattern {pattern!r} needs a {{seq}}")
    prefix = Formatter().vformat(pattern.split("{seq", 1)[0], (), {"year": year})
    return prefix, re.compile("".join(parts))


def _number_taken(session: Session, number: str) -> bool:
    return (
        session.exec(select(Contract.id).where(col(Contract.number) == number)).first() is not None
    )


def _id(contract: Contract) -> int:
    assert contract.id is not None
    return contract.id
