"""The open pipeline in numbers: a member's deals by stage, a team's totals by stage and owner.

Totals are kept per currency, never converted: a team selling in CNY and USD sees both sums.
Open means not won or lost, not deleted, and its customer not deleted either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from storage.access import NotFound, actor_id, owner_scope
from storage.deals import CLOSED_STAGES
from storage.models import Customer, Deal, Member, Role
from storage.paging import Cursor, Key, KeysetPage, keyset_page, micros


@dataclass
class Group:
    """A stage or a salesperson: how many open deals and their sum in each currency."""

    key: str
    count: int = 0
    totals: dict[str, Decimal] = field(default_factory=dict)
    deals: list[tuple[Deal, str]] = field(default_factory=list)  # (deal, customer name)


@dataclass(frozen=True)
class PipelineTotals:
    by_stage: list[Group]
    by_owner: list[Group]


def _open(*conditions: ColumnElement[bool]) -> list[ColumnElement[bool]]:
    return [
        col(Deal.stage).not_in(CLOSED_STAGES),
        col(Deal.deleted_at).is_(None),
        col(Customer.deleted_at).is_(None),
        *conditions,
    ]


def _ordered(groups: dict[str, Group], stages: Sequence[str]) -> list[Group]:
    """Configured stage order first; a stage since removed from the config comes last."""
    rank = {stage: i for i, stage in enumerate(stages)}
    return sorted(groups.values(), key=lambda g: (rank.get(g.key, len(rank)), g.key))


def list_my_deals_by_stage(
    session: Session, *, actor: Member, stages: Sequence[str]
) -> list[Group]:
    """The actor's own open deals, grouped by stage, each group with count and totals: all of
    them, so the totals are whole (/deals shows them a page at a time)."""
    rows = session.exec(
        select(Deal, Customer.name)
        .join(Customer, col(Customer.id) == col(Deal.customer_id))
        .where(
            *_open(
                col(Deal.owner_id) == actor_id(actor),
                owner_scope(actor, Customer.owner_id),  # shown with the customer's name
            )
        )
        .order_by(col(Deal.updated_at).desc(), col(Deal.id).desc())
    )
    groups: dict[str, Group] = {}
    for deal, customer_name in rows:
        group = groups.setdefault(deal.stage, Group(deal.stage))
        group.count += 1
        group.deals.append((deal, customer_name))
        if deal.amount is not None and deal.currency:
            group.totals[deal.currency] = group.totals.get(deal.currency, Decimal(0)) + deal.amount
    return _ordered(groups, stages)


@dataclass(frozen=True)
class DealsPage:
    """/deals: every stage's count and totals, and one page of the deals under them."""

    groups: list[Group]
    page: KeysetPage[tuple[str, Deal, str]]  # (stage, deal, customer name)


def page_my_deals(
    session: Session,
    *,
    actor: Member,
    stages: Sequence[str],
    cursor: Cursor | None = None,
    size: int = 10,
) -> DealsPage:
    """The actor's open deals by stage (`list_my_deals_by_stage`) and the page of them that
    `cursor` points to, in stage order, then most recently changed first. A stage no longer
    configured ranks after the configured ones, by name, as `_ordered` puts it."""
    groups = list_my_deals_by_stage(session, actor=actor, stages=stages)
    rank = {group.key: i for i, group in enumerate(groups)}
    configured = {stage: i for i, stage in enumerate(stages)}

    def key(row: tuple[str, Deal, str]) -> Key:
        stage, deal, _customer = row
        assert deal.id is not None
        # Configured stages keep their config index in the key, so a stage that empties
        # between two presses does not shift the rank of those after it.
        position = configured.get(stage, len(configured) + rank[stage])
        return (position, -micros(deal.updated_at), -deal.id)

    rows = [(g.key, deal, customer) for g in groups for deal, customer in g.deals]
    return DealsPage(groups, keyset_page(rows, key=key, cursor=cursor, size=size))


def count_pipeline(session: Session, *, actor: Member, stages: Sequence[str]) -> PipelineTotals:
    """The team's (managers) or everyone's (admins) open totals by stage and by salesperson."""
    if actor.role == Role.SALES:
        raise NotFound
    base = (
        select_columns(
            col(Deal.stage),
            col(Member.id),
            col(Member.display_name),
            col(Deal.currency),
            func.count(),
            func.sum(Deal.amount),
        )
        .join(Customer, col(Customer.id) == col(Deal.customer_id))
        .join(Member, col(Member.id) == col(Deal.owner_id))
        .where(*_open(owner_scope(actor, Deal.owner_id)))
        .group_by(col(Deal.stage), col(Member.id), col(Member.display_name), col(Deal.currency))
    )
    by_stage: dict[str, Group] = {}
    by_owner: dict[int, Group] = {}
    for stage, owner_id, owner, currency, count, amount in session.execute(base):
        groups: dict[Any, Group]
        for groups, key, label in ((by_stage, stage, stage), (by_owner, owner_id, owner)):
            group = groups.setdefault(key, Group(label))
            group.count += count
            if currency and amount is not None:
                group.totals[currency] = group.totals.get(currency, Decimal(0)) + Decimal(amount)
    return PipelineTotals(
        by_stage=_ordered(by_stage, stages),
        by_owner=sorted(by_owner.values(), key=lambda g: g.key.casefold()),
    )
