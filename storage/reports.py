"""The numbers of `/report`: a period's funnel, wins over time, new customers, activity,
top customers and categories, for what the actor may see (sales own, managers team, admins
all, through `owner_scope`).

Periods are local dates in the member's timezone, turned into UTC bounds here:
- week: the last 7 days, today included (a Monday report would be empty for "this ISO week");
- month / quarter: the calendar month / quarter so far.
The scheduled weekly report passes yesterday as `last`, so it covers the 7 full days before.

Every number is aggregated in SQL (GROUP BY), so a report costs a handful of queries however
many rows there are. Amounts stay per currency (never converted, as in `storage.pipeline`);
the series that must be one number per bar (wins over time, top customers) use the team's
currency, and the other currencies' won totals are still listed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, case, func, literal, union_all
from sqlalchemy import select as core_select
from sqlmodel import Session, col

from storage.access import owner_scope
from storage.contract_figures import ContractFigures, contract_figures
from storage.deals import LOST, WON
from storage.interactions import IMPORTED_KIND
from storage.models import (
    Customer,
    Deal,
    DealStageChange,
    Interaction,
    Member,
    Order,
    OrderStatus,
    utcnow,
)
from storage.order_figures import OrderFigures, order_figures
from storage.parsing import Money
from storage.ticket_figures import TicketFigures, ticket_figures
from storage.working_hours import local_moment

PeriodKind = Literal["week", "month", "quarter"]
PERIODS: tuple[PeriodKind, ...] = ("week", "month", "quarter")
REGION_LIMIT = 8
TOP_CUSTOMERS = 8
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Period:
    kind: PeriodKind
    first: date  # local dates, both included
    last: date
    since: datetime  # UTC bounds [since, until)
    until: datetime


@dataclass(frozen=True)
class FunnelStage:
    """Deals of the period now at `stage` (count, sums per currency), and how many reached it
    or a later stage; `conversion` is reached here / reached at the previous stage."""

    stage: str
    count: int
    totals: dict[str, Decimal]
    reached: int
    conversion: float | None


@dataclass(frozen=True)
class Bucket:
    """Deals won from `first` (a local date) until the next bucket, in the team's currency."""

    first: date
    count: int
    amount: Decimal


@dataclass(frozen=True)
class Tally:
    """A count by one label: a source, region, category or salesperson (None: not recorded)."""

    key: str | None
    count: int


@dataclass(frozen=True)
class TopCustomer:
    customer_id: int
    name: str
    amount: Money


@dataclass(frozen=True)
class Report:
    period: Period
    currency: str
    funnel: list[FunnelStage]
    won_over_time: list[Bucket]
    won_totals: list[Money]
    new_by_source: list[Tally]
    new_by_region: list[Tally]
    activities: list[Tally]
    top_customers: list[TopCustomer]
    categories: list[Tally] = field(default_factory=list)
    contracts: ContractFigures = field(default_factory=ContractFigures)
    orders: OrderFigures = field(default_factory=OrderFigures)
    tickets: TicketFigures = field(default_factory=TicketFigures)

    @property
    def new_customers(self) -> int:
        return sum(t.count for t in self.new_by_source)

    @property
    def new_deals(self) -> int:
        return sum(s.count for s in self.funnel)

    @property
    def won(self) -> int:
        return sum(b.count for b in self.won_over_time)

    @property
    def activity_count(self) -> int:
        return sum(t.count for t in self.activities)

    @property
    def empty(self) -> bool:
        """Nothing happened in the period (the category snapshot alone is no report)."""
        return not (self.new_deals or self.won or self.new_customers or self.activity_count)


def report_period(kind: PeriodKind, *, last: date, tz: ZoneInfo) -> Period:
    """The period of `kind` ending with the local date `last` (today, or yesterday)."""
    if kind == "week":
        first = last - timedelta(days=6)
    elif kind == "month":
        first = last.replace(day=1)
    else:
        first = date(last.year, 3 * ((last.month - 1) // 3) + 1, 1)
    midnight = time(0, 0)
    return Period(
        kind,
        first,
        last,
        local_moment(first, midnight, tz),
        local_moment(last + timedelta(days=1), midnight, tz),
    )


def bucket_starts(period: Period) -> list[date]:
    """Days for a week, else weeks: the period's first day, then every Monday after it."""
    days = [period.first + timedelta(days=i) for i in range((period.last - period.first).days + 1)]
    if period.kind == "week":
        return days
    return [day for day in days if day == period.first or day.weekday() == 0]


def build_report(
    session: Session,
    *,
    actor: Member,
    period: Period,
    stages: list[str],
    currency: str,
    tz: ZoneInfo,
    now: datetime | None = None,
) -> Report:
    """Every number of the report in one read transaction; `now` decides which open tickets
    are overdue."""
    won_over_time, won_totals = _won(session, actor, period, currency, tz)
    return Report(
        period=period,
        currency=currency,
        funnel=_funnel(session, actor, period, stages),
        won_over_time=won_over_time,
        won_totals=won_totals,
        new_by_source=_new_customers_by(session, actor, period, Customer.source),
        new_by_region=_new_customers_by(session, actor, period, Customer.region, REGION_LIMIT),
        activities=_activities(session, actor, period),
        top_customers=_top_customers(session, actor, period, currency),
        categories=_categories(session, actor),
        contracts=contract_figures(
            session, actor=actor, first=period.first, last=period.last, currency=currency
        ),
        orders=order_figures(
            session, actor=actor, first=period.first, last=period.last, currency=currency
        ),
        tickets=ticket_figures(
            session, actor=actor, since=period.since, until=period.until, now=now or utcnow()
        ),
    )


def _in(column: Any, period: Period) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return col(column) >= period.since, col(column) < period.until


def _live_deals(actor: Member) -> tuple[ColumnElement[bool], ...]:
    return (
        col(Deal.deleted_at).is_(None),
        col(Customer.deleted_at).is_(None),
        owner_scope(actor, Deal.owner_id),
    )


def _funnel(
    session: Session, actor: Member, period: Period, stages: list[str]
) -> list[FunnelStage]:
    """Deals opened in the period: where they are now, and how far each got.

    How far is the furthest configured stage (lost excluded) in the deal's stage history or
    its current stage, so a deal lost at "proposal" still counts as having reached it, and a
    deal moved straight from "lead" to "won" counts for the stages it skipped.
    """
    cohort = (
        core_select(col(Deal.id))
        .join(Customer, col(Customer.id) == col(Deal.customer_id))
        .where(*_live_deals(actor), *_in(Deal.created_at, period))
    )
    current = session.execute(
        core_select(col(Deal.stage), col(Deal.currency), func.count(), func.sum(Deal.amount))
        .where(col(Deal.id).in_(cohort))
        .group_by(col(Deal.stage), col(Deal.currency))
    )
    counts: dict[str, int] = defaultdict(int)
    totals: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for stage, money_currency, count, amount in current:
        counts[stage] += int(count)
        if money_currency and amount is not None:
            totals[stage][money_currency] = Decimal(amount).quantize(_CENT)
    ladder = [stage for stage in stages if stage != LOST]
    rank = {stage: i for i, stage in enumerate(ladder)}
    steps = union_all(
        core_select(
            col(DealStageChange.deal_id).label("deal_id"),
            case(rank, value=col(DealStageChange.to_stage)).label("rank"),
        ).where(col(DealStageChange.deal_id).in_(cohort)),
        core_select(
            col(Deal.id).label("deal_id"), case(rank, value=col(Deal.stage)).label("rank")
        ).where(col(Deal.id).in_(cohort)),
    ).subquery()
    furthest = (
        core_select(func.max(steps.c.rank).label("furthest")).group_by(steps.c.deal_id).subquery()
    )
    ended: dict[int, int] = {
        int(row[0]): int(row[1])
        for row in session.execute(
            core_select(furthest.c.furthest, func.count())
            .where(furthest.c.furthest.is_not(None))
            .group_by(furthest.c.furthest)
        )
    }
    result = []
    previous: int | None = None
    for stage in stages:
        reached = sum(n for i, n in ended.items() if i >= rank[stage]) if stage in rank else 0
        conversion = reached / previous if previous and stage in rank else None
        result.append(FunnelStage(stage, counts[stage], totals[stage], reached, conversion))
        previous = reached if stage in rank else previous
    return result


def _won(
    session: Session, actor: Member, period: Period, currency: str, tz: ZoneInfo
) -> tuple[list[Bucket], list[Money]]:
    """Deals won in the period per bucket (count, sum in `currency`) and sums per currency.

    The bucket is a CASE over the buckets' UTC bounds, so local days are cut in the
    member's timezone on both backends; a subquery names it so PostgreSQL can group by it.
    A period of one bucket (a month's first day, or its first days before a Monday) has no
    bound to compare with, and a CASE without a WHEN is a syntax error: its bucket is 0.
    """
    starts = bucket_starts(period)
    bounds = [local_moment(day, time(0, 0), tz) for day in starts[1:]]
    bucket = (
        case(
            *((col(Deal.closed_at) < bound, i) for i, bound in enumerate(bounds)),
            else_=len(bounds),
        )
        if bounds
        else literal(0)
    )
    won = (
        core_select(
            bucket.label("bucket"),
            col(Deal.currency).label("currency"),
            col(Deal.amount).label("amount"),
        )
        .join(Customer, col(Customer.id) == col(Deal.customer_id))
        .where(col(Deal.stage) == WON, *_live_deals(actor), *_in(Deal.closed_at, period))
        .subquery()
    )
    rows = session.execute(
        core_select(won.c.bucket, won.c.currency, func.count(), func.sum(won.c.amount))
        .group_by(won.c.bucket, won.c.currency)
        .order_by(won.c.currency)
    )
    count = [0] * len(starts)
    amount = [Decimal(0)] * len(starts)
    per_currency: dict[str, Decimal] = defaultdict(Decimal)
    for index, money_currency, n, total in rows:
        count[int(index)] += int(n)
        if money_currency is None or total is None:
            continue
        per_currency[money_currency] += Decimal(total)
        if money_currency == currency:
            amount[int(index)] += Decimal(total).quantize(_CENT)
    buckets = [Bucket(day, count[i], amount[i]) for i, day in enumerate(starts)]
    totals = [Money(total.quantize(_CENT), code) for code, total in per_currency.items()]
    return buckets, sorted(totals, key=lambda m: (m.currency != currency, m.currency))


def _new_customers_by(
    session: Session, actor: Member, period: Period, column: Any, limit: int | None = None
) -> list[Tally]:
    """New customers of the period per value of `column`, largest first; with `limit`, the
    rest are summed under the key "" (shown as "other")."""
    where = (
        col(Customer.deleted_at).is_(None),
        owner_scope(actor, Customer.owner_id),
        *_in(Customer.created_at, period),
    )
    count = func.count()
    rows = session.execute(
        core_select(col(column), count)
        .where(*where)
        .group_by(col(column))
        .order_by(count.desc(), col(column).asc().nulls_last())
        .limit(limit)
    )
    tallies = [Tally(key, int(n)) for key, n in rows]
    if limit is not None and len(tallies) == limit:
        total = session.execute(core_select(func.count()).select_from(Customer).where(*where))
        rest = int(total.scalar_one()) - sum(t.count for t in tallies)
        if rest:
            tallies.append(Tally("", rest))
    return tallies


def _activities(session: Session, actor: Member, period: Period) -> list[Tally]:
    """Interactions that happened in the period, per salesperson, busiest first."""
    count = func.count()
    rows = session.execute(
        core_select(col(Member.display_name), count)
        .select_from(Interaction)
        .join(Member, col(Member.id) == col(Interaction.owner_id))
        .join(Customer, col(Customer.id) == col(Interaction.customer_id))
        .where(
            col(Interaction.deleted_at).is_(None),
            col(Interaction.kind) != IMPORTED_KIND,
            col(Customer.deleted_at).is_(None),
            owner_scope(actor, Interaction.owner_id),
            *_in(Interaction.happened_at, period),
        )
        .group_by(col(Member.id), col(Member.display_name))
        .order_by(count.desc(), col(Member.display_name))
    )
    return [Tally(name, int(n)) for name, n in rows]


def _top_customers(
    session: Session, actor: Member, period: Period, currency: str
) -> list[TopCustomer]:
    """The customers who bought most in the period: their orders not cancelled, by order
    date (a local date)."""
    total = func.sum(Order.total)
    rows = session.execute(
        core_select(col(Customer.id), col(Customer.name), total)
        .select_from(Order)
        .join(Customer, col(Customer.id) == col(Order.customer_id))
        .where(
            col(Order.deleted_at).is_(None),
            col(Order.status) != OrderStatus.CANCELLED,
            col(Customer.deleted_at).is_(None),
            owner_scope(actor, Order.owner_id),
            col(Order.currency) == currency,
            col(Order.ordered_on) >= period.first,
            col(Order.ordered_on) <= period.last,
        )
        .group_by(col(Customer.id), col(Customer.name))
        .order_by(total.desc(), col(Customer.id))
        .limit(TOP_CUSTOMERS)
    )
    return [
        TopCustomer(int(cid), name, Money(Decimal(amount).quantize(_CENT), currency))
        for cid, name, amount in rows
        if amount is not None
    ]


def _categories(session: Session, actor: Member) -> list[Tally]:
    """All customers the actor sees by category today: a snapshot, not a period number."""
    count = func.count()
    rows = session.execute(
        core_select(col(Customer.category), count)
        .where(col(Customer.deleted_at).is_(None), owner_scope(actor, Customer.owner_id))
        .group_by(col(Customer.category))
        .order_by(count.desc(), col(Customer.category).asc().nulls_last())
    )
    return [Tally(key, int(n)) for key, n in rows]
