"""Duplicate clusters across a visible base: exact phone/email, close names per company."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from storage.access import NotFound
from storage.customer_changes import archive_customer
from storage.customers import CustomerCreate, create_customer
from storage.db import Database
from storage.models import Member, Role
from storage.quality.clusters import find_clusters
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
