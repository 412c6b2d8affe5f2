"""Duplicate detection on save: the email match goes through the indexed search key."""

from __future__ import annotations

from storage.customers import CustomerCreate, create_customer, find_duplicates
from storage.db import Database
from storage.models import Role
from tests.factories import make_member


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
