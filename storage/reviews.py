"""The manager's review queue: the open items, and the decisions taken on them.

An item leaves the queue when the record no longer has the problem, or when a manager
decided on it (approved, dismissed with a reason, sent back to the owner with a comment) and
the record has not changed since: the decision is stored with the record's version.
Managers review their team's records and admins everyone's, by the access rule; salespeople
see the open items on their own records (in /today), sent-back ones with the manager's
comment, and take no decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from storage.access import NotFound, actor_id
from storage.audit import record_audit
from storage.models import Member, Role, utcnow
from storage.quality.dismissals import CLOSING
from storage.review_items import ReviewItem, ReviewKey, ReviewRules, compute_items
from storage.review_models import ReviewDecision

DECISIONS = ("approved", "dismissed", "sent_back")


@dataclass(frozen=True)
class Decided:
    decision: ReviewDecision
    item: ReviewItem
    owner: Member  # whom a sent-back item goes to


@dataclass(frozen=True)
class OpenItem:
    item: ReviewItem
    sent_back: ReviewDecision | None = None  # the manager's comment, for the owner


def _decisions(session: Session, items: Sequence[ReviewItem]) -> dict[tuple, ReviewDecision]:
    """The latest decision on each item's version, by (key, version)."""
    if not items:
        return {}
    ids = {item.key.record_id for item in items}
    latest: dict[tuple, ReviewDecision] = {}
    for decision in session.exec(
        select(ReviewDecision)
        .where(col(ReviewDecision.record_id).in_(ids))
        .order_by(col(ReviewDecision.id))
    ):
        key = ReviewKey(decision.kind, decision.record_type, decision.record_id, decision.other_id)
        latest[(key, decision.version)] = decision
    return latest


def list_review_queue(
    session: Session, *, actor: Member, rules: ReviewRules, today: date
) -> list[ReviewItem]:
    """The undecided items of the records the manager (or admin) may see, oldest first."""
    if actor.role == Role.SALES:
        raise NotFound
    items = compute_items(session, actor=actor, rules=rules, today=today)
    decided = _decisions(session, items)
    return [item for item in items if (item.key, item.version) not in decided]


def list_own_open_items(
    session: Session, *, actor: Member, rules: ReviewRules, today: date
) -> list[OpenItem]:
    """The open items on the actor's own records, oldest first, sent-back ones with the
    manager's comment; for the owner's /today."""
    items = [
        item
        for item in compute_items(session, actor=actor, rules=rules, today=today)
        if item.owner_id == actor.id
    ]
    decided = _decisions(session, items)
    found = []
    for item in items:
        decision = decided.get((item.key, item.version))
        if decision is None or decision.decision not in CLOSING:
            found.append(OpenItem(item, decision))
    return found


def get_review_item(
    session: Session, *, actor: Member, rules: ReviewRules, today: date, key: ReviewKey
) -> ReviewItem:
    """An item of the actor's queue by key; a forged, stale or decided key is `NotFound`."""
    for item in list_review_queue(session, actor=actor, rules=rules, today=today):
        if item.key == key:
            return item
    raise NotFound


def decide_review_item(
    session: Session,
    *,
    actor: Member,
    rules: ReviewRules,
    today: date,
    key: ReviewKey,
    decision: str,
    comment: str | None = None,
) -> Decided:
    """Record a manager's decision on an item of their queue, and audit it on the record.

    A fix or a merge needs no decision: it changes the record (audited by its own storage
    call), so the item goes, or comes back on the new version if the problem stays."""
    if decision not in DECISIONS:
        raise ValueError(f"unknown decision {decision!r}")
    item = get_review_item(session, actor=actor, rules=rules, today=today, key=key)
    entry = ReviewDecision(
        kind=key.kind,
        record_type=key.record_type,
        record_id=key.record_id,
        other_id=key.other_id,
        version=item.version,
        decision=decision,
        comment=comment,
        decided_by_id=actor_id(actor),
    )
    session.add(entry)
    record_audit(
        session,
        actor_id=actor_id(actor),
        action="review",
        entity_type=key.record_type,
        entity_id=key.record_id,
        changes={
            "review": [None, decision],
            "kind": [None, key.kind],
            **({"other_id": [None, key.other_id]} if key.other_id else {}),
            **({"comment": [None, comment]} if comment else {}),
        },
    )
    return Decided(entry, item, session.get_one(Member, item.owner_id))


def count_new_items(
    session: Session, *, actor: Member, rules: ReviewRules, today: date, since: datetime
) -> int:
    """How many undecided items arose since `since` (for the manager's daily digest)."""
    return sum(
        1
        for item in list_review_queue(session, actor=actor, rules=rules, today=today)
        if item.since >= since
    )


def review_age_days(item: ReviewItem, *, now: datetime | None = None) -> int:
    """How many whole days the item has waited."""
    return max(0, ((now or utcnow()) - item.since).days)
