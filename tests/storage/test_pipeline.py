"""Open-deal totals: a member's own deals by stage, a team's totals by stage and salesperson."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import Session

from storage.access import NotFound
from storage.db import Database
from storage.models import Deal, Member, Role, utcnow
from storage.pipeline import count_pipeline, list_my_deals_by_stage
from tests.factories import make_customer, make_member, pk

STAGES = ("lead", "qualified", "proposal", "negotiation", "won", "lost")


def add_deal(
    session: Session,
    owner: Member,
    stage: str,
    amount: str | None,
    currency: str | None = "CNY",
    *,
    deleted: bool = False,
) -> Deal:
    customer = make_customer(session, owner=owner)
    deal = Deal(
        customer_id=pk(customer),
        owner_id=pk(owner),
        created_by_id=pk(owner),
        title=f"{stage} deal",
        stage=stage,
        amount=Decimal(amount) if amount else None,
        currency=currency if amount else None,
        deleted_at=utcnow() if deleted else None,
    )
    session.add(deal)
    session.flush()
    return deal


def test_my_deals_grouped_by_stage_with_totals_per_currency(db: Database) -> None:
    with db.session() as session:
        sales = make_member(session)
        other = make_member(session)
        add_deal(session, sales, "proposal", "100.50")
        add_deal(session, sales, "lead", "10")
        add_deal(session, sales, "lead", "5", "USD")
        add_deal(session, sales, "lead", None)
        add_deal(session, sales, "won", "999")
        add_deal(session, sales, "lead", "1", deleted=True)
        add_deal(session, other, "lead", "1000")
        groups = list_my_deals_by_stage(session, actor=sales, stages=STAGES)
    assert [(g.key, g.count, g.totals) for g in groups] == [
        ("lead", 3, {"CNY": Decimal("10"), "USD": Decimal("5")}),
        ("proposal", 1, {"CNY": Decimal("100.50")}),
    ]
    assert len(groups[0].deals) == 3


def test_pipeline_totals_for_a_manager_cover_the_team_only(db: Database) -> None:
    with db.session() as session:
        manager = make_member(session, role=Role.MANAGER, display_name="Boss")
        li = make_member(session, manager=manager, display_name="Li")
        wang = make_member(session, manager=manager, display_name="Wang")
        outsider = make_member(session, display_name="Outsider")
        add_deal(session, li, "lead", "10")
        add_deal(session, li, "proposal", "20")
        add_deal(session, wang, "lead", "5")
        add_deal(session, outsider, "lead", "1000")
        totals = count_pipeline(session, actor=manager, stages=STAGES)
    assert [(g.key, g.count, g.totals) for g in totals.by_stage] == [
        ("lead", 2, {"CNY": Decimal("15")}),
        ("proposal", 1, {"CNY": Decimal("20")}),
    ]
    assert [(g.key, g.count, g.totals) for g in totals.by_owner] == [
        ("Li", 2, {"CNY": Decimal("30")}),
        ("Wang", 1, {"CNY": Decimal("5")}),
    ]


def test_pipeline_for_an_admin_covers_everyone(db: Database) -> None:
    with db.session() as session:
        admin = make_member(session, role=Role.ADMIN)
        add_deal(session, make_member(session), "lead", "10")
        add_deal(session, make_member(session), "lead", "5")
        totals = count_pipeline(session, actor=admin, stages=STAGES)
    assert [(g.key, g.count) for g in totals.by_stage] == [("lead", 2)]
    assert len(totals.by_owner) == 2


def test_pipeline_for_sales_is_refused(db: Database) -> None:
    with db.session() as session:
        sales = make_member(session)
        with pytest.raises(NotFound):
            count_pipeline(session, actor=sales, stages=STAGES)
