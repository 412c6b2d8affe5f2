"""Showing and merging one duplicate cluster (`/dedupe`), through the existing merge.

Each customer is loaded through the access rule, so a cluster id that was forged, merged or
deleted since the search, or is not the actor's to see, is left out (or the merge is
`NotFound`). The merge is `merge_customers` once per duplicate, then `update_customer` with
the values the member picked field by field: one transaction, every step audited.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from storage.access import NotFound
from storage.customer_changes import (
    EDITABLE,
    Merged,
    current_values,
    merge_customers,
    update_customer,
)
from storage.models import Member, Role

# The fields a member picks a value for; phones are not picked: the merge keeps them all.
PICKED = tuple(name for name in EDITABLE if name != "phones")


def list_cluster_values(
    session: Session, *, actor: Member, customer_ids: list[int]
) -> dict[int, dict[str, Any]]:
    """The editable values of the cluster's customers the actor may still see, by id."""
    if actor.role == Role.SALES:
        raise NotFound
    found: dict[int, dict[str, Any]] = {}
    for customer_id in customer_ids:
        try:
            found[customer_id] = current_values(session, actor=actor, customer_id=customer_id)
        except NotFound:
            continue
    return found


def differing_fields(values: dict[int, dict[str, Any]]) -> list[str]:
    """The picked fields on which the customers do not all agree."""
    return [name for name in PICKED if len({repr(v.get(name)) for v in values.values()}) > 1]


def merge_cluster(
    session: Session,
    *,
    actor: Member,
    survivor_id: int,
    duplicate_ids: list[int],
    picks: dict[str, int],
) -> list[Merged]:
    """Merge every duplicate into the survivor, then give the survivor, for each field in
    `picks`, the value of the customer named there (read before the merge deletes them)."""
    if not duplicate_ids or survivor_id in duplicate_ids:
        raise NotFound
    values = list_cluster_values(session, actor=actor, customer_ids=[survivor_id, *duplicate_ids])
    if len(values) != len(duplicate_ids) + 1 or set(picks) - set(PICKED):
        raise NotFound
    if any(source not in values for source in picks.values()):
        raise NotFound
    changes = {name: values[source][name] for name, source in picks.items()}
    merged = [
        merge_customers(session, actor=actor, survivor_id=survivor_id, duplicate_id=duplicate)
        for duplicate in duplicate_ids
    ]
    update_customer(session, actor=actor, customer_id=survivor_id, changes=changes)
    return merged
