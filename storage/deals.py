"""Deals: opening one for a customer, moving it through the pipeline, and its stage history.

A deal is owned by the salesperson who works it. When a manager or admin opens a deal for a
team customer it goes to the customer's owner, so it shows up in that salesperson's pipeline
rather than in the manager's. Every stage move is kept as a `DealStageChange` (who, when, why)
besides the audit entry, because the pipeline history is shown to members, the audit log is not.
Opening a deal and moving its stage are contact with the customer (`record_contact`).
A won or lost deal stays where it is until it is reopened (`reopen_deal`): a stray stage press,
or a forged one, must not quietly undo a closed deal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlmodel import Session, col, func, select

from storage.access import actor_id, owner_for, owner_scope, require_customer, require_deal
from storage.audit import diff, record_audit, snapshot
from storage.customers import record_contact
from storage.models import Customer, Deal, DealStageChange, Member, utcnow

if TYPE_CHECKING:
    from datetime import datetime

WON = "won"
LOST = "lost"
CLOSED_STAGES = (WON, LOST)


class UnknownStage(ValueError):
    """The stage is not one of the configured pipeline stages."""


class DealClosed(ValueError):
    """The deal is won or lost: only `reopen_deal` moves it."""


@dataclass(frozen=True)
class StageMove:
    """One move of a deal's history as a card shows it: who moved it, from where, when."""

    from_stage: str
    to_stage: str
    changed_at: datetime
    changed_by: str


@dataclass(frozen=True)
class DealCreate:
    """What the deal flow collects; amounts come from `parsing.parse_amount` (with currency)."""

    customer_id: int
    title: str
    stage: str
    amount: Decimal | None = None
    currency: str | None = None
    expected_close_date: date | None = None
    probability: int | None = None
    budget: Decimal | None = None
    budget_currency: str | None = None
    decision_date: date | None = None
    budget_notes: str | None = None
    decision_maker_notes: str | None = None

    def __post_init__(self) -> None:
        if self.amount is not None and self.currency is None:
            raise ValueError("an amount needs a currency")
        if self.budget is not None and self.budget_currency is None:
            raise ValueError("a budget needs a currency")
        if self.probability is not None and not 0 <= self.probability <= 100:
            raise ValueError("probability is a percentage")


def create_deal(session: Session, *, actor: Member, data: DealCreate) -> Deal:
    """Open a deal for a customer the actor may see, with its first stage in the history."""
    customer = require_customer(session, actor=actor, customer_id=data.customer_id)
    now = utcnow()
    deal = Deal(
        **asdict(data),
        owner_id=owner_for(actor, customer),
        created_by_id=actor_id(actor),
        closed_at=now if data.stage in CLOSED_STAGES else None,
    )
    session.add(deal)
    session.flush()
    deal_id = _id(deal)
    session.add(
        DealStageChange(
            deal_id=deal_id, to_stage=data.stage, changed_by_id=actor_id(actor), changed_at=now
        )
    )
    record_contact(session, customer_id=data.customer_id, at=now)
    record_audit(
        session,
        actor_id=actor.id,
        action="create",
        entity_type="deal",
        entity_id=deal_id,
        changes=diff({}, snapshot(**asdict(data), owner_id=deal.owner_id)),
    )
    return deal


def change_stage(
    session: Session,
    *,
    actor: Member,
    deal_id: int,
    stage: str,
    reason: str | None,
    stages: Sequence[str],
) -> Deal:
    """Move an open deal to `stage`; won/lost close it (with the reason, which may be empty).

    Moving to the stage it is already in records nothing, so a repeated button press is
    harmless. A closed deal is refused (`DealClosed`): it moves only through `reopen_deal`.
    """
    if stage not in stages:
        raise UnknownStage(stage)
    deal = require_deal(session, actor=actor, deal_id=deal_id)
    if deal.stage == stage:
        return deal
    if deal.stage in CLOSED_STAGES:
        raise DealClosed(deal.stage)
    return _move(session, actor, deal, stage, reason)


def reopen_deal(session: Session, *, actor: Member, deal_id: int, stages: Sequence[str]) -> Deal:
    """Put a won or lost deal back where it was before it closed (the first open stage if that
    one is gone from the pipeline). An open deal is left as it is, so a repeated press is
    harmless."""
    deal = require_deal(session, actor=actor, deal_id=deal_id)
    if deal.stage not in CLOSED_STAGES:
        return deal
    before = session.exec(
        select(DealStageChange.from_stage)
        .where(col(DealStageChange.deal_id) == deal.id, DealStageChange.to_stage == deal.stage)
        .order_by(col(DealStageChange.changed_at).desc(), col(DealStageChange.id).desc())
    ).first()
    open_stages = [s for s in stages if s not in CLOSED_STAGES]
    if not open_stages:
        raise UnknownStage("no open stage")
    stage = before if before in open_stages else open_stages[0]
    return _move(session, actor, deal, stage, None)


def _move(session: Session, actor: Member, deal: Deal, stage: str, reason: str | None) -> Deal:
    before = snapshot(stage=deal.stage, closed_at=deal.closed_at, close_reason=deal.close_reason)
    now = utcnow()
    session.add(
        DealStageChange(
            deal_id=_id(deal),
            from_stage=deal.stage,
            to_stage=stage,
            reason=reason,
            changed_by_id=actor_id(actor),
            changed_at=now,
        )
    )
    deal.stage = stage
    if stage in CLOSED_STAGES:
        deal.closed_at, deal.close_reason = now, reason
    else:
        deal.closed_at, deal.close_reason = None, None
    deal.updated_by_id, deal.updated_at = actor.id, now
    record_contact(session, customer_id=deal.customer_id, at=now)
    after = snapshot(stage=deal.stage, closed_at=deal.closed_at, close_reason=deal.close_reason)
    record_audit(
        session,
        actor_id=actor.id,
        action="update",
        entity_type="deal",
        entity_id=_id(deal),
        changes=diff(before, after),
    )
    return deal


def get_deal(session: Session, *, actor: Member, deal_id: int) -> Deal:
    return require_deal(session, actor=actor, deal_id=deal_id)


def list_open_deals(session: Session, *, actor: Member, limit: int = 50) -> list[Deal]:
    """The actor's pipeline (team's for managers): deals not won or lost, latest activity first."""
    return list(
        session.exec(
            select(Deal)
            .join(Customer, col(Customer.id) == col(Deal.customer_id))
            .where(
                owner_scope(actor, Deal.owner_id),
                owner_scope(actor, Customer.owner_id),  # as `require_deal`: opened from here
                col(Deal.stage).not_in(CLOSED_STAGES),
                col(Deal.deleted_at).is_(None),
                col(Customer.deleted_at).is_(None),
            )
            .order_by(col(Deal.updated_at).desc(), col(Deal.id).desc())
            .limit(limit)
        )
    )


def list_stage_changes(session: Session, *, actor: Member, deal_id: int) -> list[DealStageChange]:
    """A deal's path through the pipeline, oldest first."""
    deal = require_deal(session, actor=actor, deal_id=deal_id)
    return list(
        session.exec(
            select(DealStageChange)
            .where(col(DealStageChange.deal_id) == deal.id)
            .order_by(col(DealStageChange.changed_at), col(DealStageChange.id))
        )
    )


def list_stage_moves(
    session: Session, *, actor: Member, deal_id: int, limit: int = 10
) -> tuple[list[StageMove], int]:
    """The latest `limit` moves of a deal (its opening is not a move), oldest first, with the
    name of who made each, and how many moves there are in all."""
    deal = require_deal(session, actor=actor, deal_id=deal_id)
    moved = (
        col(DealStageChange.deal_id) == deal.id,
        col(DealStageChange.from_stage).is_not(None),
    )
    total = session.exec(select(func.count()).select_from(DealStageChange).where(*moved)).one()
    found = session.exec(
        select(DealStageChange, Member.display_name)
        .join(Member, col(Member.id) == col(DealStageChange.changed_by_id))
        .where(*moved)
        .order_by(col(DealStageChange.changed_at).desc(), col(DealStageChange.id).desc())
        .limit(limit)
    ).all()
    moves = [StageMove(c.from_stage or "", c.to_stage, c.changed_at, name) for c, name in found]
    return moves[::-1], total


def _id(deal: Deal) -> int:
    assert deal.id is not None
    return deal.id
