"""Duplicate clusters across a visible base: exact phone/email, close names per company."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from storage.access import NotFound
from storage.customer_changes import archive_customer
from storage.customers import CustomerCreate, create_customer
from storage.db import Database
from storage.models import Customer, Member, Role
from storage.quality.clusters import duplicate_pairs, find_clusters
from tests.factories import make_member, pk


def add(session: Session, owner: Member, name: str, **fields: object) -> int:
    return pk(create_customer(session, actor=owner, data=CustomerCreate(name=name, **fields)))  # type: ignore[arg-type]


def test_find_clusters_links_same_phone_and_email_and_close_names(db: Database):
    with db.session() as session:
        manager = make_member(session, role=Role.MANAGER)
        sales = make_member(session, manager=manager)
        a = add(session, sales, "Zhang Wei", phones=["+8613800138000"])
        b = add(session, sales, "Z. Wei", phones=["+8613800138000"])
        c = add(session, sales, "Li Na", email="Li@Example.com")
        d = add(session, sales, "Lina", email="li@example.com")
        e = add(session, sales, "张伟", company="华为技术有限公司")
        f = add(session, sales, "章伟", company="华为技术")
        g = add(session, sales, "Ada Lovelace", company="Acme Co., Ltd.")
        h = add(session, sales, "Ada  Lovelace.", company="ACME Inc")
        add(session, sales, "Ada Lovelace", company="Globex")  # another company: no match
        add(session, sales, "王芳", company="华为技术")  # same company, another name
        clusters = find_clusters(session, actor=manager)
    found = {c.customer_ids: c.reasons for c in clusters}
    assert found == {
        (a, b): {"phone"},
        (c, d): {"email"},
        (e, f): {"pinyin"},
        (g, h): {"name"},
    }


def test_find_clusters_joins_links_transitively(db: Database):
    with db.session() as session:
        admin = make_member(session, role=Role.ADMIN)
        sales = make_member(session)
        a = add(session, sales, "Grace Hopper", phones=["+8613800138001"], company="Navy")
        b = add(session, sales, "G. Hopper", phones=["+8613800138001"], email="g@navy.mil")
        c = add(session, sales, "Admiral", email="G@navy.mil")
        clusters = find_clusters(session, actor=admin)
    assert [c.customer_ids for c in clusters] == [(a, b, c)]
    assert clusters[0].reasons == {"phone", "email"}


def test_find_clusters_keeps_to_the_managers_team(db: Database):
    with db.session() as session:
        manager = make_member(session, role=Role.MANAGER)
        other_manager = make_member(session, role=Role.MANAGER)
        mine = make_member(session, manager=manager)
        theirs = make_member(session, manager=other_manager)
        a = add(session, mine, "Zhang Wei", phones=["+8613800138002"])
        b = add(session, mine, "Zhang Wei", phones=["+8613800138002"])
        add(session, theirs, "Zhang Wei", phones=["+8613800138002"])
        add(session, theirs, "Li Na", email="same@example.com")
        add(session, theirs, "Li Na", email="same@example.com")
        clusters = find_clusters(session, actor=manager)
        everything = find_clusters(session, actor=make_member(session, role=Role.ADMIN))
    assert [c.customer_ids for c in clusters] == [(a, b)]
    assert len(everything) == 2
    assert len(everything[0].customer_ids) == 3


def test_find_clusters_skips_deleted_customers(db: Database):
    with db.session() as session:
        admin = make_member(session, role=Role.ADMIN)
        a = add(session, admin, "Zhang Wei", phones=["+8613800138003"])
        b = add(session, admin, "Zhang Wei", phones=["+8613800138003"])
        archive_customer(session, actor=admin, customer_id=b)
        assert a
        assert find_clusters(session, actor=admin) == []


def test_find_clusters_refuses_salespeople(db: Database):
    with db.session() as session:
        sales = make_member(session)
        with pytest.raises(NotFound):
            find_clusters(session, actor=sales)


def test_find_clusters_reports_progress_up_to_100(db: Database):
    seen: list[int] = []
    with db.session() as session:
        admin = make_member(session, role=Role.ADMIN)
        find_clusters(session, actor=admin, progress=seen.append)
    assert seen[-1] == 100
    assert seen == sorted(seen)


def test_duplicate_pairs_of_a_team_are_the_bases_pairs_that_touch_it(db: Database):
    """The review queue's blocking from a team's own phones, emails and companies finds
    exactly what the one pass over the whole base finds for that team."""
    with db.session() as session:
        admin = make_member(session, role=Role.ADMIN)
        manager = make_member(session, role=Role.MANAGER)
        mine = make_member(session, manager=manager)
        theirs = make_member(session, manager=make_member(session, role=Role.MANAGER))
        phone, other_phone = "+8613800138010", "+8613800138011"
        add(session, mine, "Zhang Wei", phones=[phone])
        add(session, theirs, "Li Lei", phones=[phone])  # across teams
        add(session, mine, "Wang Fang", phones=[phone])  # a third holder of the number
        add(session, theirs, "A", phones=[other_phone])  # another team's pair only
        add(session, theirs, "B", phones=[other_phone])
        add(session, theirs, "Li Na", email="Li@Example.com")
        add(session, mine, "Lina", email="li@example.com")
        add(session, mine, "张伟", company="华为技术有限公司")
        add(session, theirs, "章伟", company="华为技术")
        add(session, theirs, "Ada Lovelace", company="Acme Co., Ltd.")
        add(session, theirs, "Ada  Lovelace.", company="ACME Inc")  # theirs only
        add(session, mine, "Ada Lovelace", company="acme")
        gone = add(session, mine, "Zhang Wei", phones=[phone])
        archive_customer(session, actor=mine, customer_id=gone)
        everything = duplicate_pairs(session, actor=admin)
        for actor in (manager, mine):
            seen = {
                c.id for c in session.exec(select(Customer)) if c.owner_id in (mine.id, actor.id)
            }
            expected = {p: r for p, r in everything.items() if seen & set(p)}
            assert duplicate_pairs(session, actor=actor) == expected
        assert {r for p, r in duplicate_pairs(session, actor=manager).items()} == {
            "phone",
            "email",
            "name",
            "pinyin",
        }
