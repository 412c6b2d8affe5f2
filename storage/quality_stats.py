"""The numbers of `/quality`: how complete the team's customers are (by salesperson and by
required field), the duplicates found and merged, and the review items still open.

Completeness of a customer is the share of the team's required fields it has filled; a
salesperson's score is the average over their customers (100 with none). Everything is read
through the access rule: managers their team, admins everyone.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, func, select

from storage.access import NotFound, owner_scope
from storage.models import AuditEntry, Customer, CustomerPhone, Member, Role
from storage.review_items import ReviewRules, missing_customer_fields
from storage.reviews import list_review_queue, review_age_days


@dataclass(frozen=True)
class MemberScore:
    name: str
    customers: int
    score: int  # 0-100


@dataclass(frozen=True)
class QualityStats:
    members: list[MemberScore]
    fields: list[tuple[str, int]]  # required field, % of customers that have it
    duplicates_open: int
    merged: int
    open_items: dict[str, int]  # by kind
    oldest_days: int


def member_scores(
    session: Session, *, actor: Member, rules: ReviewRules
) -> tuple[list[MemberScore], list[tuple[str, int]]]:
    """Completeness by salesperson (lowest first) and by required field, in actor's scope."""
    customers = list(
        session.exec(
            select(Customer).where(
                col(Customer.deleted_at).is_(None), owner_scope(actor, Customer.owner_id)
            )
        )
    )
    with_phone = set(
        session.exec(
            select(CustomerPhone.customer_id).where(
                col(CustomerPhone.customer_id).in_([c.id for c in customers])
            )
        )
    )
    filled: dict[int, list[float]] = defaultdict(list)
    per_field: dict[str, int] = dict.fromkeys(rules.required, 0)
    for customer in customers:
        phones = ["x"] if customer.id in with_phone else []
        missing = missing_customer_fields(vars(customer), phones, rules.required)
        for name in rules.required:
            per_field[name] += name not in missing
        share = 1 - len(missing) / len(rules.required) if rules.required else 1
        filled[customer.owner_id].append(share)
    members = session.exec(
        select(Member).where(owner_scope(actor, Member.id), col(Member.active).is_(True))
    )
    scores = []
    for m in members:
        shares = filled.get(m.id or 0, [])
        if m.role == Role.SALES or shares:
            score = round(100 * sum(shares) / len(shares)) if shares else 100
            scores.append(MemberScore(m.display_name, len(shares), score))
    scores.sort(key=lambda s: (s.score, s.name))
    total = len(customers)
    fields = [(n, round(100 * per_field[n] / total) if total else 100) for n in rules.required]
    return scores, fields


def quality_stats(
    session: Session, *, actor: Member, rules: ReviewRules, today: date, now: datetime
) -> QualityStats:
    """Managers and admins only (`NotFound` for salespeople, like /review)."""
    if actor.role == Role.SALES:
        raise NotFound
    scores, fields = member_scores(session, actor=actor, rules=rules)
    items = list_review_queue(session, actor=actor, rules=rules, today=today)
    by_kind: dict[str, int] = defaultdict(int)
    for item in items:
        by_kind[item.key.kind] += 1
    merged = session.exec(
        select(func.count())
        .select_from(AuditEntry)
        .join(Customer, col(Customer.id) == col(AuditEntry.entity_id))
        .where(
            AuditEntry.entity_type == "customer",
            AuditEntry.action == "merge",
            col(Customer.deleted_at).is_(None),
            owner_scope(actor, Customer.owner_id),
        )
    ).one()
    return QualityStats(
        members=scores,
        fields=fields,
        duplicates_open=by_kind.get("duplicate", 0),
        merged=merged,
        open_items=dict(by_kind),
        oldest_days=max((review_age_days(i, now=now) for i in items), default=0),
    )
