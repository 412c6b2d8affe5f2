"""Duplicate detection on save: the email match goes through the indexed search key."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from storage.customers import CustomerCreate, DuplicateMatch, create_customer, find_duplicates
from storage.db import Database
from storage.models import Customer, Member, Role, utcnow
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
    """Each match once with its first reason (phone, then email, then name); deleted customers
    are no duplicates; a match the actor may not open says only whose it is."""
    with db.session() as session:
        me, other = make_member(session, display_name="Li Na"), make_member(session)
        by_phone = add(session, me, "Wang Fang", phones=[PHONE], email="w@x.cn", company="Acme")
        by_email = add(session, other, "Chen Jie", email="chen@x.cn", company="Acme Ltd")
        by_name = add(session, me, "Zhang  Wei.", company="ACME")
        add(session, me, "Zhang Wei", company="Acme Ltd")  # the name at another company
        add(session, me, "Zhao Lei", company="Acme")  # another name at the company
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
            company="acme",
        )
        expected = [
            DuplicateMatch(pk(by_phone), "phone", True, "Wang Fang", "Acme", "Li Na"),
            DuplicateMatch(
                pk(by_email), "email", False, "Chen Jie", "Acme Ltd", other.display_name
            ),
            DuplicateMatch(pk(by_name), "name", True, "Zhang  Wei.", "ACME", "Li Na"),
        ]
    assert matches == expected


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
