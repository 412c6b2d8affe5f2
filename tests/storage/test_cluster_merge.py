"""Merging a cluster with field picks: through the access rule, every id checked."""

from __future__ import annotations

import pytest

from storage.access import NotFound
from storage.db import Database
from storage.models import Customer, Role
from storage.quality.merge import differing_fields, list_cluster_values, merge_cluster
from tests.factories import make_member
from tests.storage.test_clusters import add


def test_merge_cluster_keeps_the_picked_values(db: Database):
    with db.session() as session:
        manager = make_member(session, role=Role.MANAGER)
        sales = make_member(session, manager=manager)
        a = add(session, sales, "Zhang Wei", position="CEO")
        b = add(session, sales, "Wei Zhang", email="zw@acme.com")
        c = add(session, sales, "Zhang W.", position="CTO")
        values = list_cluster_values(session, actor=manager, customer_ids=[a, b, c])
        assert differing_fields(values) == ["name", "email", "position"]
        merged = merge_cluster(
            session,
            actor=manager,
            survivor_id=a,
            duplicate_ids=[b, c],
            picks={"name": b, "email": b, "position": c},
        )
        kept = session.get_one(Customer, a)
        gone = [session.get_one(Customer, i).deleted_at for i in (b, c)]
    assert len(merged) == 2
    assert (kept.name, kept.email, kept.position) == ("Wei Zhang", "zw@acme.com", "CTO")
    assert None not in gone


@pytest.mark.parametrize("forged", ["survivor", "duplicate", "pick", "field"])
def test_merge_cluster_refuses_what_the_manager_may_not_see(db: Database, forged: str):
    with db.session() as session:
        manager = make_member(session, role=Role.MANAGER)
        mine = make_member(session, manager=manager)
        theirs = make_member(session)
        a, b = add(session, mine, "Zhang Wei"), add(session, mine, "Zhang Wei")
        other = add(session, theirs, "Zhang Wei")
        survivor, duplicates, picks = a, [b], {"name": b}
        if forged == "survivor":
            survivor = other
        elif forged == "duplicate":
            duplicates = [b, other]
        elif forged == "pick":
            picks = {"name": other}
        else:
            picks = {"owner_id": b}
        with pytest.raises(NotFound):
            merge_cluster(
                session, actor=manager, survivor_id=survivor, duplicate_ids=duplicates, picks=picks
            )
        assert session.get_one(Customer, b).deleted_at is None
        assert session.get_one(Customer, other).deleted_at is None


def test_list_cluster_values_refuses_salespeople(db: Database):
    with db.session() as session:
        sales = make_member(session)
        a = add(session, sales, "Zhang Wei")
        with pytest.raises(NotFound):
            list_cluster_values(session, actor=sales, customer_ids=[a])
