"""Report numbers: funnel, wins over time, new customers, activities, top customers and
categories, each checked against seeded rows; scope by role; period edges in Shanghai time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from storage.db import Database
from storage.models import Customer, Deal, DealStageChange, Interaction, Member, Order, Role
from storage.parsing import Money
from storage.reports import (
    Bucket,
    Report,
    Tally,
    bucket_starts,
    build_report,
    report_period,
)
from tests.factories import make_member, pk

TZ = ZoneInfo("Asia/Shanghai")
STAGES = ["lead", "qualified", "proposal", "negotiation", "won", "lost"]
TODAY = date(2031, 1, 15)  # a Wednesday
WEEK = report_period("week", last=TODAY, tz=TZ)
SINCE = WEEK.since  # 9 Jan 00:00 in Shanghai = 8 Jan 16:00 UTC
IN_WEEK = datetime(2031, 1, 12, 4, 0, tzinfo=UTC)


def customer(
    session: Session,
    owner: Member,
    *,
    at: datetime = IN_WEEK,
    source: str | None = None,
    region: str | None = None,
    category: str | None = None,
    name: str = "Customer",
) -> Customer:
    row = Customer(
        owner_id=pk(owner),
        created_by_id=pk(owner),
        name=name,
        source=source,
        region=region,
        category=category,
        created_at=at,
    )
    session.add(row)
    session.flush()
    return row


def deal(
    session: Session,
    owner: Member,
    path: list[str],
    amount: str | None = None,
    *,
    currency: str = "CNY",
    at: datetime = IN_WEEK,
    closed_at: datetime | None = None,
) -> Deal:
    """A deal that went through `path` (its stage history); the last stage is the current."""
    row = Deal(
        customer_id=pk(customer(session, owner, at=at)),
        owner_id=pk(owner),
        created_by_id=pk(owner),
        title="Deal",
        stage=path[-1],
        amount=Decimal(amount) if amount else None,
        currency=currency if amount else None,
        created_at=at,
        closed_at=closed_at or (at if path[-1] in ("won", "lost") else None),
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    previous = None
    for stage in path:
        session.add(
            DealStageChange(
                deal_id=row.id, from_stage=previous, to_stage=stage, changed_by_id=pk(owner)
            )
        )
        previous = stage
    session.flush()
    return row


def note(session: Session, owner: Member, at: datetime = IN_WEEK) -> None:
    target = customer(session, owner, at=at - timedelta(days=60))
    session.add(
        Interaction(
            customer_id=pk(target),
            owner_id=pk(owner),
            created_by_id=pk(owner),
            kind="call",
            happened_at=at,
        )
    )
    session.flush()


def report(session: Session, actor: Member, kind: str = "week", last: date = TODAY) -> Report:
    period = report_period(kind, last=last, tz=TZ)  # type: ignore[arg-type]
    return build_report(session, actor=actor, period=period, stages=STAGES, currency="CNY", tz=TZ)


def test_periods_are_local_calendar_ranges_in_utc() -> None:
    assert (WEEK.first, WEEK.last) == (date(2031, 1, 9), date(2031, 1, 15))
    assert WEEK.since == datetime(2031, 1, 8, 16, 0, tzinfo=UTC)
    assert WEEK.until == datetime(2031, 1, 15, 16, 0, tzinfo=UTC)
    month = report_period("month", last=TODAY, tz=TZ)
    assert (month.first, month.since) == (date(2031, 1, 1), datetime(2030, 12, 31, 16, tzinfo=UTC))
    quarter = report_period("quarter", last=date(2031, 8, 20), tz=TZ)
    assert (quarter.first, quarter.last) == (date(2031, 7, 1), date(2031, 8, 20))


def test_buckets_are_days_for_a_week_and_weeks_from_monday_otherwise() -> None:
    assert bucket_starts(WEEK) == [date(2031, 1, 9) + timedelta(days=i) for i in range(7)]
    month = report_period("month", last=TODAY, tz=TZ)
    assert bucket_starts(month) == [date(2031, 1, 1), date(2031, 1, 6), date(2031, 1, 13)]


def test_funnel_counts_current_stages_and_conversion_from_history(db: Database) -> None:
    with db.session() as session:
        sales = make_member(session)
        deal(session, sales, ["lead"], "100")
        deal(session, sales, ["lead", "qualified", "proposal", "lost"], "200")
        deal(session, sales, ["lead", "won"], "300")
        deal(session, sales, ["negotiation"], "5", currency="USD")
        deal(session, sales, ["lead"], "999", at=SINCE - timedelta(seconds=1))  # before
        funnel = report(session, sales).funnel
    assert [(s.stage, s.count, s.totals) for s in funnel] == [
        ("lead", 1, {"CNY": Decimal("100.00")}),
        ("qualified", 0, {}),
        ("proposal", 0, {}),
        ("negotiation", 1, {"USD": Decimal("5.00")}),
        ("won", 1, {"CNY": Decimal("300.00")}),
        ("lost", 1, {"CNY": Decimal("200.00")}),
    ]
    assert [s.reached for s in funnel] == [4, 3, 3, 2, 1, 0]
    assert [s.conversion for s in funnel] == [None, 0.75, 1.0, pytest.approx(2 / 3), 0.5, None]


def test_wins_are_bucketed_by_local_day_in_the_team_currency(db: Database) -> None:
    just_after_midnight = datetime(2031, 1, 14, 16, 30, tzinfo=UTC)  # 15 Jan 00:30 local
    with db.session() as session:
        sales = make_member(session)
        deal(session, sales, ["won"], "1000", closed_at=just_after_midnight)
        deal(session, sales, ["won"], "250.50", closed_at=SINCE)  # first instant: included
        deal(session, sales, ["won"], "70", currency="USD", closed_at=just_after_midnight)
        deal(session, sales, ["won"], "1", closed_at=SINCE - timedelta(seconds=1))  # before
        deal(session, sales, ["won"], "1", closed_at=WEEK.until)  # after
        deal(session, sales, ["lost"], "1", closed_at=just_after_midnight)
        result = report(session, sales)
    days = {b.first: b for b in result.won_over_time}
    assert len(days) == 7
    assert days[date(2031, 1, 15)] == Bucket(date(2031, 1, 15), 2, Decimal("1000.00"))
    assert days[date(2031, 1, 9)] == Bucket(date(2031, 1, 9), 1, Decimal("250.50"))
    assert days[date(2031, 1, 14)].count == 0
    assert result.won == 3
    assert result.won_totals == [Money(Decimal("1250.50"), "CNY"), Money(Decimal("70.00"), "USD")]


def test_wins_over_a_month_are_summed_per_week(db: Database) -> None:
    with db.session() as session:
        sales = make_member(session)
        deal(session, sales, ["won"], "10", closed_at=datetime(2031, 1, 2, tzinfo=UTC))
        deal(session, sales, ["won"], "20", closed_at=datetime(2031, 1, 7, tzinfo=UTC))
        deal(session, sales, ["won"], "30", closed_at=datetime(2031, 1, 8, tzinfo=UTC))
        result = report(session, sales, "month")
    assert [(b.first, b.count, b.amount) for b in result.won_over_time] == [
        (date(2031, 1, 1), 1, Decimal("10.00")),
        (date(2031, 1, 6), 2, Decimal("50.00")),
        (date(2031, 1, 13), 0, Decimal(0)),
    ]


def test_new_customers_by_source_and_region_with_the_rest_as_other(db: Database) -> None:
    with db.session() as session:
        sales = make_member(session)
        for source, region in [("referral", "Shanghai")] * 3 + [("event", "Beijing")] * 2:
            customer(session, sales, source=source, region=region)
        customer(session, sales)  # nothing recorded
        for i in range(9):
            customer(session, sales, region=f"Town {i}", source="event")
        customer(session, sales, source="event", at=SINCE - timedelta(seconds=1))
        customer(session, sales, source="event", at=WEEK.until - timedelta(seconds=1))
        result = report(session, sales)
    assert result.new_by_source == [Tally("event", 12), Tally("referral", 3), Tally(None, 1)]
    assert result.new_customers == 16
    towns = [Tally(f"Town {i}", 1) for i in range(5)]  # ties in name order; 8 largest
    assert result.new_by_region == [
        Tally("Shanghai", 3),
        Tally("Beijing", 2),
        Tally(None, 2),
        *towns,
        Tally("", 4),  # Town 5 to 8, as "other"
    ]


def test_activities_per_salesperson_busiest_first(db: Database) -> None:
    with db.session() as session:
        manager = make_member(session, role=Role.MANAGER, display_name="Mia")
        li = make_member(session, manager=manager, display_name="Li")
        wu = make_member(session, manager=manager, display_name="Wu")
        for _ in range(3):
            note(session, wu)
        note(session, li)
        note(session, li, at=SINCE - timedelta(seconds=1))
        result = report(session, manager)
    assert result.activities == [Tally("Wu", 3), Tally("Li", 1)]
    assert result.activity_count == 4


def test_top_customers_rank_orders_in_the_period_and_currency(db: Database) -> None:
    with db.session() as session:
        sales = make_member(session)
        big = customer(session, sales, name="Big", at=IN_WEEK - timedelta(days=90))
        small = customer(session, sales, name="Small", at=IN_WEEK - timedelta(days=90))
        rows = [
            (big, "500", "CNY", TODAY),
            (big, "700", "CNY", WEEK.first),
            (small, "900", "CNY", TODAY),
            (small, "5000", "USD", TODAY),
            (small, "5000", "CNY", WEEK.first - timedelta(days=1)),
            (small, "8000", "CNY", TODAY, "cancelled"),
            (small, "70", "CNY", TODAY, "ordered"),
        ]
        for n, (who, amount, currency, on, *status) in enumerate(rows):
            session.add(
                Order(
                    customer_id=pk(who),
                    owner_id=pk(sales),
                    created_by_id=pk(sales),
                    number=f"DD-{n}",
                    total=Decimal(amount),
                    currency=currency,
                    ordered_on=on,
                    status=status[0] if status else "paid",
                )
            )
        result = report(session, sales)
    assert [(c.name, c.amount) for c in result.top_customers] == [
        ("Big", Money(Decimal("1200.00"), "CNY")),
        ("Small", Money(Decimal("970.00"), "CNY")),  # an open order counts, a cancelled not
    ]


def test_categories_count_every_customer_not_just_new_ones(db: Database) -> None:
    with db.session() as session:
        sales = make_member(session)
        customer(session, sales, category="loyal", at=IN_WEEK - timedelta(days=400))
        customer(session, sales, category="loyal")
        customer(session, sales, category="potential")
        result = report(session, sales)
    assert result.categories == [Tally("loyal", 2), Tally("potential", 1)]


def test_scope_sales_own_manager_team_admin_everyone(db: Database) -> None:
    with db.session() as session:
        admin = make_member(session, role=Role.ADMIN)
        manager = make_member(session, role=Role.MANAGER)
        li = make_member(session, manager=manager)
        outsider = make_member(session)
        for owner, n in ((li, 2), (manager, 1), (outsider, 4)):
            for _ in range(n):
                deal(session, owner, ["won"], "10")
                note(session, owner)
        counts = {
            who: (r.new_deals, r.won, r.activity_count, r.won_totals)
            for who, r in (
                ("li", report(session, li)),
                ("manager", report(session, manager)),
                ("admin", report(session, admin)),
            )
        }
    assert counts["li"][:3] == (2, 2, 2)
    assert counts["manager"][:3] == (3, 3, 3)
    assert counts["admin"][:3] == (7, 7, 7)
    assert counts["admin"][3] == [Money(Decimal("70.00"), "CNY")]


def test_nothing_in_the_period_is_an_empty_report(db: Database) -> None:
    with db.session() as session:
        sales = make_member(session)
        customer(session, sales, category="loyal", at=IN_WEEK - timedelta(days=30))
        result = report(session, sales)
    assert result.empty
    assert result.categories == [Tally("loyal", 1)]


@pytest.mark.parametrize("kind", ["week", "month", "quarter"])
@pytest.mark.parametrize(
    "last",
    [
        date(2031, 1, 1),  # the first day of a month, a quarter and a year (a Wednesday)
        date(2031, 2, 2),  # a month's first two days, Saturday and Sunday: still one bucket
        date(2031, 9, 1),  # a first day that is a Monday
        date(2031, 1, 15),  # mid-period
        date(2031, 3, 31),  # the last day of a month and a quarter
        date(2031, 12, 31),  # the last day of a year
        date(2032, 2, 29),  # a leap day
    ],
)
def test_wins_are_bucketed_on_any_day_of_any_period(db: Database, kind: str, last: date) -> None:
    noon = datetime(last.year, last.month, last.day, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
    with db.session() as session:
        sales = make_member(session)
        deal(session, sales, ["won"], "40", closed_at=noon)
        result = report(session, sales, kind, last=last)
    starts = bucket_starts(result.period)
    assert [b.first for b in result.won_over_time] == starts
    assert starts[0] == result.period.first
    assert result.won_over_time[-1] == Bucket(starts[-1], 1, Decimal("40.00"))
    assert result.won == 1
