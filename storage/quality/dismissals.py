"""Pairs of customers a manager said are not duplicates, until one of the two changes.

One record serves `/dedupe` and `/review`: a duplicate decision in `review_decision` (kind
"duplicate", the later customer as the record, the earlier as the other one) on the pair's
version, both customers' last change. `/dedupe`'s "Not a duplicate" writes one per pair of
the cluster; `/review`'s Approve or Dismiss on a duplicate item writes the same. While the
version holds, `find_clusters` does not link the pair and the review queue does not list it;
an edit or a merge touching either customer changes the version, and the pair is back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import combinations

from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from storage.access import NotFound, actor_id, require_customer
from storage.audit import record_audit
from storage.models import Customer, Member, Role
from storage.review_models import ReviewDecision

# Decisions that close an item for good (while its version holds); a sent-back item stays
# open for its owner, and a sent-back duplicate pair is still a duplicate.
CLOSING = ("approved", "dismissed")
NOT_A_DUPLICATE = "not a duplicate"  # the comment on /dedupe's dismissals

Pair = tuple[int, int]  # two customer ids, the smaller first


def stamp(moment: datetime) -> str:
    """A record's version as text: its last change, to the microsecond."""
    return str(int(moment.timestamp() * 1_000_000))


def pair_version(first: datetime, second: datetime) -> str:
    """The version of a pair: the earlier customer's last change, then the later one's."""
    return f"{stamp(first)}.{stamp(second)}"


def closed_pairs(session: Session) -> set[Pair]:
    """The pairs with a closing duplicate decision on both customers as they are now."""
    first, second = aliased(Customer), aliased(Customer)
    rows = session.exec(
        select(ReviewDecision, first.updated_at, second.updated_at)
        .join(first, col(first.id) == col(ReviewDecision.other_id))
        .join(second, col(second.id) == col(ReviewDecision.record_id))
        .where(
            col(ReviewDecision.kind) == "duplicate",
            col(ReviewDecision.decision).in_(CLOSING),
        )
    )
    found: set[Pair] = set()
    for decision, other_at, record_at in rows:
        assert decision.other_id is not None
        # The subject of a review item is the later customer unless only the earlier is in
        # the reviewer's scope: the version is always the smaller id's change first.
        at = {decision.other_id: other_at, decision.record_id: record_at}
        low, high = sorted(at)
        if decision.version == pair_version(at[low], at[high]):
            found.add((low, high))
    return found


def dismiss_cluster(session: Session, *, actor: Member, customer_ids: Sequence[int]) -> int:
    """Record that the customers are not duplicates of each other, each pair audited on its
    later customer; every customer must be the actor's to see. Returns the pairs recorded."""
    if actor.role == Role.SALES or len(set(customer_ids)) < 2:
        raise NotFound
    customers = {
        i: require_customer(session, actor=actor, customer_id=i) for i in set(customer_ids)
    }
    recorded = 0
    for low, high in combinations(sorted(customers), 2):
        session.add(
            ReviewDecision(
                kind="duplicate",
                record_type="customer",
                record_id=high,
                other_id=low,
                version=pair_version(customers[low].updated_at, customers[high].updated_at),
                decision="dismissed",
                comment=NOT_A_DUPLICATE,
                decided_by_id=actor_id(actor),
            )
        )
        record_audit(
            session,
            actor_id=actor_id(actor),
            action="review",
            entity_type="customer",
            entity_id=high,
            changes={
                "review": [None, "dismissed"],
                "kind": [None, "duplicate"],
                "other_id": [None, low],
                "comment": [None, NOT_A_DUPLICATE],
            },
        )
        recorded += 1
    return recorded
