"""Duplicate detection on save: the email match goes through the indexed search key."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlmodel import Session

from storage.customers import CustomerCreate, DuplicateMatch, create_customer, find_duplicates
from storage.db import Database
from storage.models import Customer, Member, Role, utcnow
from storage.search.index import customer_search
from tests.factories import make_member, pk

PHONE = "+8613800138000"


def test_find_duplicates_matches_an_email_whatever_its_case(db: Database) -> None:
    with db.session() as session:
        admin = make_member(session, role=Role.ADMIN)
        data = CustomerCreate(name="Zhang Wei", email="Zhang.Wei@Example.com")
        existing = create_customer(session, actor=admin, data=data)
        create_customer(session, actor=admin, data=CustomerCreate(name="Other", email="o@x.cn"))
        matches = find_duplicates(
            session,
            actor=admin,
            phones=[],
            email="zhang.wei@EXAMPLE.com",
            name="Someone Else",
            company=None,
        )
    assert [(m.customer_id, m.reason) for m in matches] == [(existing.id, "email")]


def test_find_duplicates_leaves_out_the_customer_being_edited(db: Database) -> None:
    with db.session() as session:
        admin = make_member(session, role=Role.ADMIN)
        phones = ["+8613800138000"]
        edited = create_customer(
            session, actor=admin, data=CustomerCreate(name="A", phones=phones)
        )
        other = create_customer(session, actor=admin, data=CustomerCreate(name="B", phones=phones))
        matches = find_duplicates(
            session,
            actor=admin,
            phones=phones,
            email=None,
            name="",
            company=None,
            exclude_id=edited.id,
        )
    assert [(m.customer_id, m.reason) for m in matches] == [(other.id, "phone")]


def add(session: Session, owner: Member, name: str, **fields: Any) -> Customer:
    return create_customer(session, actor=owner, data=CustomerCreate(name=name, **fields))


def test_find_duplicates_finds_by_phone_email_or_name_at_the_company_alive_only(
    db: Database,
) -> None:
    """Each match once with its first reason (phone, then email, then name at the company,
    compared normalised: "ACME Co., Ltd." is "Acme Ltd"); deleted customers are no
    duplicates; a match the actor may not open says only whose it is."""
    with db.session() as session:
        me, other = make_member(session, display_name="Li Na"), make_member(session)
        by_phone = add(session, me, "Wang Fang", phones=[PHONE], email="w@x.cn", company="Acme")
        by_email = add(session, other, "Chen Jie", email="chen@x.cn", company="Acme Ltd")
        by_name = add(session, me, "Zhang  Wei.", company="ACME")
        same = add(session, me, "Zhang Wei", company="Acme Ltd")
        add(session, me, "Zhang Wei", company="Acme Trading")  # the name at another company
        add(session, me, "Zhao Lei", company="Acme")  # another name at the company
        huawei = add(session, me, "张伟", company="上海华为有限公司")
        for fields in ({"phones": [PHONE]}, {"email": "chen@x.cn"}, {"company": "Acme"}):
            gone = add(session, me, "Zhang Wei", **fields)
            gone.deleted_at = utcnow()
        session.flush()
        matches = find_duplicates(
            session,
            actor=me,
            phones=[PHONE],
            email="Chen@X.cn",
            name="Zhang Wei",
            company="ACME Co., Ltd.",
        )
        chinese = find_duplicates(
            session, actor=me, phones=[], email=None, name="张伟", company="上海华为"
        )
        expected = [
            DuplicateMatch(pk(by_phone), "phone", True, "Wang Fang", "Acme", "Li Na", own=True),
            DuplicateMatch(
                pk(by_email), "email", False, "Chen Jie", "Acme Ltd", other.display_name
            ),
            DuplicateMatch(pk(by_name), "name", True, "Zhang  Wei.", "ACME", "Li Na", own=True),
            DuplicateMatch(pk(same), "name", True, "Zhang Wei", "Acme Ltd", "Li Na", own=True),
        ]
    assert matches == expected
    assert [(m.customer_id, m.reason) for m in chinese] == [(pk(huawei), "name")]


def test_find_duplicates_without_phone_email_or_company_finds_nothing(db: Database) -> None:
    with db.session() as session:
        me = make_member(session)
        add(session, me, "Zhang Wei", phones=[PHONE], email="z@x.cn")
        assert (
            find_duplicates(
                session, actor=me, phones=[], email=None, name="Zhang Wei", company=None
            )
            == []
        )
        assert (
            find_duplicates(session, actor=me, phones=[], email="", name="Zhang Wei", company="")
            == []
        )


def test_find_duplicates_by_phone_matches_that_phone_only(db: Database) -> None:
    """Another live customer with another phone is no duplicate: the phone must be the same."""
    with db.session() as session:
        me = make_member(session)
        same = add(session, me, "A", phones=[PHONE, "+8613900139000"])
        add(session, me, "B", phones=["+8613700137000"])
        add(session, me, "C")
        matches = find_duplicates(
            session, actor=me, phones=[PHONE], email=None, name="Zhang Wei", company=None
        )
    assert [(m.customer_id, m.reason) for m in matches] == [(pk(same), "phone")]


def test_find_duplicates_excluding_a_customer_that_is_no_match_keeps_the_matches(
    db: Database,
) -> None:
    with db.session() as session:
        me = make_member(session)
        match = add(session, me, "A", email="a@x.cn")
        unrelated = add(session, me, "B")
        matches = find_duplicates(
            session,
            actor=me,
            phones=[],
            email="a@x.cn",
            name="",
            company=None,
            exclude_id=pk(unrelated),
        )
    assert [m.customer_id for m in matches] == [pk(match)]


def test_find_duplicates_by_name_ignores_case_and_counts_the_threshold_itself(
    db: Database,
) -> None:
    """The name similarity is case-blind, and a ratio of exactly NAME_SIMILARITY (85) is a
    match: 17 of 20 characters shared gives 2 * 17 / 40 = 0.85."""
    name = "abcdefghijklmnopqrst"
    with db.session() as session:
        me = make_member(session)
        upper = add(session, me, name.upper(), company="Acme")
        at_threshold = add(session, me, "abcdefghijklmnopqXYZ", company="Acme")
        add(session, me, "abcdefghijklmnopXYZW", company="Acme")  # 16 of 20: 80
        matches = find_duplicates(
            session, actor=me, phones=[], email=None, name=name, company="Acme"
        )
    assert sorted(m.customer_id for m in matches) == sorted([pk(upper), pk(at_threshold)])


def test_find_duplicates_compares_at_most_500_names_at_a_company(db: Database) -> None:
    """The name comparison runs in Python: a company with thousands of customers must not
    make every Save compare them all."""
    with db.session() as session:
        me = make_member(session)
        session.add_all(
            Customer(name="Zhang Wei", company="Acme", owner_id=pk(me), created_by_id=pk(me))
            for _ in range(501)
        )
        session.flush()  # the key `index_customer` would store, for all at once
        session.execute(update(customer_search).values(company_key="acme"))
        matches = find_duplicates(
            session, actor=me, phones=[], email=None, name="Zhang Wei", company="Acme"
        )
    assert len(matches) == 500
